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
} from '../../schemas/pki/index.js';
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
const pemOf = (type: string, der: Buffer) => `-----BEGIN ${type}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${type}-----\n`;

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
  csr = createCsr({ privateKeyPem: caKey.privateKeyPem, subject: { O: 'gloo-mesh', OU: 'fuzz' }, hosts: ['spiffe://fuzz/ns/a', '10.0.0.9', 'fuzz.example'] });
  cert = signIntermediate({ csrPem: csr, issuerCertPem: root, issuerKeyPem: rootKey.privateKeyPem, hosts: ['fuzz.example'], ttlDays: 5 });
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
        const signed = signIntermediate({ csrPem: bad, issuerCertPem: root, issuerKeyPem: rootKey.privateKeyPem, hosts: ['fuzz.example'], ttlDays: 1 });
        expect(publicKeyOfCsrMatchesCert(bad, signed)).toBe(true);
      } else {
        expect(() => signIntermediate({ csrPem: bad, issuerCertPem: root, issuerKeyPem: rootKey.privateKeyPem, hosts: ['fuzz.example'], ttlDays: 1 })).toThrow(PkiError);
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
    const junks: Record<string, string>[] = [{ 'ca-cert.pem': 'x' }, { 'ca-cert.pem': '' }, { 'key.pem': 'AAAA' }, { 'root-cert.pem': '====' }];
    for (const junk of junks) {
      expect(verifySigningSecret(junk).ok).toBe(false);
    }
    expect(verifySigningSecret(null as unknown as Record<string, string>)).toEqual({ ok: false, error: 'data: expected the Secret data map' });
  });
});
