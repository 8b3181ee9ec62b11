import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derTlv } from '#schemas/x509/asn1.js';
import { createCsr, generateRsaKey, PkiError, verifyCsr } from '#schemas/x509/index.js';
import { Workdir } from './openssl.js';

const w = new Workdir();
let key: { privateKeyPem: string; publicKeyPem: string };

beforeAll(async () => {
  key = await generateRsaKey(2048);
});
afterAll(() => w.cleanup());

describe('createCsr', () => {
  it('writes a PKCS#10 request that openssl verifies, with subject O/OU/CN and the SANs requested', () => {
    const csr = createCsr({
      privateKeyPem: key.privateKeyPem,
      subject: { O: 'gloo-mesh', OU: 'cluster-1', CN: 'istio-ca' },
      hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod', '10.1.2.3', 'fd00::1', 'istiod.istio-system.svc'],
    });
    const path = w.file(csr);
    const verified = w.reqVerify(csr);
    expect(verified.ok, verified.output).toBe(true);
    const text = w.ok(['req', '-noout', '-text', '-in', path]);
    expect(text).toMatch(/Subject: O\s*=\s*gloo-mesh, OU\s*=\s*cluster-1, CN\s*=\s*istio-ca/);
    expect(text).toMatch(
      /URI:spiffe:\/\/cluster.local\/ns\/istio-system\/sa\/istiod, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:1, DNS:istiod.istio-system.svc/,
    );
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    // The CSR's key is the generated key.
    const pub = w.ok(['req', '-noout', '-pubkey', '-in', path]);
    expect(pub.trim()).toBe(key.publicKeyPem.trim());
  });

  it('omits the extension request when there are no hosts, and openssl still verifies it', () => {
    const csr = createCsr({ privateKeyPem: key.privateKeyPem, subject: { O: 'gloo-mesh', OU: 'c2' }, hosts: [] });
    const path = w.file(csr);
    expect(w.reqVerify(csr).ok).toBe(true);
    expect(w.ok(['req', '-noout', '-text', '-in', path])).not.toMatch(/Subject Alternative Name/);
    const info = verifyCsr(csr);
    expect(info.sans).toEqual([]);
    expect(info.subject).toEqual({ O: 'gloo-mesh', OU: 'c2' });
  });

  it('marks the SAN critical when the subject is empty (RFC 5280)', () => {
    const csr = createCsr({ privateKeyPem: key.privateKeyPem, subject: {}, hosts: ['a.example'] });
    const text = w.ok(['req', '-noout', '-text', '-in', w.file(csr)]);
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical/);
    expect(w.reqVerify(csr).ok).toBe(true);
  });

  it('rejects hosts that are neither DNS names, IPs nor URIs, naming the entry', () => {
    expect(() =>
      createCsr({ privateKeyPem: key.privateKeyPem, subject: { O: 'x' }, hosts: ['ok.example', 'bad host'] }),
    ).toThrow(/hosts\[1\]: "bad host" is not a DNS name, an IP address or a URI/);
    expect(() => createCsr({ privateKeyPem: key.privateKeyPem, subject: { O: 'x' }, hosts: [''] })).toThrow(PkiError);
  });

  it('encodes the same hosts the same way however often and in whatever order they come (host cache)', () => {
    const a = createCsr({
      privateKeyPem: key.privateKeyPem,
      subject: { O: 'x' },
      hosts: ['10.0.0.1', 'a.example', 'spiffe://td/ns/a'],
    });
    const b = createCsr({
      privateKeyPem: key.privateKeyPem,
      subject: { O: 'x' },
      hosts: ['spiffe://td/ns/a', '10.0.0.1', 'a.example'],
    });
    expect(verifyCsr(a).hosts).toEqual(['10.0.0.1', 'a.example', 'spiffe://td/ns/a']);
    expect(verifyCsr(b).hosts).toEqual(['spiffe://td/ns/a', '10.0.0.1', 'a.example']);
    // A bad host after good, already-seen ones is still refused.
    expect(() =>
      createCsr({ privateKeyPem: key.privateKeyPem, subject: { O: 'x' }, hosts: ['10.0.0.1', 'a.example', 'a..b'] }),
    ).toThrow(/^hosts\[2\]: "a\.\.b"/);
    expect(() =>
      createCsr({
        privateKeyPem: key.privateKeyPem,
        subject: { O: 'x' },
        hosts: ['a.example', 7 as unknown as string],
      }),
    ).toThrow(/^hosts\[1\]: expected a non-empty string/);
  });

  it('rejects a private key that does not parse without echoing it', () => {
    const bogus = '-----BEGIN PRIVATE KEY-----\nTUlJQk5vdEFLZXk=\n-----END PRIVATE KEY-----\n';
    let message = '';
    try {
      createCsr({ privateKeyPem: bogus, subject: { O: 'x' }, hosts: [] });
    } catch (e) {
      expect(e).toBeInstanceOf(PkiError);
      message = (e as Error).message;
    }
    expect(message).toBe('privateKeyPem: the private key does not parse');
  });
});

