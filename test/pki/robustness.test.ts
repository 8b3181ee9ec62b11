// Damaged input must give a PkiError (or an ok:false verdict), never a crash of another kind,
// and never a verdict openssl disagrees with. Mutations come from a seeded PRNG, so a failure
// reproduces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCsr,
  createRootCa,
  generateRsaKey,
  parseCertificate,
  PkiError,
  publicKeyOfCsrMatchesCert,
  signIntermediate,
  verifyChain,
  verifyCsr,
  verifySigningSecret,
} from '#schemas/x509/index.js';
import { parseCertificateFull } from '#schemas/x509/parse.js';
import { Workdir } from './openssl.js';

const w = new Workdir();
let rootKey: { privateKeyPem: string };
let caKey: { privateKeyPem: string };
let root: string;
let csr: string;
let cert: string;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const derOf = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----/g, ''), 'base64');
const pemOf = (type: string, der: Buffer) =>
  `-----BEGIN ${type}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${type}-----\n`;

/** One random damage: flip a bit, overwrite a byte, truncate, or drop a byte. */
function mutate(der: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(der);
  const at = Math.floor(rnd() * b.length);
  switch (Math.floor(rnd() * 4)) {
    case 0:
      b[at] ^= 1 << Math.floor(rnd() * 8);
      return b;
    case 1:
      b[at] = Math.floor(rnd() * 256);
      return b;
    case 2:
      return b.subarray(0, at);
    default:
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }
}

beforeAll(async () => {
  [rootKey, caKey] = await Promise.all([generateRsaKey(2048), generateRsaKey(2048)]);
  root = createRootCa({ privateKeyPem: rootKey.privateKeyPem, subject: { O: 'gloo-mesh', CN: 'root' }, ttlDays: 30 });
  csr = createCsr({
    privateKeyPem: caKey.privateKeyPem,
    subject: { O: 'gloo-mesh', OU: 'fuzz' },
    hosts: ['spiffe://fuzz/ns/a', '10.0.0.9', 'fuzz.example'],
  });
  cert = signIntermediate({
    csrPem: csr,
    issuerCertPem: root,
    issuerKeyPem: rootKey.privateKeyPem,
    hosts: ['fuzz.example'],
    ttlDays: 5,
  });
});
afterAll(() => w.cleanup());

