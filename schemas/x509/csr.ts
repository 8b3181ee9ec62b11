// PKCS#10 certificate signing requests: building (createCsr), reading and verifying (verifyCsr).
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { ASN1HEX, der, extParamsFromExtensionsHex, nameArray, oidHexToDotted, raw } from './asn1.js';
import { PkiError } from './errors.js';
import { keyIdentifier, OID, subjectAltNameHex } from './extensions.js';
import {
  describeKeyObject,
  type KeyType,
  privateKeyObject,
  publicKeyFromSpki,
  rsaKeyInSpki,
  signatureSchemeFor,
  VERIFY_ALGORITHMS_BY_HEX,
  type VerifyAlgorithm,
  verifyRsaPkcs1,
} from './keys.js';
import { childrenOf, DerError, topLevel } from './der-reader.js';
import {
  classifyHosts,
  type DistinguishedName,
  dnFromArray,
  dnText,
  generalNamesForHosts,
  type SanEntry,
  sanEntriesFromParams,
  type SubjectInput,
  subjectNameHex,
} from './names.js';
import { pemToDer, toPem } from './pem.js';

export interface CsrInfo {
  subject: DistinguishedName;
  /** "O=gloo-mesh, OU=cluster-1" */
  subjectText: string;
  /** The SANs the CSR requests (extensionRequest), in order. */
  sans: SanEntry[];
  /** The same as host strings (what an IssuedCertificate's `hosts` would hold). */
  hosts: string[];
  keyType: KeyType;
  keyBits: number;
  publicKeyPem: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex: equal for a CSR and the certificate signed for it. */
  spkiSha256: string;
  signatureAlgorithm: string;
}

/** Build a PKCS#10 CSR for `privateKeyPem`: subject O/OU/CN, SANs from `hosts` in an extensionRequest. */
export function createCsr(opts: { privateKeyPem: string; subject: SubjectInput; hosts: string[] }): string {
  const key = privateKeyObject(opts.privateKeyPem, 'privateKeyPem');
  const scheme = signatureSchemeFor(key, 'privateKeyPem');
  const spkiHex = createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('hex');
  const subjectHex = subjectNameHex(opts.subject ?? {});
  const hosts = opts.hosts ?? [];
  const attributes: Parameters<typeof der>[0][] = [];
  if (hosts.length > 0) {
    const san = subjectAltNameHex(generalNamesForHosts(hosts), subjectHex === '3000');
    attributes.push({ seq: [{ oid: { oid: OID.extensionRequest } }, { set: [{ seq: [raw(san)] }] }] });
  }
  const criHex = der({
    seq: [{ int: 0 }, raw(subjectHex), raw(spkiHex), { tag: { tag: 'a0', explicit: false, obj: { set: attributes } } }],
  });
  const cri = Buffer.from(criHex, 'hex');
  const sig = sign(scheme.hash, cri, key);
  const csrHex = der({ seq: [raw(criHex), raw(scheme.algIdHex), { bitstr: { hex: '00' + sig.toString('hex') } }] });
  return toPem('CERTIFICATE REQUEST', Buffer.from(csrHex, 'hex'));
}

/** The parts of a CSR that signing needs, its signature checked. */
export interface ParsedCsr {
  signatureAlgorithm: string;
  /** The CertificationRequestInfo, subject Name and SubjectPublicKeyInfo DER: views into the CSR's DER. */
  criDer: Buffer;
  subjectDer: Buffer;
  spkiDer: Buffer;
  /** RFC 5280 method (1) key identifier: SHA-1 of the subjectPublicKey bits. */
  keyId: Buffer;
}

const CSR_TYPES = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'] as const;

function malformed(what: string, detail: string, input?: string): PkiError {
  return new PkiError(`${what}: not a valid PKCS#10 certificate request (${detail})`, { input });
}

/** RSA keys below this size are refused: the API allows 2048, 3072 and 4096. */
export const MIN_RSA_BITS = 2048;

