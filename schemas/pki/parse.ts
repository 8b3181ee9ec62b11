// Reading certificates: structure through jsrsasign, fingerprints and keys through node:crypto.
import { createHash, X509Certificate } from 'node:crypto';
import { type ExtParam, oidName, parseX509Hex, zuluToDate } from './asn1.js';
import { PkiError } from './errors.js';
import { describeKeyObject, type KeyType } from './keys.js';
import { type DistinguishedName, dnFromArray, dnText, type SanEntry, sanEntriesFromParams } from './names.js';
import { pemToDer, toPem } from './pem.js';

export interface CertInfo {
  subject: DistinguishedName;
  /** "O=gloo-mesh, OU=cluster-1" in certificate order. */
  subjectText: string;
  issuer: DistinguishedName;
  issuerText: string;
  sans: SanEntry[];
  /** SAN values as host strings ("spiffe://…", "10.0.0.1", "istiod.istio-system.svc"). */
  hosts: string[];
  notBefore: Date;
  notAfter: Date;
  /** Serial number, lower-case hex without leading zero octet. */
  serial: string;
  isCA: boolean;
  /** basicConstraints pathLenConstraint, when present. */
  pathLen?: number;
  keyUsage: string[];
  extKeyUsage: string[];
  keyType: KeyType;
  keyBits: number;
  curve?: string;
  /** "AB:CD:…" SHA-256 of the certificate DER, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprintSha256: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex: the same for a CSR and the certificate signed for it. */
  spkiSha256: string;
  subjectKeyId?: string;
  authorityKeyId?: string;
  signatureAlgorithm: string;
  /**
   * Self-issued: issuer name equals subject name (and the authority key id, when present, is its
   * own subject key id), as a root's is. Signatures are checked by verifyChain, not here.
   */
  selfSigned: boolean;
  /** Canonical PEM. */
  pem: string;
}

interface ParsedCert {
  info: CertInfo;
  x509: X509Certificate;
  der: Buffer;
  /** DER (hex) of the subject and issuer Names, for exact name chaining. */
  subjectHex: string;
  issuerHex: string;
}

// Trust checks verify the same roots and chains over and over (every cluster against every
// bundle); parsed certificates are immutable, so keep recent ones by PEM text.
const parsedCache = new Map<string, ParsedCert>();
const PARSED_CACHE_MAX = 512;

/**
 * Parse one PEM certificate; `what` names it in errors. The result may be shared with other
 * callers: treat it as read-only (parseCertificate hands out copies).
 */
export function parseCertificateFull(pem: string, what = 'certificate'): ParsedCert {
  const hit = parsedCache.get(pem);
  if (hit) return hit;
  const parsed = parseUncached(pem, what);
  if (parsedCache.size >= PARSED_CACHE_MAX) parsedCache.delete(parsedCache.keys().next().value as string);
  parsedCache.set(pem, parsed);
  return parsed;
}

function parseUncached(pem: string, what: string): ParsedCert {
  const der = pemToDer(pem, ['CERTIFICATE'], what);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw new PkiError(`${what}: the certificate does not parse`);
  }
  try {
    return readStructure(der, x509, what);
  } catch (e) {
    // OpenSSL accepted the DER; jsrsasign may still choke on an unusual field (plain Errors).
    if (e instanceof PkiError) throw e;
    throw new PkiError(`${what}: the certificate's structure does not parse`);
  }
}

function readStructure(der: Buffer, x509: X509Certificate, what: string): ParsedCert {
  const p = parseX509Hex(der.toString('hex'));
  const exts: ExtParam[] = p.aExtInfo ? p.getExtParamArray() : [];
  if (!p.getSubjectHex()) throw new PkiError(`${what}: the certificate has no subject`);
  const subject = p.getSubject();
  const issuer = p.getIssuer();
  const ext = (name: string) => exts.find((e) => e.extname === name);
  const bc = ext('basicConstraints');
  const sans = sanEntriesFromParams(ext('subjectAltName')?.array);
  const key = describeKeyObject(x509.publicKey);
  const spkiDer = Buffer.from(p.getPublicKeyHex(), 'hex');
  const eku = ext('extKeyUsage') as (ExtParam & { array?: string[] }) | undefined;
  const aki = ext('authorityKeyIdentifier') as (ExtParam & { kid?: { hex: string } }) | undefined;
  const subjectHex = p.getSubjectHex();
  const issuerHex = p.getIssuerHex();
  const ski = ext('subjectKeyIdentifier')?.kid?.hex;
  const selfSigned = subjectHex === issuerHex && (!aki?.kid?.hex || !ski || aki.kid.hex === ski);
  const serial = p.getSerialNumberHex().replace(/^(00)+(?=.)/, '');
  const info: CertInfo = {
    subject: dnFromArray(subject.array),
    subjectText: dnText(subject.array),
    issuer: dnFromArray(issuer.array),
    issuerText: dnText(issuer.array),
    sans,
    hosts: sans.map((s) => s.value),
    notBefore: zuluToDate(p.getNotBefore()),
    notAfter: zuluToDate(p.getNotAfter()),
    serial,
    isCA: bc?.cA === true,
    ...(bc?.pathLen !== undefined ? { pathLen: bc.pathLen } : {}),
    keyUsage: ext('keyUsage')?.names ?? [],
    extKeyUsage: (eku?.array ?? []).map((o) => (typeof o === 'string' ? oidName(o) : String(o))),
    keyType: key.type,
    keyBits: key.bits,
    ...(key.curve ? { curve: key.curve } : {}),
    fingerprintSha256: x509.fingerprint256,
    spkiSha256: createHash('sha256').update(spkiDer).digest('hex'),
    ...(ext('subjectKeyIdentifier')?.kid?.hex ? { subjectKeyId: ext('subjectKeyIdentifier')?.kid?.hex } : {}),
    ...(aki?.kid?.hex ? { authorityKeyId: aki.kid.hex } : {}),
    signatureAlgorithm: opensslAlgName(p.getSignatureAlgorithmField()),
    selfSigned,
    pem: toPem('CERTIFICATE', der),
  };
  return { info, x509, der, subjectHex, issuerHex };
}

// jsrsasign's names ("SHA256withRSA") to the ones openssl prints, which users know.
const ALG_NAMES: Record<string, string> = {
  SHA1withRSA: 'sha1WithRSAEncryption',
  SHA256withRSA: 'sha256WithRSAEncryption',
  SHA384withRSA: 'sha384WithRSAEncryption',
  SHA512withRSA: 'sha512WithRSAEncryption',
  SHA256withECDSA: 'ecdsa-with-SHA256',
  SHA384withECDSA: 'ecdsa-with-SHA384',
  SHA512withECDSA: 'ecdsa-with-SHA512',
  SHAwithRSAandMGF1: 'rsassaPss',
  Ed25519: 'ED25519',
};
function opensslAlgName(n: string): string {
  return ALG_NAMES[n] ?? n;
}

/**
 * Subject, issuer, SANs, validity, serial, CA flags, key usage, key type and size, fingerprints
 * of one PEM certificate. Throws PkiError when it does not parse.
 */
export function parseCertificate(pem: string): CertInfo {
  return structuredClone(parseCertificateFull(pem).info);
}

/** "AB:CD:…" SHA-256 fingerprint of a PEM certificate (openssl's format). */
export function certificateFingerprint(pem: string): string {
  const der = pemToDer(pem, ['CERTIFICATE'], 'certificate');
  return createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}