describe('damaged input', () => {
  it('CSRs: verifyCsr and signIntermediate throw only PkiError, and accept only what still verifies', () => {
    // Several seeds: the CSR is read in place (der-reader) and its RSA signature checked by
    // verifyRsaPkcs1, both ours, so openssl's `req -verify` referees everything we accept.
    const rnds = [1, 8, 9].map((seed) => mulberry32(seed));
    const original = derOf(csr);
    let accepted = 0;
    for (let i = 0; i < 900; i++) {
      const bad = pemOf('CERTIFICATE REQUEST', mutate(original, rnds[i % rnds.length]!));
      let ok = false;
      try {
        verifyCsr(bad);
        ok = true;
      } catch (e) {
        expect(e, `mutation ${i}: ${(e as Error).stack}`).toBeInstanceOf(PkiError);
      }
      if (ok) {
        // Whatever we accept, openssl must accept too.
        accepted++;
        expect(w.reqVerify(bad).ok, `mutation ${i} accepted by us only`).toBe(true);
        const signed = signIntermediate({
          csrPem: bad,
          issuerCertPem: root,
          issuerKeyPem: rootKey.privateKeyPem,
          hosts: ['fuzz.example'],
          ttlDays: 1,
        });
        expect(publicKeyOfCsrMatchesCert(bad, signed)).toBe(true);
      } else {
        expect(() =>
          signIntermediate({
            csrPem: bad,
            issuerCertPem: root,
            issuerKeyPem: rootKey.privateKeyPem,
            hosts: ['fuzz.example'],
            ttlDays: 1,
          }),
        ).toThrow(PkiError);
      }
    }
    // Nearly every mutation breaks the signature or the structure.
    expect(accepted).toBeLessThan(45);
  });

  it('certificates: parseCertificate throws only PkiError; verifyChain never throws and agrees with openssl when it accepts', () => {
    // Several seeds: our own signature check (over the TBS bytes) must refuse whatever
    // OpenSSL's X509_verify refuses, including damage outside the signed part.
    const rnds = [2, 3, 4, 5, 6, 7].map((seed) => mulberry32(seed));
    const original = derOf(cert);
    let accepted = 0;
    for (let i = 0; i < 1800; i++) {
      const damaged = mutate(original, rnds[i % rnds.length]!);
      const bad = pemOf('CERTIFICATE', damaged);
      try {
        parseCertificate(bad);
      } catch (e) {
        expect(e, `mutation ${i}: ${(e as Error).stack}`).toBeInstanceOf(PkiError);
      }
      const v = verifyChain({ certPem: bad, rootPems: [root] });
      if (v.ok) {
        accepted++;
        expect(w.verify({ certPem: bad, rootPems: [root] }).ok, `mutation ${i} accepted by us only`).toBe(true);
      } else {
        expect(typeof v.error).toBe('string');
      }
    }
    expect(accepted).toBeLessThan(45);
  });

  it('certificates: whatever parses as certificate structure, openssl x509 reads too', () => {
    // parseCertificateFull reads the structure only (names and extension values are decoded on
    // first use); the webhook's "certificate that parses" rests on it, so OpenSSL must agree.
    const rnds = [11, 12, 13].map((seed) => mulberry32(seed));
    const original = derOf(cert);
    let structural = 0;
    let decoded = 0;
    for (let i = 0; i < 1200; i++) {
      const bad = pemOf('CERTIFICATE', mutate(original, rnds[i % rnds.length]!));
      let parsed: ReturnType<typeof parseCertificateFull>;
      try {
        parsed = parseCertificateFull(bad);
      } catch (e) {
        expect(e, `mutation ${i}`).toBeInstanceOf(PkiError);
        continue;
      }
      structural++;
      const r = w.openssl(['x509', '-noout', '-subject', '-dates'], bad);
      expect(r.code, `mutation ${i} parses for us only: ${r.stderr}`).toBe(0);
      // The validity we read is openssl's.
      const dates = Object.fromEntries(
        r.stdout
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(parsed.notBefore.getTime(), `mutation ${i}`).toBe(new Date(dates.notBefore!).getTime());
      expect(parsed.notAfter.getTime(), `mutation ${i}`).toBe(new Date(dates.notAfter!).getTime());
      try {
        void parsed.info;
        decoded++;
      } catch (e) {
        expect(e, `mutation ${i}`).toBeInstanceOf(PkiError);
      }
    }
    // Most single-byte damage lands in names, keys and signatures, which keep the structure.
    expect(structural).toBeGreaterThan(450);
    expect(decoded).toBeGreaterThan(300);
  });

  it('certificates: a name value of a universal tag openssl refuses never parses for us', () => {
    // Random damage seldom lands on a tag byte; here every tag takes the place of OU's UTF8String
    // "fuzz". We take the string types Go and OpenSSL both read; OpenSSL also keeps a few other
    // tags as opaque values (REAL, EXTERNAL, ...), which we refuse, as Go does.
    const original = derOf(cert);
    const at = original.indexOf(Buffer.from('0c0466757a7a', 'hex'));
    expect(at).toBeGreaterThan(0);
    const oursOnly: number[] = [];
    const accepted: number[] = [];
    for (let tag = 0; tag < 0x1f; tag++) {
      const der = Buffer.from(original);
      der[at] = tag;
      const bad = pemOf('CERTIFICATE', der);
      try {
        parseCertificateFull(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(PkiError);
        continue;
      }
      accepted.push(tag);
      if (w.openssl(['x509', '-noout'], bad).code !== 0) oursOnly.push(tag);
    }
    expect(oursOnly).toEqual([]);
    // UTF8String, NumericString, PrintableString, T61String, IA5String, BMPString ("fu" "zz").
    expect(accepted).toEqual([0x0c, 0x12, 0x13, 0x14, 0x16, 0x1e]);
    // A well-formed UniversalString ("f") or SEQUENCE value: OpenSSL reads them, Go and jsrsasign
    // do not, so neither do we (a certificate istiod cannot read must not pass admission).
    for (const value of ['1c0400000066', '30040c024142']) {
      const der = Buffer.concat([original.subarray(0, at), Buffer.from(value, 'hex'), original.subarray(at + 6)]);
      const pem = pemOf('CERTIFICATE', der);
      expect(w.openssl(['x509', '-noout'], pem).code, value).toBe(0);
      expect(() => parseCertificateFull(pem), value).toThrow(/Name: an attribute value that is not a string/);
    }
  });

  it('certificates: extension values are DER where a reader decodes them, opaque elsewhere, never repeated', () => {
    const original = derOf(cert);
    const swap = (from: string, to: string, der: Buffer = original): Buffer => {
      const at = der.indexOf(Buffer.from(from, 'hex'));
      expect(at, from).toBeGreaterThan(0);
      return Buffer.concat([der.subarray(0, at), Buffer.from(to, 'hex'), der.subarray(at + from.length / 2)]);
    };
    const san = original.indexOf(Buffer.from('0603551d11', 'hex'));
    const sanValue = original.indexOf(0x04, san + 5) + 2; // OCTET STRING header, then the GeneralNames
    const broken = Buffer.from(original);
    broken[sanValue] = 0x1f;
    const cases: Array<[string, Buffer, boolean]> = [
      ['SAN whose value is not DER', broken, false],
      ['the same bytes under a private OID', swap('0603551d11', '06032a0304', broken), true],
      ['a private extension holding a valid value', swap('0603551d11', '06032a0304'), true],
      ['a repeated extension (SKI written as a second AKI)', swap('0603551d0e', '0603551d23'), false],
    ];
    for (const [name, der, parses] of cases) {
      const pem = pemOf('CERTIFICATE', der);
      let ours = true;
      try {
        parseCertificateFull(pem);
      } catch (e) {
        expect(e, name).toBeInstanceOf(PkiError);
        ours = false;
      }
      expect(ours, name).toBe(parses);
      if (ours) expect(w.openssl(['x509', '-noout'], pem).code, name).toBe(0);
    }
    // Input of the wrong type is a PkiError too, not a TypeError from the cache.
    expect(() => parseCertificateFull(undefined as unknown as string)).toThrow(
      new PkiError('certificate: expected PEM text, got undefined'),
    );
  });

  it('Secrets: verifySigningSecret returns a verdict for any garbage and never echoes key material', () => {
    const rnd = mulberry32(3);
    const keyDer = derOf(caKey.privateKeyPem);
    for (let i = 0; i < 100; i++) {
      const damagedKey = pemOf('PRIVATE KEY', mutate(keyDer, rnd));
      const data: Record<string, string> = {
        'ca-cert.pem': Buffer.from(cert).toString('base64'),
        'ca-key.pem': Buffer.from(damagedKey).toString('base64'),
        'root-cert.pem': Buffer.from(root).toString('base64'),
        'cert-chain.pem': Buffer.from(cert + root).toString('base64'),
      };
      const r = verifySigningSecret(data);
      if (!r.ok) {
        expect(r.error).toMatch(/^ca-key\.pem: /);
        expect(r.error).not.toMatch(/PRIVATE KEY|[A-Za-z0-9+/]{40}/);
      }
    }
    const junks: Record<string, string>[] = [
      { 'ca-cert.pem': 'x' },
      { 'ca-cert.pem': '' },
      { 'key.pem': 'AAAA' },
      { 'root-cert.pem': '====' },
    ];
    for (const junk of junks) {
      expect(verifySigningSecret(junk).ok).toBe(false);
    }
    expect(verifySigningSecret(null as unknown as Record<string, string>)).toEqual({
      ok: false,
      error: 'data: expected the Secret data map',
    });
  });
});
