// PKCS#10 certificate signing requests: building (createCsr), reading and verifying (verifyCsr).
import { createHash, createPublicKey, hash, type KeyObject, sign, verify } from 'node:crypto';
import { ASN1HEX, der, extParamsFromExtensionsHex, nameArray, oidHexToDotted, raw } from './asn1.js';
import { PkiError } from './errors.js';
import { OID, subjectAltNameHex } from './extensions.js';
import {
  describeKeyObject,
  type KeyType,
  privateKeyObject,
  publicKeyFromSpki,
  rsaKeyInSpki,
  signatureSchemeFor,
  VERIFY_ALGORITHMS_BY_HEX,
} from './keys.js';
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
  /** DER (hex) of the subject Name, copied unchanged into certificates. */
  subjectHex: string;
  /** DER (hex) of the SubjectPublicKeyInfo. */
  spkiHex: string;
  criHex: string;
  signatureAlgorithm: string;
  /** The subject Name and SubjectPublicKeyInfo as DER (views into the CSR's DER). */
  subjectDer: Buffer;
  spkiDer: Buffer;
  /** RFC 5280 method (1) key identifier: SHA-1 of the subjectPublicKey bits. */
  keyId: Buffer;
}

/** What verifying a CSR's signature needs of its key: the key (or its DER, for node:crypto to import) and its size. */
interface CsrKey {
  verifyKey: KeyObject | { key: Buffer; format: 'der'; type: 'pkcs1' };
  /** The RSA modulus length in bits; undefined for other key types. */
  rsaBits: number | undefined;
  keyId: Buffer;
}

/**
 * The CSR's public key and key identifier, read in place from the CSR's DER (hex offsets from
 * ASN1HEX halve into byte offsets). RSA keys go to node:crypto as their PKCS#1 bytes (see
 * rsaKeyInSpki), and no KeyObject is kept: an issuer meets a new key with every CSR.
 */
function csrPublicKey(hex: string, derBuf: Buffer, spkiIdx: number, spkiHex: string, what: string): CsrKey {
  const c = ASN1HEX.getChildIdx(hex, spkiIdx);
  if (c.length !== 2 || !hex.startsWith('03', c[1])) throw malformed(what, 'unexpected SubjectPublicKeyInfo');
  const bitsV = ASN1HEX.getVidx(hex, c[1]);
  const bitsEnd = bitsV + ASN1HEX.getVblen(hex, c[1]) * 2;
  const keyId = hash('sha1', derBuf.subarray(bitsV / 2 + 1, bitsEnd / 2), 'buffer');
  const rsa = rsaKeyInSpki(hex, spkiIdx);
  if (rsa) return { verifyKey: { key: derBuf.subarray(rsa.start, rsa.end), format: 'der', type: 'pkcs1' }, rsaBits: rsa.bits, keyId };
  const pub = publicKeyFromSpki(spkiHex, what);
  const rsaBits = pub.asymmetricKeyType === 'rsa' ? (pub.asymmetricKeyDetails?.modulusLength ?? 0) : undefined;
  return { verifyKey: pub, rsaBits, keyId };
}

const CSR_TYPES = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'] as const;

function malformed(what: string, detail: string): PkiError {
  return new PkiError(`${what}: not a valid PKCS#10 certificate request (${detail})`);
}

/** RSA keys below this size are refused: the API allows 2048, 3072 and 4096. */
export const MIN_RSA_BITS = 2048;

/** Parse the CSR's structure with jsrsasign's ASN1HEX and verify its self-signature with node:crypto. */
export function readCsr(csrPem: string, what = 'csrPem', opts: { verifySignature?: boolean } = {}): ParsedCsr {
  const derBuf = pemToDer(csrPem, CSR_TYPES, what);
  try {
    return readCsrDer(derBuf, what, opts.verifySignature !== false);
  } catch (e) {
    // ASN1HEX throws plain Errors (or worse) on truncated or inconsistent DER.
    if (e instanceof PkiError) throw e;
    throw malformed(what, 'malformed DER');
  }
}

