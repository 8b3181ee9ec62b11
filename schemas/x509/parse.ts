// Reading certificates: structure straight from the DER (der-reader), names and extension values
// through jsrsasign when first read, fingerprints and keys through node:crypto.
import { hash, type KeyObject, X509Certificate } from 'node:crypto';
import { der as derOf, type ExtParam, oidName, parseX509Hex } from './asn1.js';
import { checkContent, checkTree, childrenOf, DerError, type Tlv, tlvAt, topLevel } from './der-reader.js';
import { PkiError, withoutLabel } from './errors.js';
import {
  describeKeyObject,
  type KeyDescription,
  type KeyType,
  publicKeyFromSpki,
  rsaKeyInSpki,
  VERIFY_ALGORITHMS,
} from './keys.js';
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
  /** Decoded on first read (jsrsasign); throws PkiError if a name or extension does not decode. */
  readonly info: CertInfo;
  /** `info`, with errors naming `what` (the parse is shared, so `info` names its first reader's input). */
  infoAs(what: string): CertInfo;
  /** The validity period, read with the structure: a chain check needs no more of the leaf. */
  notBefore: Date;
  notAfter: Date;
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
  if (typeof pem !== 'string')
    throw new PkiError(`${what}: expected PEM text, got ${pem === null ? 'null' : typeof pem}`);
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
    if (e instanceof PkiError) throw e;
    throw new PkiError(`${what}: the certificate does not parse${e instanceof DerError ? ` (${e.message})` : ''}`);
  }
}

// The signature algorithms we check ourselves, by the DER (hex) of their AlgorithmIdentifier as
// RFC 4055/5758/8410 write it (RSA with NULL parameters, ECDSA and Ed25519 without). Anything else,
// odd encodings included, goes to OpenSSL's X509 verify, which knows every rule about them.
const SCHEMES_BY_ALG_TLV = new Map(
  Object.entries(VERIFY_ALGORITHMS).map(([oid, a]) => {
    const tlv = derOf({ seq: a.family === 'rsa' ? [{ oid: { oid } }, { null: '' }] : [{ oid: { oid } }] });
    return [tlv, { hash: a.hash, family: a.family }] as const;
  }),
);

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity,
 *   subject, subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL,
 *   [3] extensions OPTIONAL }
 *
 * Read in place (der-reader), the way OpenSSL's d2i_X509 reads a certificate: every element must
 * be well-formed DER of the right type, names are SEQUENCEs of SETs of attributes, extensions a
 * SEQUENCE of {OID, critical?, OCTET STRING}. What a chain check needs (signed bytes, signature,
 * names as DER, validity, key) is taken here; the rest (name strings, SANs, extension values) is
 * decoded by jsrsasign only when `info` is first read. A webhook meets most certificates once and
 * reads none of that: decoding it for every FINISHED review was two thirds of the review's time.
 */
