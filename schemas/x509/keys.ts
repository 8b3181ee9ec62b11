// Keys: generation, description, and the signature algorithms we sign and verify with.
// All of it is node:crypto (OpenSSL).
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  hash as hashOnce,
  type KeyObject,
  publicDecrypt,
  type PublicKeyInput,
  type RsaPublicKey,
} from 'node:crypto';
import { der } from './asn1.js';
import { bytesAt, childrenOf, DerError, integerBits, type Tlv, tlvAt } from './der-reader.js';
import { PkiError } from './errors.js';

export type RsaKeyBits = 2048 | 3072 | 4096;
export const RSA_KEY_SIZES: readonly RsaKeyBits[] = [2048, 3072, 4096];

/** A fresh RSA key pair (e = 65537) as PKCS#8 / SPKI PEM, generated off the main thread by OpenSSL. */
export function generateRsaKey(bits: RsaKeyBits): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  if (!RSA_KEY_SIZES.includes(bits)) {
    return Promise.reject(new PkiError(`bits: expected one of ${RSA_KEY_SIZES.join(', ')}, got ${String(bits)}`));
  }
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        publicExponent: 0x10001,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, publicKeyPem, privateKeyPem) => {
        if (err) reject(new PkiError(`RSA-${bits} key generation failed: ${err.message}`));
        else resolve({ privateKeyPem, publicKeyPem });
      },
    );
  });
}

export type KeyType = 'RSA' | 'EC' | 'Ed25519' | 'Ed448' | 'RSA-PSS' | 'DSA' | 'unknown';

export interface KeyDescription {
  type: KeyType;
  /** Modulus length for RSA, field size for EC (256 for P-256), 256/456 for Ed25519/Ed448. */
  bits: number;
  /** The named curve of an EC key (NIST name, e.g. "P-256"). */
  curve?: string;
}

const CURVE_BITS: Record<string, { bits: number; name: string }> = {
  prime256v1: { bits: 256, name: 'P-256' },
  secp384r1: { bits: 384, name: 'P-384' },
  secp521r1: { bits: 521, name: 'P-521' },
  secp256k1: { bits: 256, name: 'secp256k1' },
};

export function describeKeyObject(k: KeyObject): KeyDescription {
  const d = k.asymmetricKeyDetails ?? {};
  switch (k.asymmetricKeyType) {
    case 'rsa':
      return { type: 'RSA', bits: d.modulusLength ?? 0 };
    case 'rsa-pss':
      return { type: 'RSA-PSS', bits: d.modulusLength ?? 0 };
    case 'dsa':
      return { type: 'DSA', bits: d.modulusLength ?? 0 };
    case 'ec': {
      const c = CURVE_BITS[d.namedCurve ?? ''];
      return { type: 'EC', bits: c?.bits ?? 0, curve: c?.name ?? d.namedCurve };
    }
    case 'ed25519':
      return { type: 'Ed25519', bits: 256 };
    case 'ed448':
      return { type: 'Ed448', bits: 456 };
    default:
      return { type: 'unknown', bits: 0 };
  }
}

/** Type and size of a private key (PKCS#8, PKCS#1 or SEC1 PEM). */
export function describeKey(privateKeyPem: string): KeyDescription {
  return describeKeyObject(privateKeyObject(privateKeyPem, 'privateKeyPem'));
}

// Parsing a PEM private key costs about as much as verifying a signature; issuers sign many
// certificates with one key, so keep a few parsed keys. Keys stay in this process only.
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 32;