describe('verifyCsr', () => {
  it('reads what createCsr wrote', () => {
    const csr = createCsr({
      privateKeyPem: key.privateKeyPem,
      subject: { O: 'gloo-mesh', OU: 'east' },
      hosts: ['spiffe://east/ns/a', '192.168.0.1', 'east.example'],
    });
    const info = verifyCsr(csr);
    expect(info.subject).toEqual({ O: 'gloo-mesh', OU: 'east' });
    expect(info.subjectText).toBe('O=gloo-mesh, OU=east');
    expect(info.sans).toEqual([
      { type: 'URI', value: 'spiffe://east/ns/a' },
      { type: 'IP', value: '192.168.0.1' },
      { type: 'DNS', value: 'east.example' },
    ]);
    expect(info.hosts).toEqual(['spiffe://east/ns/a', '192.168.0.1', 'east.example']);
    expect(info.keyType).toBe('RSA');
    expect(info.keyBits).toBe(2048);
    expect(info.publicKeyPem.trim()).toBe(key.publicKeyPem.trim());
    expect(info.signatureAlgorithm).toBe('sha256WithRSAEncryption');
  });

  it('reads CSRs made by openssl: RSA with SANs, and EC P-256', () => {
    const keyPath = w.file(key.privateKeyPem, 'rsa.key');
    const rsaCsr = w.ok([
      'req',
      '-new',
      '-key',
      keyPath,
      '-subj',
      '/O=acme/OU=mesh/CN=ca',
      '-addext',
      'subjectAltName=DNS:a.acme.io,IP:10.9.8.7,URI:spiffe://acme/ns/x',
      '-sha384',
    ]);
    const rsa = verifyCsr(rsaCsr);
    expect(rsa.subject).toEqual({ O: 'acme', OU: 'mesh', CN: 'ca' });
    expect(rsa.hosts).toEqual(['a.acme.io', '10.9.8.7', 'spiffe://acme/ns/x']);
    expect(rsa.signatureAlgorithm).toBe('sha384WithRSAEncryption');

    w.ok(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key']);
    const ecCsr = w.ok(['req', '-new', '-key', w.path('ec.key'), '-subj', '/O=acme/CN=ec']);
    const ec = verifyCsr(ecCsr);
    expect(ec).toMatchObject({
      keyType: 'EC',
      keyBits: 256,
      signatureAlgorithm: 'ecdsa-with-SHA256',
      subject: { O: 'acme', CN: 'ec' },
    });
  });

  it('refuses a CSR whose signature does not verify, and one signed with SHA-1', () => {
    const csr = createCsr({
      privateKeyPem: key.privateKeyPem,
      subject: { O: 'gloo-mesh', OU: 'west' },
      hosts: ['west.example'],
    });
    // Change one letter of the subject: structure intact, signature now wrong.
    const der = Buffer.from(csr.replace(/-----[A-Z ]+-----/g, ''), 'base64');
    const at = der.indexOf(Buffer.from('west'));
    der[at] = 'e'.charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(w.reqVerify(tampered).ok).toBe(false);
    expect(() => verifyCsr(tampered)).toThrow(/csrPem: the CSR's signature does not verify/);

    const sha1 = w.ok(['req', '-new', '-key', w.file(key.privateKeyPem), '-subj', '/O=old', '-sha1']);
    expect(() => verifyCsr(sha1)).toThrow(/signature algorithm 1\.2\.840\.113549\.1\.1\.5 is not accepted/);
  });

  it('says what is wrong with input that is not a CSR', () => {
    expect(() => verifyCsr('hello')).toThrow(
      /csrPem: no PEM CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST block found/,
    );
    expect(() =>
      verifyCsr('-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n'),
    ).toThrow(/csrPem: not a valid PKCS#10 certificate request/);
  });
});

// CSRs no honest tool writes, assembled byte by byte and signed for real, so that only the rule
// under test can refuse them.
describe('verifyCsr refuses well-signed CSRs that break the rules', () => {
  const tlv = (tag: number, ...parts: Buffer[]) => derTlv(tag, parts);
  const SHA256_RSA = Buffer.from('300d06092a864886f70d01010b0500', 'hex');
  const ECDSA_SHA256 = Buffer.from('300a06082a8648ce3d040302', 'hex');
  const NAME_CN_X = Buffer.from('300c310a300806035504030c0178', 'hex');
  const pem = (der: Buffer) =>
    `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;

  function assemble(opts: { subject: Buffer; spki: Buffer; algId: Buffer; sign: (cri: Buffer) => Buffer }): string {
    const cri = tlv(0x30, Buffer.of(2, 1, 0), opts.subject, opts.spki, Buffer.of(0xa0, 0));
    return pem(tlv(0x30, cri, opts.algId, tlv(0x03, Buffer.of(0), opts.sign(cri))));
  }
  const rsaSpki = () => createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' });
  const rsaSign = (cri: Buffer) => sign('sha256', cri, createPrivateKey(key.privateKeyPem));
  // With e = 1 the signature is the PKCS#1 v1.5 encoding of the digest itself: no key needed.
  const forgeForExponentOne = (cri: Buffer) => {
    const digestInfo = Buffer.concat([
      Buffer.from('3031300d060960864801650304020105000420', 'hex'),
      createHash('sha256').update(cri).digest(),
    ]);
    return Buffer.concat([Buffer.of(0, 1), Buffer.alloc(256 - 3 - digestInfo.length, 0xff), Buffer.of(0), digestInfo]);
  };

  it('accepts the assembled CSR when nothing is wrong (the control)', () => {
    const csr = assemble({ subject: NAME_CN_X, spki: rsaSpki(), algId: SHA256_RSA, sign: rsaSign });
    expect(w.reqVerify(csr).ok).toBe(true);
    expect(verifyCsr(csr).subjectText).toBe('CN=x');
  });

  it('an empty subject written with a longer length than DER allows', () => {
    const csr = assemble({ subject: Buffer.of(0x30, 0x81, 0x00), spki: rsaSpki(), algId: SHA256_RSA, sign: rsaSign });
    expect(() => verifyCsr(csr)).toThrow(
      'csrPem: not a valid PKCS#10 certificate request (malformed DER: length not in its shortest form)',
    );
  });

  it('an RSA key under an ECDSA signature algorithm', () => {
    const csr = assemble({ subject: NAME_CN_X, spki: rsaSpki(), algId: ECDSA_SHA256, sign: rsaSign });
    expect(() => verifyCsr(csr)).toThrow(
      'csrPem: the CSR is signed with ecdsa-with-SHA256, which its RSA key does not use',
    );
  });

  it('an RSA key with public exponent 1, whose "signature" anyone can write', () => {
    // Same modulus, e = 1.
    const jwk = createPublicKey(key.publicKeyPem).export({ format: 'jwk' });
    const spki = createPublicKey({ key: { ...jwk, e: 'AQ' }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    const csr = assemble({ subject: NAME_CN_X, spki, algId: SHA256_RSA, sign: forgeForExponentOne });
    expect(() => verifyCsr(csr)).toThrow("csrPem: the CSR's RSA key has a public exponent that is even or below 3");
  });

  it('the same key with its AlgorithmIdentifier written without NULL parameters (OpenSSL reads it)', () => {
    const jwk = createPublicKey(key.publicKeyPem).export({ format: 'jwk' });
    const pkcs1 = createPublicKey({ key: { ...jwk, e: 'AQ' }, format: 'jwk' }).export({ type: 'pkcs1', format: 'der' });
    const spki = tlv(0x30, tlv(0x30, Buffer.from('06092a864886f70d010101', 'hex')), tlv(0x03, Buffer.of(0), pkcs1));
    const csr = assemble({ subject: NAME_CN_X, spki, algId: SHA256_RSA, sign: forgeForExponentOne });
    expect(() => verifyCsr(csr)).toThrow("csrPem: the CSR's RSA key has a public exponent that is even or below 3");
  });

  it('marks every such error as being about csrPem', () => {
    const csr = assemble({ subject: NAME_CN_X, spki: rsaSpki(), algId: ECDSA_SHA256, sign: rsaSign });
    try {
      verifyCsr(csr);
      expect.unreachable();
    } catch (e) {
      expect((e as PkiError).input).toBe('csrPem');
    }
  });
});
