// der-reader finds elements by offset on the CSR hot path; it must find exactly what jsrsasign's
// ASN1HEX finds in well-formed DER, and refuse (DerError only) what is not DER.
import {
  constants,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  sign,
  verify,
} from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASN1HEX } from '#schemas/x509/asn1.js';
import {
  checkContent,
  childrenOf,
  DerError,
  integerBits,
  type Tlv,
  tlvAt,
  topLevel,
} from '#schemas/x509/der-reader.js';
import { createCsr, createRootCa, generateRsaKey } from '#schemas/x509/index.js';
import { rsaKeyInSpki, verifyRsaPkcs1 } from '#schemas/x509/keys.js';
import { seededRandom } from '../sandbox/faults.js';
import { Workdir } from './openssl.js';

const w = new Workdir();
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----/g, ''), 'base64');
let samples: Array<[string, Buffer]>;
let rsaPem: string;

beforeAll(async () => {
  const key = await generateRsaKey(2048);
  rsaPem = key.privateKeyPem;
  const root = createRootCa({ privateKeyPem: key.privateKeyPem, subject: { O: 'gloo-mesh', CN: 'root' }, ttlDays: 30 });
  const csr = createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: { O: 'gloo-mesh', OU: 'a' },
    hosts: ['spiffe://x/ns/a', '10.0.0.1'],
  });
  // And DER written by openssl itself: an EC certificate with a long (3-octet length) extension.
  w.ok(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key']);
  const longSan = Array.from({ length: 900 }, (_, i) => `DNS:h${i}.example`).join(',');
  w.ok([
    'req',
    '-x509',
    '-new',
    '-key',
    'ec.key',
    '-subj',
    '/O=x/CN=ec',
    '-days',
    '2',
    '-addext',
    `subjectAltName=${longSan}`,
    '-out',
    'ec.pem',
  ]);
  samples = [
    ['our root', derOf(root)],
    ['our CSR', derOf(csr)],
    ['openssl EC certificate', derOf(w.read('ec.pem'))],
    ['RSA SPKI', createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' })],
  ];
});
afterAll(() => w.cleanup());

/** Every constructed element's children, by both readers, compared recursively (byte offsets). */
function compareTree(der: Buffer, hex: string, t: Tlv, path: string): number {
  expect(ASN1HEX.getVidx(hex, t.start * 2), `${path} value`).toBe(t.value * 2);
  expect(ASN1HEX.getVblen(hex, t.start * 2), `${path} length`).toBe(t.end - t.value);
  // Universal SEQUENCE / SET and constructed context tags; OCTET and BIT STRINGs are opaque here.
  if ((t.tag & 0x20) === 0 || t.end === t.value) return 1;
  const ours = childrenOf(der, t);
  expect(
    ours.map((c) => c.start * 2),
    path,
  ).toEqual(ASN1HEX.getChildIdx(hex, t.start * 2));
  let n = 1;
  ours.forEach((c, i) => (n += compareTree(der, hex, c, `${path}/${i}`)));
  return n;
}