/** The parsed private key; `what` names the input in errors (never the key itself). */
export function privateKeyObject(pem: string, what: string): KeyObject {
  const hit = keyCache.get(pem);
  if (hit) return hit;
  if (typeof pem !== 'string' || !/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) {
    throw new PkiError(`${what}: no PEM private key found`);
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new PkiError(`${what}: the private key is encrypted; give it unencrypted`);
  }
  let k: KeyObject;
  try {
    k = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // OpenSSL's message says nothing useful and must not be echoed with the input.
    throw new PkiError(`${what}: the private key does not parse`);
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(pem, k);
  return k;
}

const RSA_ALG_ID = Buffer.from('300d06092a864886f70d0101010500', 'hex');

/**
 * The PKCS#1 RSAPublicKey { modulus, exponent } inside an rsaEncryption SubjectPublicKeyInfo that
 * starts at byte `spkiStart` of `der`: its byte range in the same DER and the modulus size in bits.
 * Undefined for other keys and for DER of another shape (OpenSSL's SPKI decoder then decides).
 * Keys read this way stay cheap: OpenSSL 3's SPKI decoder costs ~100 us a key, a PKCS#1 import a
 * thirtieth of that, and issuers and the webhook meet a new key with every CSR and certificate.
 */
export function rsaKeyInSpki(
  der: Uint8Array,
  spkiStart = 0,
): { start: number; end: number; bits: number; exponentUsable: boolean } | undefined {
  try {
    const c = childrenOf(der, tlvAt(der, spkiStart));
    if (c.length !== 2 || !bytesAt(der, c[0].start, RSA_ALG_ID) || c[1].tag !== 0x03) return undefined;
    // Only the plain shape is ours to read (whole octets, the key filling the BIT STRING); any
    // other goes to OpenSSL's SPKI decoder, which knows every rule about it.
    if (der[c[1].value] !== 0 || der[c[1].value + 1] !== 0x30) return undefined;
    const seq = tlvAt(der, c[1].value + 1, c[1].end);
    if (seq.end !== c[1].end) return undefined;
    const rsa = childrenOf(der, seq);
    if (rsa.length !== 2 || rsa[0].tag !== 0x02 || rsa[1].tag !== 0x02) return undefined;
    return {
      start: seq.start,
      end: seq.end,
      bits: integerBits(der, rsa[0]),
      exponentUsable: exponentUsable(der, rsa[1]),
    };
  } catch (e) {
    if (e instanceof DerError) return undefined;
    throw e;
  }
}

/**
 * An RSA public exponent that makes signatures mean something: odd and at least 3. With e = 1 the
 * "signature" is the padded digest itself, which anyone can write, and OpenSSL's verify accepts it.
 */
function exponentUsable(der: Uint8Array, e: Tlv): boolean {
  const bits = integerBits(der, e);
  if (bits === 0 || (der[e.end - 1] & 1) === 0) return false;
  return bits > 1 && (der[e.value] & 0x80) === 0;
}

/** The public key of a SubjectPublicKeyInfo (DER); RSA keys through their PKCS#1 bytes. */
export function publicKeyFromSpki(der: Buffer, what: string): KeyObject {
  const rsa = rsaKeyInSpki(der);
  if (rsa) {
    try {
      return createPublicKey({ key: der.subarray(rsa.start, rsa.end), format: 'der', type: 'pkcs1' });
    } catch {
      // the DER decoder below gives the verdict
    }
  }
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    throw new PkiError(`${what}: the public key does not parse`);
  }
}

/** How a key signs an X.509 structure: node's digest name and the AlgorithmIdentifier DER. */
export interface SignatureScheme {
  /** Digest for crypto.sign/verify; null for EdDSA. */
  hash: string | null;
  /** DER (hex) of the AlgorithmIdentifier SEQUENCE. */
  algIdHex: string;
  /** The same as bytes. */
  algId: Buffer;
  name: string;
}

const scheme = (hash: string | null, algIdHex: string, name: string): SignatureScheme => ({
  hash,
  algIdHex,
  algId: Buffer.from(algIdHex, 'hex'),
  name,
});
const SCHEMES = {
  rsaSha256: scheme('sha256', '300d06092a864886f70d01010b0500', 'sha256WithRSAEncryption'),
  ecdsaSha256: scheme('sha256', '300a06082a8648ce3d040302', 'ecdsa-with-SHA256'),
  ecdsaSha384: scheme('sha384', '300a06082a8648ce3d040303', 'ecdsa-with-SHA384'),
  ecdsaSha512: scheme('sha512', '300a06082a8648ce3d040304', 'ecdsa-with-SHA512'),
  ed25519: scheme(null, '300506032b6570', 'Ed25519'),
};

