// The signing hot path splices DER with derTlv instead of jsrsasign objects: it must encode
// exactly as jsrsasign does, at every length-encoding boundary.
import { describe, expect, it } from 'vitest';
import {
  type Asn1Json,
  der,
  derTlv,
  generalNameHex,
  type GeneralNameParam,
  oidDecodersForTest,
  raw,
} from '#schemas/x509/asn1.js';
import { seededRandom } from '../sandbox/faults.js';
import { generalNamesDer } from '#schemas/x509/names.js';

describe('derTlv', () => {
  it('matches jsrsasign byte for byte at the length boundaries', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 1000, 65535, 65536, 70000]) {
      const content = Buffer.alloc(n, 0xab);
      expect(derTlv(0x04, [content]).toString('hex'), `length ${n}`).toBe(
        der({ octstr: { hex: content.toString('hex') } }),
      );
    }
  });

  it('concatenates parts as the content of a constructed type', () => {
    const a = Buffer.from(der({ int: 5 }), 'hex');
    const b = Buffer.from(der({ utf8str: { str: 'gloo-mesh' } }), 'hex');
    expect(derTlv(0x30, [a, b]).toString('hex')).toBe(der({ seq: [{ int: 5 }, { utf8str: { str: 'gloo-mesh' } }] }));
  });
});

describe('generalNamesDer', () => {
  it('writes DNS names and URIs exactly as jsrsasign does, IP addresses through jsrsasign', () => {
    const hosts = [
      'istiod.istio-system.svc',
      '*.mesh.example',
      'spiffe://cluster-1.local/ns/istio-system/sa/istiod',
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example`,
      '10.0.0.1',
      'fd00::1',
    ];
    const expected = der({
      seq: [
        generalNameJson({ dns: hosts[0] }),
        generalNameJson({ dns: hosts[1] }),
        generalNameJson({ uri: hosts[2] }),
        generalNameJson({ dns: hosts[3] }),
        generalNameJson({ ip: hosts[4] }),
        generalNameJson({ ip: hosts[5] }),
      ],
    });
    expect(generalNamesDer(hosts).toString('hex')).toBe(expected);
    // and again from the cache of encoded hosts
    expect(generalNamesDer(hosts).toString('hex')).toBe(expected);
  });

  it('names the bad host and caches nothing for it', () => {
    expect(() => generalNamesDer(['ok.example', 'bad host'])).toThrow('hosts[1]: "bad host" is not a DNS name');
    expect(() => generalNamesDer(['bad host'])).toThrow('hosts[0]');
  });
});

function generalNameJson(p: GeneralNameParam): Asn1Json {
  return raw(generalNameHex(p));
}

describe('OID decoding', () => {
  it('answers exactly as jsrsasign does, for real OIDs and random bytes', () => {
    const { original, fast } = oidDecodersForTest;
    const real = [
      '2.5.4.10',
      '2.5.4.11',
      '2.5.4.3',
      '2.5.29.17',
      '1.2.840.113549.1.1.11',
      '1.2.840.10045.4.3.2',
      '1.3.101.112',
      '1.2.840.113549.1.9.14',
    ];
    const cases = real.map((oid) => der({ oid: { oid } }).slice(4));
    const random = seededRandom(5);
    for (let i = 0; i < 20_000; i++) {
      const n = 1 + Math.floor(random() * 12);
      // Mostly continuation bytes, so that long arcs (past 2^53 too) occur.
      cases.push(
        Array.from({ length: n }, () => Math.floor(random() * 256) | (random() < 0.6 ? 0x80 : 0))
          .map((b) => b.toString(16).padStart(2, '0'))
          .join(''),
      );
    }
    cases.push('', '0', 'zz', '2a864');
    for (const hex of cases) {
      expect(fast.oidHexToInt(hex), hex).toBe(original.oidHexToInt(hex));
      expect(fast.hextooidstr(hex), hex).toBe(original.hextooidstr(hex));
    }
    expect(fast.oidHexToInt(cases[4]!)).toBe('1.2.840.113549.1.1.11');
  });
});
