// Reading certificates: structure through jsrsasign, fingerprints and keys through node:crypto.
import { hash, type KeyObject, X509Certificate } from 'node:crypto';
import { ASN1HEX, der as derOf, type ExtParam, oidName, parseX509Hex, zuluToDate } from './asn1.js';
import { PkiError } from './errors.js';
import { describeKeyObject, type KeyDescription, type KeyType, publicKeyFromSpki, rsaKeyInSpki, VERIFY_ALGORITHMS } from './keys.js';
import { type DistinguishedName, dnFromArray, dnText, type SanEntry, sanEntriesFromParams } from './names.js';
import { pemToDer, toPem } from './pem.js';
import { RecentCache } from './recent-cache.js';

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

export interface ParsedCert {
  info: CertInfo;
  /**
   * node's X509Certificate and the public key, built on first use: the constructor costs ~110 us,
   * and native objects outlive a young-generation GC, so making them for every certificate the
   * webhook meets once kept the old generation churning.
   */
  readonly x509: X509Certificate;
  der: Buffer;
  /** DER of the SubjectPublicKeyInfo, as the certificate carries it. */
  spkiDer: Buffer;
  readonly publicKey: KeyObject;
  /** What a signature check needs: the signed bytes, the signature, and its algorithm. */
  tbs: Buffer;
  signature: Buffer;
  /** The digest and key family of the signature algorithm; undefined when our table lacks it. */
  signatureScheme?: { hash: string | null; family: 'rsa' | 'ec' | 'ed25519' };
  /** DER (hex) of the subject and issuer Names, for exact name chaining. */
  subjectHex: string;
  issuerHex: string;
}

// Trust checks verify the same roots and chains over and over (every cluster against every
// bundle); parsed certificates are immutable, so keep recently used ones by PEM text. The cache
// stays small: the webhook meets each signed certificate once but the same roots all the time, and
// hundreds of cached certificates (128, even) kept the old generation churning (10-20 ms major GC
// pauses every second under load). See recent-cache.ts for why it is not a Map.
const parsedCache = new RecentCache<ParsedCert>(32);

/**
 * Parse one PEM certificate; `what` names it in errors. The result may be shared with other
 * callers: treat it as read-only (parseCertificate hands out copies).
 */
export function parseCertificateFull(pem: string, what = 'certificate'): ParsedCert {
  const hit = parsedCache.get(pem);
  if (hit) return hit;
  const parsed = parseUncached(pem, what);
  parsedCache.set(pem, parsed);
  return parsed;
}

function parseUncached(pem: string, what: string): ParsedCert {
  const der = pemToDer(pem, ['CERTIFICATE'], what);
  try {
    return readStructure(der, what);
  } catch (e) {
    // jsrsasign throws plain Errors (or worse) on DER it cannot read.
    if (e instanceof PkiError) throw e;
    throw new PkiError(`${what}: the certificate does not parse`);
  }
}

/** The family of keys a signature algorithm belongs to, from the names in keys.ts's table. */
function familyOf(name: string): 'rsa' | 'ec' | 'ed25519' {
  return name.startsWith('ecdsa') ? 'ec' : name === 'Ed25519' ? 'ed25519' : 'rsa';
}

// The signature algorithms we check ourselves, by the DER (hex) of their AlgorithmIdentifier as
// RFC 4055/5758/8410 write it (RSA with NULL parameters, ECDSA and Ed25519 without). Anything else,
// odd encodings included, goes to OpenSSL's X509 verify, which knows every rule about them.
const SCHEMES_BY_ALG_TLV = new Map(
  Object.entries(VERIFY_ALGORITHMS).map(([oid, a]) => {
    const family = familyOf(a.name);
    const tlv = derOf({ seq: family === 'rsa' ? [{ oid: { oid } }, { null: '' }] : [{ oid: { oid } }] });
    return [tlv, { hash: a.hash, family }] as const;
  }),
);