function readStructure(der: Buffer, what: string): ParsedCert {
  const top = topLevel(der);
  const parts = top.tag === 0x30 ? childrenOf(der, top) : [];
  if (parts.length !== 3 || parts[0].tag !== 0x30 || parts[1].tag !== 0x30 || parts[2].tag !== 0x03)
    throw new DerError('not a Certificate');
  const [tbsTlv, outerAlgTlv, sigTlv] = parts;
  const f = childrenOf(der, tbsTlv);
  let at = 0;
  if (f[0]?.tag === 0xa0) {
    const v = childrenOf(der, f[0]);
    // v1, v2 or v3 (0, 1, 2): there is no other X.509 version.
    if (v.length !== 1 || v[0].tag !== 0x02 || v[0].end - v[0].value !== 1 || der[v[0].value] > 2)
      throw new DerError('version');
    at = 1;
  }
  const [serial, innerAlgTlv, issuer, validity, subject, spki] = f.slice(at, at + 6);
  if (
    serial?.tag !== 0x02 ||
    innerAlgTlv?.tag !== 0x30 ||
    issuer?.tag !== 0x30 ||
    validity?.tag !== 0x30 ||
    subject?.tag !== 0x30 ||
    spki?.tag !== 0x30
  ) {
    throw new DerError('TBSCertificate fields');
  }
  checkContent(der, serial);
  checkAlgorithm(der, innerAlgTlv);
  checkAlgorithm(der, outerAlgTlv);
  checkName(der, issuer);
  checkName(der, subject);
  const times = childrenOf(der, validity);
  if (times.length !== 2) throw new DerError('validity');
  const notBefore = derTime(der, times[0]);
  const notAfter = derTime(der, times[1]);
  const key = childrenOf(der, spki);
  if (key.length !== 2 || key[0].tag !== 0x30 || key[1].tag !== 0x03) throw new DerError('SubjectPublicKeyInfo');
  checkAlgorithm(der, key[0]);
  checkContent(der, key[1]);
  let extensions: Tlv | undefined;
  let expect = 0x81;
  for (const extra of f.slice(at + 6)) {
    // [1] and [2] unique identifiers (IMPLICIT BIT STRINGs, primitive in DER), then [3]
    // extensions, each at most once and in that order.
    if ((extra.tag === 0x81 || extra.tag === 0x82) && extra.tag >= expect) {
      checkContent(der, { ...extra, tag: 0x03 });
      expect = extra.tag + 1;
      continue;
    }
    if (extra.tag !== 0xa3 || extensions) throw new DerError('TBSCertificate fields');
    extensions = extra;
    expect = 0x84;
  }
  if (extensions) checkExtensions(der, extensions);
  checkContent(der, sigTlv);

  // Ours to verify only when the outer algorithm is the one the signed part names, in its usual
  // encoding, and the signature has no unused bits (X509_verify insists on all three).
  const outerAlg = der.toString('hex', outerAlgTlv.start, outerAlgTlv.end);
  const innerAlg = der.toString('hex', innerAlgTlv.start, innerAlgTlv.end);
  const alg = outerAlg === innerAlg && der[sigTlv.value] === 0 ? SCHEMES_BY_ALG_TLV.get(outerAlg) : undefined;
  // An empty subject (30 00) is allowed: SPIFFE workload certificates name themselves in the SAN.
  const subjectHex = der.toString('hex', subject.start, subject.end);
  return new LazyParsedCert(
    {
      der,
      spkiDer: der.subarray(spki.start, spki.end),
      tbs: der.subarray(tbsTlv.start, tbsTlv.end),
      signature: der.subarray(sigTlv.value + 1, sigTlv.end),
      ...(alg ? { signatureScheme: alg } : {}),
      subjectHex,
      issuerHex: der.toString('hex', issuer.start, issuer.end),
      notBefore,
      notAfter,
    },
    what,
  );
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }; OpenSSL decodes a universal-typed parameter. */
function checkAlgorithm(der: Buffer, alg: Tlv): void {
  const parts = childrenOf(der, alg);
  if (parts.length < 1 || parts.length > 2 || parts[0].tag !== 0x06) throw new DerError('AlgorithmIdentifier');
  checkContent(der, parts[0]);
  if (parts[1]) checkTree(der, parts[1]);
}

// Name attribute values we read: the string types Go's crypto/x509 (so istiod), OpenSSL and
// jsrsasign all decode: UTF8String, NumericString, PrintableString, T61String, IA5String,
// BMPString. OpenSSL also takes UniversalString, SEQUENCE and a few opaque tags (REAL, EXTERNAL,
// ...); Go refuses them, and so do we. test/pki/robustness.test.ts puts every tag to openssl.
const NAME_VALUE_TAGS = new Set([0x0c, 0x12, 0x13, 0x14, 0x16, 0x1e]);

/**
 * Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }. Values stay encoded, but OpenSSL
 * converts the string ones to UTF-8 while parsing (to compare names), so a UTF8String that is not
 * UTF-8, or a BMPString or UniversalString of the wrong length, makes it refuse the certificate
 * (checkContent).
 */
function checkName(der: Buffer, name: Tlv): void {
  for (const rdn of childrenOf(der, name)) {
    if (rdn.tag !== 0x31) throw new DerError('Name');
    const attrs = childrenOf(der, rdn);
    if (attrs.length === 0) throw new DerError('Name');
    for (const attr of attrs) {
      const tv = attr.tag === 0x30 ? childrenOf(der, attr) : [];
      if (tv.length !== 2 || tv[0].tag !== 0x06) throw new DerError('Name');
      checkContent(der, tv[0]);
      if (!NAME_VALUE_TAGS.has(tv[1].tag)) throw new DerError('Name: an attribute value that is not a string');
      checkContent(der, tv[1]);
    }
  }
}