/** Parse the CSR's structure and verify its self-signature with node:crypto. */
export function readCsr(csrPem: string, what = 'csrPem', opts: { verifySignature?: boolean } = {}): ParsedCsr {
  try {
    return readCsrDer(pemToDer(csrPem, CSR_TYPES, what), what, opts.verifySignature !== false);
  } catch (e) {
    // Every problem found here is the CSR's: callers map it to their own field by `input`.
    if (e instanceof DerError) throw malformed(what, `malformed DER: ${e.message}`, what);
    if (e instanceof PkiError) throw e.input === what ? e : new PkiError(e.message, { input: what });
    throw e;
  }
}

/**
 * CertificationRequest ::= SEQUENCE { CertificationRequestInfo, AlgorithmIdentifier, BIT STRING }
 * CertificationRequestInfo ::= SEQUENCE { version 0, subject Name, SubjectPublicKeyInfo, [0] attributes }
 * Read in place (der-reader): every field signing needs is a view into the CSR's DER.
 */
function readCsrDer(der: Buffer, what: string, verifySignature: boolean): ParsedCsr {
  const top = topLevel(der);
  if (top.tag !== 0x30) throw malformed(what, 'malformed DER');
  const parts = childrenOf(der, top);
  if (parts.length !== 3) throw malformed(what, `expected 3 top-level elements, found ${parts.length}`);
  const [criTlv, algTlv, sigTlv] = parts;
  if (criTlv.tag !== 0x30 || algTlv.tag !== 0x30 || sigTlv.tag !== 0x03) throw malformed(what, 'unexpected structure');
  const cri = childrenOf(der, criTlv);
  if (cri.length < 3 || cri[0].tag !== 0x02 || cri[1].tag !== 0x30 || cri[2].tag !== 0x30) {
    throw malformed(what, 'unexpected CertificationRequestInfo');
  }
  if (cri[0].end - cri[0].value !== 1 || der[cri[0].value] !== 0) throw malformed(what, 'version is not 1');
  const algOid = childrenOf(der, algTlv)[0];
  const algOidHex = algOid?.tag === 0x06 ? der.toString('hex', algOid.value, algOid.end) : '';
  const alg = VERIFY_ALGORITHMS_BY_HEX.get(algOidHex);
  if (!alg) {
    let oid = algOidHex || 'of unknown form';
    try {
      if (algOidHex) oid = oidHexToDotted(algOidHex);
    } catch {
      // keep the hex
    }
    throw new PkiError(
      `${what}: signature algorithm ${oid} is not accepted (use SHA-256 or stronger with RSA, ECDSA or Ed25519)`,
    );
  }
  if (sigTlv.end === sigTlv.value || der[sigTlv.value] !== 0)
    throw malformed(what, 'signature BIT STRING has unused bits');
  const spki = cri[2];
  const spkiParts = childrenOf(der, spki);
  if (spkiParts.length !== 2 || spkiParts[1].tag !== 0x03 || spkiParts[1].end === spkiParts[1].value) {
    throw malformed(what, 'unexpected SubjectPublicKeyInfo');
  }
  const keyId = keyIdentifier(der.subarray(spkiParts[1].value + 1, spkiParts[1].end));
  const spkiDer = der.subarray(spki.start, spki.end);
  const criDer = der.subarray(criTlv.start, criTlv.end);
  const signature = der.subarray(sigTlv.value + 1, sigTlv.end);
  // RSA keys go to OpenSSL as their PKCS#1 bytes and no KeyObject is kept: an issuer meets a
  // new key with every CSR (see rsaKeyInSpki and verifyRsaPkcs1).
  const rsa = rsaKeyInSpki(der, spki.start);
  if (rsa) {
    checkRsaKey(what, rsa.bits, rsa.exponentUsable, alg);
    if (verifySignature && !verifyRsaPkcs1(alg.hash, criDer, der.subarray(rsa.start, rsa.end), rsa.bits, signature))
      throw badSignature(what);
  } else {
    const pub = publicKeyFromSpki(spkiDer, what);
    // An RSA key in another encoding of its SPKI is still an RSA key; others sign only with their own algorithms.
    const family = pub.asymmetricKeyType;
    if (family === 'rsa') {
      const e = pub.asymmetricKeyDetails?.publicExponent ?? 0n;
      checkRsaKey(what, pub.asymmetricKeyDetails?.modulusLength ?? 0, e >= 3n && e % 2n === 1n, alg);
    } else if (family === 'ec' || family === 'ed25519') {
      if (alg.family !== family) throw mismatch(what, alg.name, family === 'ec' ? 'EC' : 'Ed25519');
    } else {
      throw new PkiError(`${what}: the CSR's ${family ?? 'unknown'} key is not accepted (use RSA, ECDSA or Ed25519)`);
    }
    if (verifySignature && !verifies(alg.hash, criDer, pub, signature)) throw badSignature(what);
  }
  return { signatureAlgorithm: alg.name, criDer, subjectDer: der.subarray(cri[1].start, cri[1].end), spkiDer, keyId };
}