function readStructure(der: Buffer, what: string): ParsedCert {
  const hex = der.toString('hex');
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
  const top = ASN1HEX.getChildIdx(hex, 0);
  if (!hex.startsWith('30') || top.length !== 3 || !hex.startsWith('30', top[0]) || !hex.startsWith('30', top[1]) || !hex.startsWith('03', top[2])) {
    throw new PkiError(`${what}: the certificate does not parse`);
  }
  const end = (idx: number) => ASN1HEX.getVidx(hex, idx) + ASN1HEX.getVblen(hex, idx) * 2;
  if (end(0) !== hex.length) throw new PkiError(`${what}: the certificate does not parse (trailing or missing bytes)`);
  const tbs = der.subarray(top[0] / 2, end(top[0]) / 2);
  const sigStart = ASN1HEX.getVidx(hex, top[2]) / 2;
  const signature = der.subarray(sigStart + 1, end(top[2]) / 2);
  // Ours to verify only when the outer algorithm is the one the signed part names, in its usual
  // encoding, and the signature has no unused bits (X509_verify insists on all three).
  const outerAlg = ASN1HEX.getTLV(hex, top[1]);
  const tbsFields = ASN1HEX.getChildIdx(hex, top[0]);
  const innerAlg = ASN1HEX.getTLV(hex, tbsFields[hex.startsWith('a0', tbsFields[0]) ? 2 : 1] ?? 0);
  const alg = outerAlg === innerAlg && der[sigStart] === 0 ? SCHEMES_BY_ALG_TLV.get(outerAlg) : undefined;
  const p = parseX509Hex(hex);
  const exts: ExtParam[] = p.aExtInfo ? p.getExtParamArray() : [];
  if (!p.getSubjectHex()) throw new PkiError(`${what}: the certificate has no subject`);
  const subject = p.getSubject();
  const issuer = p.getIssuer();
  const ext = (name: string) => exts.find((e) => e.extname === name);
  const bc = ext('basicConstraints');
  const sans = sanEntriesFromParams(ext('subjectAltName')?.array);
  const spkiHex = p.getPublicKeyHex();
  const spkiDer = Buffer.from(spkiHex, 'hex');
  const rsa = rsaKeyOf(spkiDer);
  const publicKey = rsa ? undefined : publicKeyFromSpki(spkiHex, what);
  const key = rsa ?? describeKeyObject(publicKey as KeyObject);
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
    fingerprintSha256: fingerprintOf(der),
    spkiSha256: hash('sha256', spkiDer, 'hex'),
    ...(ext('subjectKeyIdentifier')?.kid?.hex ? { subjectKeyId: ext('subjectKeyIdentifier')?.kid?.hex } : {}),
    ...(aki?.kid?.hex ? { authorityKeyId: aki.kid.hex } : {}),
    signatureAlgorithm: opensslAlgName(p.getSignatureAlgorithmField()),
    selfSigned,
    pem: toPem('CERTIFICATE', der),
  };
  return new LazyParsedCert({ info, der, spkiDer, tbs, signature, ...(alg ? { signatureScheme: alg } : {}), subjectHex, issuerHex }, publicKey, what);
}

/**
 * A parsed certificate whose X509Certificate and public key are made on first use. A class, not an
 * object literal with getters: a literal's getters are new closures for every object, so every
 * object got a hidden class of its own, allocated in the old generation and pointing at the young
 * closures, and through them at everything the certificate holds. Each scavenge then kept all that
 * alive and promoted it, though nothing used it any more: 10 KB per certificate parsed, and the
 * young-generation pauses behind the chain check's p99.
 */
class LazyParsedCert implements ParsedCert {
  readonly info: CertInfo;
  readonly der: Buffer;
  readonly spkiDer: Buffer;
  readonly tbs: Buffer;
  readonly signature: Buffer;
  readonly signatureScheme?: ParsedCert['signatureScheme'];
  readonly subjectHex: string;
  readonly issuerHex: string;
  readonly #what: string;
  #x509: X509Certificate | undefined;
  #publicKey: KeyObject | undefined;

  constructor(fields: Omit<ParsedCert, 'x509' | 'publicKey'>, publicKey: KeyObject | undefined, what: string) {
    this.info = fields.info;
    this.der = fields.der;
    this.spkiDer = fields.spkiDer;
    this.tbs = fields.tbs;
    this.signature = fields.signature;
    if (fields.signatureScheme) this.signatureScheme = fields.signatureScheme;
    this.subjectHex = fields.subjectHex;
    this.issuerHex = fields.issuerHex;
    this.#publicKey = publicKey;
    this.#what = what;
  }

  get x509(): X509Certificate {
    return (this.#x509 ??= new X509Certificate(this.der));
  }

  get publicKey(): KeyObject {
    return (this.#publicKey ??= publicKeyFromSpki(this.spkiDer.toString('hex'), this.#what));
  }
}

/** "AB:CD:…": SHA-256 of the DER, as openssl and X509Certificate#fingerprint256 print it. */
function fingerprintOf(der: Buffer): string {
  return hash('sha256', der, 'hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
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

/** An RSA key's type and size, read from the SPKI's DER; undefined for other keys (node:crypto then decides). */
function rsaKeyOf(spkiDer: Buffer): KeyDescription | undefined {
  const rsa = rsaKeyInSpki(spkiDer);
  return rsa && rsa.bits > 0 ? { type: 'RSA', bits: rsa.bits } : undefined;
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
  return fingerprintOf(pemToDer(pem, ['CERTIFICATE'], 'certificate'));
}