function readCsrDer(derBuf: Buffer, what: string, verifySignature: boolean): ParsedCsr {
  const hex = derBuf.toString('hex');
  let top: number[];
  let cri: number[];
  try {
    if (!ASN1HEX.isASN1HEX(hex) || !hex.startsWith('30')) throw malformed(what, 'malformed DER');
    top = ASN1HEX.getChildIdx(hex, 0);
    if (top.length !== 3) throw malformed(what, `expected 3 top-level elements, found ${top.length}`);
    cri = ASN1HEX.getChildIdx(hex, top[0]);
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw malformed(what, 'malformed DER');
  }
  if (!hex.startsWith('30', top[0]) || !hex.startsWith('30', top[1]) || !hex.startsWith('03', top[2])) throw malformed(what, 'unexpected structure');
  if (cri.length < 3 || !hex.startsWith('02', cri[0]) || !hex.startsWith('30', cri[1]) || !hex.startsWith('30', cri[2])) {
    throw malformed(what, 'unexpected CertificationRequestInfo');
  }
  if (ASN1HEX.getV(hex, cri[0]) !== '00') throw malformed(what, 'version is not 1');
  const criHex = ASN1HEX.getTLV(hex, top[0]);
  const algOidIdx = ASN1HEX.getChildIdx(hex, top[1])[0];
  const algOidHex = ASN1HEX.getV(hex, algOidIdx);
  const alg = VERIFY_ALGORITHMS_BY_HEX.get(algOidHex);
  if (!alg) {
    let oid = algOidHex;
    try {
      oid = oidHexToDotted(algOidHex);
    } catch {
      // keep the hex
    }
    throw new PkiError(`${what}: signature algorithm ${oid} is not accepted (use SHA-256 or stronger with RSA, ECDSA or Ed25519)`);
  }
  // Hex offsets from ASN1HEX halve into byte offsets: hand node:crypto views of the DER, no copies.
  const sigV = ASN1HEX.getVidx(hex, top[2]) / 2;
  const sigEnd = (top[2] + ASN1HEX.getTLV(hex, top[2]).length) / 2;
  if (derBuf[sigV] !== 0) throw malformed(what, 'signature BIT STRING has unused bits');
  const spkiHex = ASN1HEX.getTLV(hex, cri[2]);
  const key = csrPublicKey(hex, derBuf, cri[2], spkiHex, what);
  if (key.rsaBits !== undefined && key.rsaBits < MIN_RSA_BITS) {
    throw new PkiError(`${what}: the CSR's RSA key has ${key.rsaBits} bits; at least ${MIN_RSA_BITS} are required`);
  }
  if (verifySignature && !verifies(alg.hash, derBuf.subarray(top[0] / 2, top[0] / 2 + criHex.length / 2), key.verifyKey, derBuf.subarray(sigV + 1, sigEnd))) {
    throw new PkiError(`${what}: the CSR's signature does not verify with its own public key (altered or corrupt)`);
  }
  const subjectHex = ASN1HEX.getTLV(hex, cri[1]);
  return {
    subjectHex,
    spkiHex,
    criHex,
    signatureAlgorithm: alg.name,
    subjectDer: derBuf.subarray(cri[1] / 2, (cri[1] + subjectHex.length) / 2),
    spkiDer: derBuf.subarray(cri[2] / 2, (cri[2] + spkiHex.length) / 2),
    keyId: key.keyId,
  };
}

function verifies(hash: string | null, data: Buffer, key: CsrKey['verifyKey'], signature: Buffer): boolean {
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
  const rdns = nameArray(p.subjectHex);
  const spkiDer = Buffer.from(p.spkiHex, 'hex');
  const pub = publicKeyFromSpki(p.spkiHex, 'csrPem');
  const k = describeKeyObject(pub);
  const sans = requestedSans(p.criHex, 'csrPem');
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