/** What an RSA key of a CSR must be, however its SubjectPublicKeyInfo was read. */
function checkRsaKey(
  what: string,
  bits: number,
  exponentUsable: boolean,
  alg: VerifyAlgorithm,
): asserts alg is VerifyAlgorithm & { hash: string; family: 'rsa' } {
  if (bits < MIN_RSA_BITS)
    throw new PkiError(`${what}: the CSR's RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
  if (!exponentUsable) throw new PkiError(`${what}: the CSR's RSA key has a public exponent that is even or below 3`);
  if (alg.family !== 'rsa' || !alg.hash) throw mismatch(what, alg.name, 'RSA');
}

function mismatch(what: string, algorithm: string, keyType: string): PkiError {
  return new PkiError(`${what}: the CSR is signed with ${algorithm}, which its ${keyType} key does not use`);
}

function badSignature(what: string): PkiError {
  return new PkiError(`${what}: the CSR's signature does not verify with its own public key (altered or corrupt)`);
}

function verifies(hash: string | null, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/** The SANs of the CSR's extensionRequest attribute. */
function requestedSans(criHex: string, what: string): SanEntry[] {
  const cri = ASN1HEX.getChildIdx(criHex, 0);
  const attrsIdx = cri[3];
  if (attrsIdx === undefined || criHex.slice(attrsIdx, attrsIdx + 2) !== 'a0') return [];
  try {
    for (const a of ASN1HEX.getChildIdx(criHex, attrsIdx)) {
      const parts = ASN1HEX.getChildIdx(criHex, a);
      if (oidHexToDotted(ASN1HEX.getV(criHex, parts[0])) !== OID.extensionRequest) continue;
      const values = ASN1HEX.getChildIdx(criHex, parts[1]);
      const extsHex = ASN1HEX.getTLV(criHex, values[0]);
      const san = extParamsFromExtensionsHex(extsHex).find((e) => e.extname === 'subjectAltName');
      return sanEntriesFromParams(san?.array);
    }
  } catch {
    throw malformed(what, 'unreadable extensionRequest');
  }
  return [];
}

/** Parse and verify a CSR; throws PkiError if it does not parse or its signature is bad. */
export function verifyCsr(csrPem: string): CsrInfo {
  const p = readCsr(csrPem);
  const rdns = nameArray(p.subjectDer.toString('hex'));
  const spkiDer = p.spkiDer;
  const pub = publicKeyFromSpki(spkiDer, 'csrPem');
  const k = describeKeyObject(pub);
  const sans = requestedSans(p.criDer.toString('hex'), 'csrPem');
  return {
    subject: dnFromArray(rdns),
    subjectText: dnText(rdns),
    sans,
    hosts: sans.map((s) => s.value),
    keyType: k.type,
    keyBits: k.bits,
    publicKeyPem: toPem('PUBLIC KEY', spkiDer),
    spkiSha256: createHash('sha256').update(spkiDer).digest('hex'),
    signatureAlgorithm: p.signatureAlgorithm,
  };
}

/** Check `hosts` the way createCsr and signIntermediate will (throws PkiError naming the bad entry). */
export function validateHosts(hosts: string[], what = 'hosts'): SanEntry[] {
  return classifyHosts(hosts, what);
}