describe('der-reader', () => {
  it('finds every element ASN1HEX finds, at the same offsets, in DER from us and from openssl', () => {
    for (const [name, der] of samples) {
      const elements = compareTree(der, der.toString('hex'), topLevel(der), name);
      expect(elements, name).toBeGreaterThanOrEqual(5);
    }
  });

  it('reads each length form and refuses what DER forbids', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24]) {
      const head =
        n < 0x80
          ? [n]
          : n < 0x100
            ? [0x81, n]
            : n < 0x10000
              ? [0x82, n >> 8, n & 0xff]
              : n < 0x1000000
                ? [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
                : [0x84, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
      const der = Buffer.concat([Buffer.of(0x04, ...head), Buffer.alloc(n)]);
      expect(topLevel(der), `length ${n}`).toEqual({ tag: 0x04, start: 0, value: 1 + head.length, end: der.length });
    }
    const refused: Array<[string, Buffer, string]> = [
      ['empty', Buffer.alloc(0), 'truncated element'],
      ['tag only', Buffer.of(0x30), 'truncated element'],
      ['indefinite length', Buffer.of(0x30, 0x80, 0, 0), 'indefinite length'],
      ['five length octets', Buffer.of(0x04, 0x85, 0, 0, 0, 0, 1, 0), 'length too large'],
      ['truncated length', Buffer.of(0x04, 0x82, 0x01), 'truncated length'],
      ['value past the end', Buffer.of(0x04, 0x05, 1, 2), 'element runs past its parent'],
      ['trailing bytes', Buffer.of(0x05, 0x00, 0x00), 'trailing bytes after the element'],
      ['multi-octet tag', Buffer.of(0x1f, 0x81, 0x01, 0x00), 'multi-octet tag'],
      ['long form for a short length', Buffer.of(0x04, 0x81, 0x01, 0x00), 'length not in its shortest form'],
      [
        'leading zero length octet',
        Buffer.concat([Buffer.of(0x04, 0x82, 0x00, 0x80), Buffer.alloc(0x80)]),
        'length not in its shortest form',
      ],
    ];
    for (const [name, der, message] of refused) expect(() => topLevel(der), name).toThrow(new DerError(message));
    // A child running past its parent's end, though still inside the buffer.
    const nested = Buffer.of(0x30, 0x03, 0x04, 0x03, 0x01, 0x02, 0x03);
    expect(() => childrenOf(nested, tlvAt(nested, 0))).toThrow('element runs past its parent');
    expect(() => childrenOf(Buffer.of(0x04, 0x01, 0x00), tlvAt(Buffer.of(0x04, 0x01, 0x00), 0))).toThrow(
      'primitive element has no children',
    );
  });

  it('on damaged DER throws DerError only, and every element it returns lies inside its parent', () => {
    const rnd = seededRandom(11);
    for (let i = 0; i < 5000; i++) {
      const [, original] = samples[i % samples.length];
      const der = Buffer.from(original);
      const at = Math.floor(rnd() * der.length);
      der[at] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.3 ? der.subarray(0, Math.floor(rnd() * der.length)) : der;
      try {
        const walk = (t: Tlv, limit: number): void => {
          expect(t.start <= t.value && t.value <= t.end && t.end <= limit).toBe(true);
          if (t.tag & 0x20) for (const c of childrenOf(cut, t)) walk(c, t.end);
        };
        walk(topLevel(cut), cut.length);
      } catch (e) {
        expect(e, `mutation ${i}`).toBeInstanceOf(DerError);
      }
    }
  });

  it('measures INTEGERs without their leading zero octets', () => {
    const int = (...bytes: number[]) => {
      const der = Buffer.of(0x02, bytes.length, ...bytes);
      return integerBits(der, tlvAt(der, 0));
    };
    expect(int(0)).toBe(0);
    expect(int(1)).toBe(1);
    expect(int(0x00, 0x80)).toBe(8);
    expect(int(0x01, 0x00)).toBe(9);
    expect(int(0x00, 0x00, 0xff, 0xff)).toBe(16);
  });

  it('finds the RSA key of an SPKI, and nothing in other keys', () => {
    const spki = samples[3][1];
    const rsa = rsaKeyInSpki(spki);
    expect(rsa?.bits).toBe(2048);
    const pkcs1 = createPublicKey(rsaPem).export({ type: 'pkcs1', format: 'der' });
    expect(spki.subarray(rsa?.start, rsa?.end).equals(pkcs1)).toBe(true);
    const ec = createPublicKey(createPrivateKey(w.read('ec.key'))).export({ type: 'spki', format: 'der' });
    expect(rsaKeyInSpki(ec)).toBeUndefined();
    expect(rsaKeyInSpki(spki.subarray(0, 100))).toBeUndefined();
  });
});

