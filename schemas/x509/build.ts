// Building and signing certificates: the self-signed root and the intermediates the issuer signs.
// jsrsasign assembles the TBSCertificate; node:crypto signs its DER.
import { createPublicKey, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { type Asn1Json, der, derTlv, type ExtParam, parseX509Hex } from './asn1.js';
import { readCsr } from './csr.js';
import { PkiError } from './errors.js';
import {
  authorityKeyIdentifierHex,
  CA_EXTENSIONS_DER,
  keyIdentifierOfSpki,
  subjectAltNameDer,
  subjectKeyIdentifierDer,
  subjectKeyIdentifierHex,
} from './extensions.js';
import { privateKeyObject, type SignatureScheme, signatureSchemeFor } from './keys.js';
import { dnText, generalNamesDer, subjectNameHex } from './names.js';
import { pemToDer, toPem } from './pem.js';

/** Issued certificates start this much before "now", so a peer whose clock lags still accepts them. */
export const NOT_BEFORE_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_TTL_DAYS = 100 * 365;

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds precision, Zulu. */
function timeJson(d: Date): Asn1Json {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const compact =
    iso.slice(0, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    'Z';
  const year = d.getUTCFullYear();
  if (year >= 1950 && year < 2050) return { utctime: { str: compact.slice(2) } };
  return { gentime: { str: compact } };
}

// randomBytes() per call costs a few microseconds of syscall and allocation; draw serials from a pool.
let serialPool = Buffer.alloc(0);
let serialOffset = 0;

/** 128 random bits as a positive, minimally encoded DER INTEGER (the whole TLV). */
export function randomSerialDer(): Buffer {
  if (serialOffset + 16 > serialPool.length) {
    serialPool = randomBytes(16 * 256);
    serialOffset = 0;
  }
  const b = serialPool.subarray(serialOffset, (serialOffset += 16));
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && b[i + 1] < 0x80) i++;
  const v = b.subarray(i);
  return v[0] >= 0x80 ? derTlv(0x02, [ZERO, v]) : derTlv(0x02, [v]);
}
const ZERO = Buffer.of(0);

function checkTtl(ttlDays: number): void {
  if (typeof ttlDays !== 'number' || !Number.isFinite(ttlDays) || ttlDays <= 0 || ttlDays > MAX_TTL_DAYS) {
    throw new PkiError(
      `ttlDays: expected a number of days greater than 0 and at most ${MAX_TTL_DAYS}, got ${String(ttlDays)}`,
    );
  }
}

function checkNow(now: Date | undefined): Date {
  const d = now ?? new Date();
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new PkiError('now: expected a valid Date');
  return d;
}

// The validity of certificates signed in the same second with the same TTL is the same bytes.
let validityMemo = { key: '', der: Buffer.alloc(0) };

function validityDer(now: Date, ttlDays: number): Buffer {
  const key = `${Math.floor(now.getTime() / 1000)}|${ttlDays}`;
  if (validityMemo.key !== key) {
    const ms = Math.floor(now.getTime() / 1000) * 1000;
    const hex = der({ seq: [timeJson(new Date(ms - NOT_BEFORE_SKEW_MS)), timeJson(new Date(ms + ttlDays * DAY_MS))] });
    validityMemo = { key, der: Buffer.from(hex, 'hex') };
  }
  return validityMemo.der;
}

const VERSION_3 = Buffer.from(der({ tag: { tag: 'a0', explicit: true, obj: { int: 2 } } }), 'hex');

/** The variable parts of a TBSCertificate, each already DER (built by jsrsasign or copied from the CSR). */
interface TbsParts {
  serial: Buffer;
  /** AlgorithmIdentifier followed by the issuer Name: fixed per issuer. */
  algAndIssuer: Buffer;
  validity: Buffer;
  subject: Buffer;
  spki: Buffer;
  /** Extension TLVs, in order. */
  extensions: Buffer[];
}

/**
 * Assemble the TBSCertificate, sign its DER (node:crypto), return the certificate PEM. The pieces
 * are DER already, so this only wraps them in SEQUENCE headers: per certificate, no jsrsasign
 * object and no hex round trip stands between the CSR and the signature.
 */
function signTbs(parts: TbsParts, scheme: SignatureScheme, key: KeyObject): string {
  const tbs = derTlv(0x30, [
    VERSION_3,
    parts.serial,
    parts.algAndIssuer,
    parts.validity,
    parts.subject,
    parts.spki,
    derTlv(0xa3, [derTlv(0x30, parts.extensions)]),
  ]);
  const sig = sign(scheme.hash, tbs, key);
  const cert = derTlv(0x30, [tbs, scheme.algId, derTlv(0x03, [ZERO, sig])]);
  return toPem('CERTIFICATE', cert);
}

/** A self-signed root CA: CA:TRUE (critical, no path length), keyCertSign+cRLSign+digitalSignature, SKI = AKI. */
export function createRootCa(opts: {
  privateKeyPem: string;
  subject: { O?: string; OU?: string; CN?: string };
  ttlDays: number;
  now?: Date;
}): string {
  checkTtl(opts.ttlDays);
  const now = checkNow(opts.now);
  const key = privateKeyObject(opts.privateKeyPem, 'privateKeyPem');
  const scheme = signatureSchemeFor(key, 'privateKeyPem');
  const nameHex = subjectNameHex(opts.subject ?? {});
  if (nameHex === '3000') throw new PkiError('subject: a root CA needs at least O or CN');
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const kid = keyIdentifierOfSpki(spki.toString('hex'));
  const name = Buffer.from(nameHex, 'hex');
  return signTbs(
    {
      serial: randomSerialDer(),
      algAndIssuer: Buffer.concat([scheme.algId, name]),
      validity: validityDer(now, opts.ttlDays),
      subject: name,
      spki,
      extensions: [
        CA_EXTENSIONS_DER,
        Buffer.from(subjectKeyIdentifierHex(kid) + authorityKeyIdentifierHex(kid), 'hex'),
      ],
    },
    scheme,
    key,
  );
}

/** What signing needs of an issuer, checked once and kept for the certificates that follow. */
interface Issuer {
  key: KeyObject;
  scheme: SignatureScheme;
  /** The signature AlgorithmIdentifier and the issuer's subject Name, as they open every TBS. */
  algAndIssuer: Buffer;
  aki: Buffer;
  notAfter: Date;
  label: string;
}

// By certificate PEM, then key PEM: callers pass the same string objects, whose hashes V8 keeps.
const issuerCache = new Map<string, Map<string, Issuer>>();
const ISSUER_CACHE_MAX = 16;

function loadIssuer(certPem: string, keyPem: string): Issuer {
  const hit = issuerCache.get(certPem)?.get(keyPem);
  if (hit) return hit;
  const certDer = pemToDer(certPem, ['CERTIFICATE'], 'issuerCertPem');
  let x: X509Certificate;
  try {
    x = new X509Certificate(certDer);
  } catch {
    throw new PkiError('issuerCertPem: the certificate does not parse');
  }
  const key = privateKeyObject(keyPem, 'issuerKeyPem');
  if (!x.checkPrivateKey(key)) throw new PkiError('issuerKeyPem: does not match issuerCertPem');
  const hex = certDer.toString('hex');
  const parsed = parseX509Hex(hex);
  const subject = parsed.getSubject();
  const label = subject.array.length ? `"${dnText(subject.array)}"` : '(empty subject)';
  let exts: ExtParam[] = [];
  try {
    exts = parsed.aExtInfo ? parsed.getExtParamArray() : [];
  } catch {
    throw new PkiError(`issuerCertPem: ${label}: unreadable extensions`);
  }
  const bc = exts.find((e) => e.extname === 'basicConstraints');
  if (!bc?.cA) throw new PkiError(`issuerCertPem: ${label} is not a CA certificate (basicConstraints CA:TRUE missing)`);
  const ku = exts.find((e) => e.extname === 'keyUsage');
  if (ku && !(ku.names ?? []).includes('keyCertSign'))
    throw new PkiError(`issuerCertPem: ${label}: keyUsage lacks keyCertSign`);
  if (bc.pathLen === 0) throw new PkiError(`issuerCertPem: ${label} has pathLen 0 and cannot sign CA certificates`);
  const ski = exts.find((e) => e.extname === 'subjectKeyIdentifier')?.kid?.hex;
  const spkiHex = x.publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
  const scheme = signatureSchemeFor(key, 'issuerKeyPem');
  const issuer: Issuer = {
    key,
    scheme,
    algAndIssuer: Buffer.concat([scheme.algId, Buffer.from(parsed.getSubjectHex(), 'hex')]),
    aki: Buffer.from(authorityKeyIdentifierHex(ski ?? keyIdentifierOfSpki(spkiHex)), 'hex'),
    notAfter: new Date(x.validTo),
    label,
  };
  if (issuerCache.size >= ISSUER_CACHE_MAX) issuerCache.clear();
  const byKey = issuerCache.get(certPem) ?? new Map<string, Issuer>();
  if (byKey.size >= ISSUER_CACHE_MAX) byKey.clear();
  byKey.set(keyPem, issuer);
  issuerCache.set(certPem, byKey);
  return issuer;
}

/**
 * Sign an intermediate CA certificate for a CSR (verified first): subject copied from the CSR,
 * SANs from `hosts`, CA:TRUE without path length, keyCertSign+cRLSign+digitalSignature, SKI/AKI,
 * NotBefore = now - 5 min, NotAfter = now + ttlDays, 128-bit random serial.
 */
export function signIntermediate(opts: {
  csrPem: string;
  issuerCertPem: string;
  issuerKeyPem: string;
  hosts: string[];
  ttlDays: number;
  now?: Date;
}): string {
  checkTtl(opts.ttlDays);
  const now = checkNow(opts.now);
  const issuer = loadIssuer(opts.issuerCertPem, opts.issuerKeyPem);
  if (issuer.notAfter.getTime() < now.getTime()) {
    throw new PkiError(`issuerCertPem: ${issuer.label} expired at ${issuer.notAfter.toISOString()}`);
  }
  const csr = readCsr(opts.csrPem);
  const hosts = opts.hosts ?? [];
  const emptySubject = csr.subjectDer.length === 2;
  const san = hosts.length > 0 ? subjectAltNameDer(generalNamesDer(hosts), emptySubject) : undefined;
  if (emptySubject && !san) {
    throw new PkiError('hosts: the CSR has an empty subject, so at least one host is needed');
  }
  const extensions = [CA_EXTENSIONS_DER, subjectKeyIdentifierDer(csr.keyId), issuer.aki];
  if (san) extensions.push(san);
  return signTbs(
    {
      serial: randomSerialDer(),
      algAndIssuer: issuer.algAndIssuer,
      validity: validityDer(now, opts.ttlDays),
      subject: csr.subjectDer,
      spki: csr.spkiDer,
      extensions,
    },
    issuer.scheme,
    issuer.key,
  );
}