// The extensions readers decode (SKI, KU, SAN, IAN, BC, name constraints, CRL distribution points,
// policies, AKI, EKU, authority information access), by the DER of their OIDs: their values must
// be DER through and through. A private extension's value is opaque to everyone, as to OpenSSL.
const DECODED_EXTENSIONS = new Set([
  '551d0e',
  '551d0f',
  '551d11',
  '551d12',
  '551d13',
  '551d1e',
  '551d1f',
  '551d20',
  '551d23',
  '551d25',
  '2b06010505070101',
]);

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function checkExtensions(der: Buffer, wrapper: Tlv): void {
  const inner = childrenOf(der, wrapper);
  if (inner.length !== 1 || inner[0].tag !== 0x30) throw new DerError('extensions');
  const list = childrenOf(der, inner[0]);
  if (list.length === 0) throw new DerError('extensions');
  const seen = new Set<string>();
  for (const ext of list) {
    const e = ext.tag === 0x30 ? childrenOf(der, ext) : [];
    const ok =
      e[0]?.tag === 0x06 &&
      (e.length === 2 ? e[1].tag === 0x04 : e.length === 3 && e[1].tag === 0x01 && e[2].tag === 0x04);
    if (!ok) throw new DerError('extension');
    for (const part of e) checkContent(der, part);
    // RFC 5280 4.2: a certificate must not include more than one instance of an extension.
    const oid = der.toString('hex', e[0].value, e[0].end);
    if (seen.has(oid)) throw new DerError('extension repeated');
    seen.add(oid);
    if (!DECODED_EXTENSIONS.has(oid)) continue;
    // Decoded when `info` is read: its bytes must be one whole DER element now.
    const value = e[e.length - 1];
    const inner = tlvAt(der, value.value, value.end);
    if (inner.end !== value.end) throw new DerError('extension value');
    checkTree(der, inner);
  }
}

/**
 * UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, the only forms RFC 5280 allows in a
 * certificate (4.1.2.5); UTCTime years 50-99 are 19xx.
 */
function derTime(der: Buffer, t: Tlv): Date {
  const s = der.toString('latin1', t.value, t.end);
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : t.tag === 0x18
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null;
  if (!m) throw new DerError('validity time');
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  const [mon, day, h, min, sec] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const d = new Date(0);
  d.setUTCFullYear(year, mon - 1, day);
  d.setUTCHours(h, min, sec, 0);
  // Date rolls 31 February over into March: a time that does not exist does not parse.
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== mon - 1 ||
    d.getUTCDate() !== day ||
    h > 23 ||
    min > 59 ||
    sec > 59
  )
    throw new DerError('validity time');
  return d;
}

/** Everything else a user reads about a certificate, decoded by jsrsasign from the DER. */
function readInfo(
  der: Buffer,
  fields: { spkiDer: Buffer; notBefore: Date; notAfter: Date },
  what: string,
): { info: CertInfo; publicKey?: KeyObject } {
  const hex = der.toString('hex');
  const p = parseX509Hex(hex);
  const exts: ExtParam[] = p.aExtInfo ? p.getExtParamArray() : [];
  const subject = p.getSubject();
  const issuer = p.getIssuer();
  const ext = (name: string) => exts.find((e) => e.extname === name);
  const bc = ext('basicConstraints');
  const sans = sanEntriesFromParams(ext('subjectAltName')?.array);
  const spkiDer = fields.spkiDer;
  const rsa = rsaKeyOf(spkiDer);
  const publicKey = rsa ? undefined : publicKeyFromSpki(spkiDer, what);
  const key = rsa ?? describeKeyObject(publicKey as KeyObject);
  const eku = ext('extKeyUsage') as (ExtParam & { array?: string[] }) | undefined;
  const aki = ext('authorityKeyIdentifier') as (ExtParam & { kid?: { hex: string } }) | undefined;
  const ski = ext('subjectKeyIdentifier')?.kid?.hex;
  const selfSigned = p.getSubjectHex() === p.getIssuerHex() && (!aki?.kid?.hex || !ski || aki.kid.hex === ski);
  const serial = p.getSerialNumberHex().replace(/^(00)+(?=.)/, '');
  const info: CertInfo = {
    subject: dnFromArray(subject.array),
    subjectText: dnText(subject.array),
    issuer: dnFromArray(issuer.array),
    issuerText: dnText(issuer.array),
    sans,
    hosts: sans.map((s) => s.value),
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
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
    ...(ski ? { subjectKeyId: ski } : {}),
    ...(aki?.kid?.hex ? { authorityKeyId: aki.kid.hex } : {}),
    signatureAlgorithm: opensslAlgName(p.getSignatureAlgorithmField()),
    selfSigned,
    pem: toPem('CERTIFICATE', der),
  };
  return publicKey ? { info, publicKey } : { info };
}