describe('verifyRsaPkcs1', () => {
  it('agrees with crypto.verify on good, damaged and mismatched signatures', () => {
    const key = createPrivateKey(rsaPem);
    const pkcs1 = createPublicKey(key).export({ type: 'pkcs1', format: 'der' });
    const data = Buffer.from('the CertificationRequestInfo');
    const rnd = seededRandom(5);
    for (const hash of ['sha256', 'sha384', 'sha512']) {
      const good = sign(hash, data, key);
      expect(verifyRsaPkcs1(hash, data, pkcs1, 2048, good), hash).toBe(true);
      const cases: Array<[string, string, Buffer, Buffer]> = [
        ['other data', hash, Buffer.from('the CertificationRequestInfo!'), good],
        ['other hash', hash === 'sha256' ? 'sha384' : 'sha256', data, good],
        ['one byte short', hash, data, good.subarray(1)],
        ['one byte long', hash, data, Buffer.concat([Buffer.of(0), good])],
        // A raw RSA block whose padding is right but whose DigestInfo carries trailing garbage.
        [
          'garbage after the digest',
          hash,
          data,
          privateEncrypt(
            { key, padding: constants.RSA_PKCS1_PADDING },
            Buffer.concat([digestInfoOf(hash, data, key), Buffer.of(0)]),
          ),
        ],
      ];
      for (let i = 0; i < 50; i++) {
        const bad = Buffer.from(good);
        bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
        cases.push([`bit flip ${i}`, hash, data, bad]);
      }
      for (const [name, h, d, s] of cases) {
        expect(verifyRsaPkcs1(h, d, pkcs1, 2048, s), `${hash}: ${name}`).toBe(false);
        expect(verify(h, d, key, s), `${hash}: ${name} (crypto.verify)`).toBe(false);
      }
    }
    expect(verifyRsaPkcs1('sha1', data, pkcs1, 2048, sign('sha1', data, key)), 'SHA-1 is not offered').toBe(false);
  });
});

/** The DigestInfo crypto.sign encodes, recovered from one of its signatures. */
function digestInfoOf(hash: string, data: Buffer, key: KeyObject): Buffer {
  return publicDecrypt({ key: createPublicKey(key), padding: constants.RSA_PKCS1_PADDING }, sign(hash, data, key));
}

describe('checkContent', () => {
  const check = (hex: string) => {
    const der = Buffer.from(hex, 'hex');
    checkContent(der, topLevel(der));
  };
  it('accepts what DER allows and refuses what it does not, naming the rule', () => {
    for (const good of [
      '0101ff',
      '020100',
      '02020080',
      '0201ff',
      '0202ff7f',
      '030100',
      '03020780',
      '0500',
      '06032a8648',
      '0603551d13',
      '0c03616263',
      '0c02c3a9',
      '1e020041',
      '1c0400010000',
      '3000',
      '1300',
    ]) {
      expect(() => check(good), good).not.toThrow();
    }
    const bad: Array<[string, RegExp]> = [
      ['0000', /end-of-contents/],
      ['2500', /constructed/],
      ['2c00', /constructed/],
      ['010200ff', /BOOLEAN/],
      ['0200', /empty INTEGER/],
      ['02020001', /shortest form/],
      ['0202ff80', /shortest form/],
      ['0300', /unused-bits/],
      ['030108', /unused-bits/],
      ['030101', /unused-bits/],
      ['050100', /NULL/],
      ['0600', /incomplete/],
      ['0602558e', /incomplete/],
      ['060355800d', /shortest form/],
      ['0c01ff', /UTF-8/],
      ['0c03eda080', /UTF-8/],
      ['1e0100', /whole characters/],
      ['1e02d800', /not a character/],
      ['1c0400110000', /not a character/],
      ['1c03000000', /whole characters/],
    ];
    for (const [hex, why] of bad) {
      expect(() => check(hex), hex).toThrow(DerError);
      expect(() => check(hex), hex).toThrow(why);
    }
  });
});
