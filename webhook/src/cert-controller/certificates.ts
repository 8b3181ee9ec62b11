// The webhook's own CA and serving certificate (--tls-mode self): ECDSA P-256 keys from
// node:crypto, the TBSCertificate assembled by jsrsasign and signed by node:crypto. Lifetimes are
// in milliseconds, so that tests can issue certificates that live for seconds.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import jsrsasign from 'jsrsasign';

const { KJUR } = jsrsasign;

/** A certificate with its private key, both PEM. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

/**
 * Certificates start this much before they are made (a lagging clock still accepts them): one
 * minute, or a twentieth of a short lifetime, so that "2/3 of its life" stays near 2/3.
 */
export function backdateMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.floor(lifetimeMs / 20));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5), whole seconds. */
function asn1Time(ms: number): { type: 'utc' | 'gen'; str: string } {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = Number(iso.slice(0, 4));
  return year < 2050 ? { type: 'utc', str: compact.slice(2) } : { type: 'gen', str: compact };
}

function newKey(): { keyPem: string; spkiPem: string; spkiDer: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spkiPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
  };
}

/** RFC 5280 4.2.1.2 method 1 over the whole SPKI: only has to be stable and unique per key. */
function keyId(spkiDer: Buffer): string {
  return createHash('sha1').update(spkiDer).digest('hex');
}

/** 128 random bits, positive. */
function serialHex(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  if (b[0] === 0) b[0] = 1;
  return b.toString('hex');
}

interface TbsInput {
  subjectCn: string;
  issuerCn: string;
  spkiPem: string;
  notBeforeMs: number;
  notAfterMs: number;
  ext: object[];
  signerKeyPem: string;
}

function signed(t: TbsInput): string {
  const params = {
    version: 3,
    serial: { hex: serialHex() },
    sigalg: 'SHA256withECDSA',
    issuer: { str: `/O=mesh-cert/CN=${t.issuerCn}` },
    notbefore: asn1Time(t.notBeforeMs),
    notafter: asn1Time(t.notAfterMs),
    subject: { str: `/O=mesh-cert/CN=${t.subjectCn}` },
    sbjpubkey: t.spkiPem,
    ext: t.ext,
  };
  const tbs = new KJUR.asn1.x509.TBSCertificate(params as never);
  const tbsDer = Buffer.from(tbs.getEncodedHex(), 'hex');
  const sig = sign('sha256', tbsDer, { key: createPrivateKey(t.signerKeyPem), dsaEncoding: 'der' });
  const cert = new KJUR.asn1.x509.Certificate({
    tbsobj: tbs,
    sigalg: 'SHA256withECDSA',
    sighex: sig.toString('hex'),
  } as never);
  return jsrsasign.hextopem(cert.getEncodedHex(), 'CERTIFICATE').replace(/\r\n/g, '\n');
}

/** A self-signed CA: CA:TRUE with path length 0 (it signs serving certificates only). */
export function createCa(opts: { commonName: string; lifetimeMs: number; now: number }): KeyPair {
  const k = newKey();
  const kid = keyId(k.spkiDer);
  const certPem = signed({
    subjectCn: opts.commonName,
    issuerCn: opts.commonName,
    spkiPem: k.spkiPem,
    notBeforeMs: opts.now - backdateMs(opts.lifetimeMs),
    notAfterMs: opts.now + opts.lifetimeMs,
    signerKeyPem: k.keyPem,
    ext: [
      { extname: 'basicConstraints', critical: true, cA: true, pathLen: 0 },
      { extname: 'keyUsage', critical: true, names: ['digitalSignature', 'keyCertSign', 'cRLSign'] },
      { extname: 'subjectKeyIdentifier', kid: { hex: kid } },
      { extname: 'authorityKeyIdentifier', kid: { hex: kid } },
    ],
  });
  return { certPem, keyPem: k.keyPem };
}

/**
 * A serving certificate for `hosts` (DNS names, or IP addresses), signed by `ca`, valid for
 * `lifetimeMs` but never past the CA's own end.
 */
export function createServingCertificate(opts: {
  ca: KeyPair;
  hosts: string[];
  lifetimeMs: number;
  now: number;
}): KeyPair {
  if (opts.hosts.length === 0)
    throw new Error('hosts: a serving certificate needs at least one DNS name or IP address');
  const caCert = new X509Certificate(opts.ca.certPem);
  const caSpki = caCert.publicKey.export({ type: 'spki', format: 'der' });
  const k = newKey();
  const notAfterMs = Math.min(opts.now + opts.lifetimeMs, Date.parse(caCert.validTo));
  const certPem = signed({
    // the Service's .svc name when there is one, as the API server calls it
    subjectCn: opts.hosts.find((h) => h.endsWith('.svc')) ?? opts.hosts[0]!,
    issuerCn: commonNameOf(caCert),
    spkiPem: k.spkiPem,
    notBeforeMs: opts.now - backdateMs(opts.lifetimeMs),
    notAfterMs,
    signerKeyPem: opts.ca.keyPem,
    ext: [
      { extname: 'basicConstraints', critical: true, cA: false },
      { extname: 'keyUsage', critical: true, names: ['digitalSignature'] },
      { extname: 'extKeyUsage', array: [{ name: 'serverAuth' }] },
      { extname: 'subjectKeyIdentifier', kid: { hex: keyId(k.spkiDer) } },
      { extname: 'authorityKeyIdentifier', kid: { hex: keyId(caSpki) } },
      { extname: 'subjectAltName', array: opts.hosts.map((h) => (isIP(h) ? { ip: h } : { dns: h })) },
    ],
  });
  return { certPem, keyPem: k.keyPem };
}

function commonNameOf(x: X509Certificate): string {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(x.subject);
  if (!m) throw new Error('the CA certificate has no common name');
  return m[1]!;
}

/** Whether `key` is the private key of `cert` (both PEM); false for anything unreadable. */
export function keyMatches(pair: KeyPair): boolean {
  try {
    return new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}

/** Whether `cert` was signed by the CA `caPem` (signature only; validity is checked apart). */
export function signedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(createPublicKey(ca.publicKey.export({ type: 'spki', format: 'pem' })));
  } catch {
    return false;
  }
}