type EagerFields = Omit<ParsedCert, 'info' | 'infoAs' | 'x509' | 'publicKey'>;

/**
 * A parsed certificate whose `info`, X509Certificate and public key are made on first use. A
 * class, not an object literal with getters: a literal's getters are new closures for every
 * object, so every object got a hidden class of its own, allocated in the old generation and
 * pointing at the young closures, and through them at everything the certificate holds. Each
 * scavenge then kept all that alive and promoted it, though nothing used it any more: 10 KB per
 * certificate parsed, and the young-generation pauses behind the chain check's p99.
 */
class LazyParsedCert implements ParsedCert {
  readonly der: Buffer;
  readonly spkiDer: Buffer;
  readonly tbs: Buffer;
  readonly signature: Buffer;
  readonly signatureScheme?: ParsedCert['signatureScheme'];
  readonly subjectHex: string;
  readonly issuerHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly #what: string;
  #info: CertInfo | undefined;
  #infoFailure: string | undefined;
  #x509: X509Certificate | undefined;
  #publicKey: KeyObject | undefined;

  constructor(fields: EagerFields, what: string) {
    this.der = fields.der;
    this.spkiDer = fields.spkiDer;
    this.tbs = fields.tbs;
    this.signature = fields.signature;
    if (fields.signatureScheme) this.signatureScheme = fields.signatureScheme;
    this.subjectHex = fields.subjectHex;
    this.issuerHex = fields.issuerHex;
    this.notBefore = fields.notBefore;
    this.notAfter = fields.notAfter;
    this.#what = what;
  }

  /**
   * Throws PkiError when a value inside the certificate (a name, an extension, the key) does not
   * decode. The error names the input this certificate was first parsed as; infoAs(what) names
   * the caller's own.
   */
  get info(): CertInfo {
    if (this.#info) return this.#info;
    if (this.#infoFailure === undefined) {
      try {
        const read = readInfo(this.der, this, this.#what);
        this.#publicKey ??= read.publicKey;
        return (this.#info = read.info);
      } catch (e) {
        // Kept: the chain code asks again on every failure path, and jsrsasign is the slow part.
        this.#infoFailure = withoutLabel(e, 'the certificate does not parse');
      }
    }
    throw new PkiError(`${this.#what}: ${this.#infoFailure}`);
  }

  /** The certificate's `info`, its errors naming `what`. */
  infoAs(what: string): CertInfo {
    try {
      return this.info;
    } catch (e) {
      throw e instanceof PkiError ? new PkiError(`${what}: ${this.#infoFailure ?? e.message}`) : e;
    }
  }

  get x509(): X509Certificate {
    if (this.#x509) return this.#x509;
    try {
      return (this.#x509 = new X509Certificate(this.der));
    } catch {
      throw new PkiError(`${this.#what}: the certificate does not parse`);
    }
  }

  get publicKey(): KeyObject {
    return (this.#publicKey ??= publicKeyFromSpki(this.spkiDer, this.#what));
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
  return structuredClone(parseCertificateFull(pem).infoAs('certificate'));
}

/** "AB:CD:…" SHA-256 fingerprint of a PEM certificate (openssl's format). */
export function certificateFingerprint(pem: string): string {
  return fingerprintOf(pemToDer(pem, ['CERTIFICATE'], 'certificate'));
}