/** The scheme we sign with for a key: sha256WithRSAEncryption for RSA (as the API requires). */
export function signatureSchemeFor(k: KeyObject, what: string): SignatureScheme {
  const t = k.asymmetricKeyType;
  if (t === 'rsa') return SCHEMES.rsaSha256;
  if (t === 'ec') {
    const c = k.asymmetricKeyDetails?.namedCurve;
    if (c === 'secp384r1') return SCHEMES.ecdsaSha384;
    if (c === 'secp521r1') return SCHEMES.ecdsaSha512;
    return SCHEMES.ecdsaSha256;
  }
  if (t === 'ed25519') return SCHEMES.ed25519;
  throw new PkiError(`${what}: ${t ?? 'unknown'} keys cannot sign here; use RSA (or EC)`);
}

/** Signature algorithm OIDs we accept on CSRs, with their digests. SHA-1 is refused. */
/** The key family an algorithm signs with, in node's asymmetricKeyType names (RSA: PKCS#1 v1.5). */
export type KeyFamily = 'rsa' | 'ec' | 'ed25519';
export interface VerifyAlgorithm {
  hash: string | null;
  name: string;
  family: KeyFamily;
}
export const VERIFY_ALGORITHMS: Record<string, VerifyAlgorithm> = {
  '1.2.840.113549.1.1.11': { hash: 'sha256', name: 'sha256WithRSAEncryption', family: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', name: 'sha384WithRSAEncryption', family: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', name: 'sha512WithRSAEncryption', family: 'rsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', name: 'ecdsa-with-SHA256', family: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', name: 'ecdsa-with-SHA384', family: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', name: 'ecdsa-with-SHA512', family: 'ec' },
  '1.3.101.112': { hash: null, name: 'Ed25519', family: 'ed25519' },
};

// RFC 8017 9.2 note 1: the DigestInfo DER that precedes the digest, per hash.
const DIGEST_INFO_PREFIX: ReadonlyMap<string, Buffer> = new Map([
  ['sha256', Buffer.from('3031300d060960864801650304020105000420', 'hex')],
  ['sha384', Buffer.from('3041300d060960864801650304020205000430', 'hex')],
  ['sha512', Buffer.from('3051300d060960864801650304020305000440', 'hex')],
]);

/** publicDecrypt's options for a PKCS#1 DER key: it takes the key's import options beside the padding, which @types/node does not list. */
function pkcs1DecryptKey(pkcs1: Buffer): RsaPublicKey {
  const key: PublicKeyInput & { key: Buffer; padding: number } = {
    key: pkcs1,
    format: 'der',
    type: 'pkcs1',
    padding: constants.RSA_PKCS1_PADDING,
  };
  return key as unknown as RsaPublicKey;
}

/**
 * RSASSA-PKCS1-v1_5 verification (RFC 8017 8.2.2) with a public key given as PKCS#1 DER, for a key
 * met once: OpenSSL does the RSA operation and checks the padding, and the recovered DigestInfo is
 * compared with the one we encode, the comparison the RFC prescribes (and OpenSSL's RSA_verify
 * makes). For a new key it costs a sixth less than crypto.verify, which sets up an EVP
 * digest-verify context first; an issuer meets a new key with every CSR.
 */
export function verifyRsaPkcs1(
  hash: string,
  data: Uint8Array,
  pkcs1: Buffer,
  modulusBits: number,
  signature: Uint8Array,
): boolean {
  const prefix = DIGEST_INFO_PREFIX.get(hash);
  // RSA_verify, too, refuses a signature that is not exactly as long as the modulus.
  if (!prefix || signature.length !== Math.ceil(modulusBits / 8)) return false;
  let recovered: Buffer;
  try {
    recovered = publicDecrypt(pkcs1DecryptKey(pkcs1), signature);
  } catch {
    return false;
  }
  const digest = hashOnce(hash, data, 'buffer');
  return (
    recovered.length === prefix.length + digest.length &&
    recovered.subarray(0, prefix.length).equals(prefix) &&
    recovered.subarray(prefix.length).equals(digest)
  );
}

/** VERIFY_ALGORITHMS by the OID's DER content (hex), to skip OID decoding on the hot path. */
export const VERIFY_ALGORITHMS_BY_HEX: ReadonlyMap<string, VerifyAlgorithm & { oid: string }> = new Map(
  Object.entries(VERIFY_ALGORITHMS).map(([oid, a]) => [der({ oid: { oid } }).slice(4), { ...a, oid }]),
);
