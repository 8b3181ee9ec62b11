// Keys: generation, description, and the signature algorithms we sign and verify with.
// All of it is node:crypto (OpenSSL).
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
} from 'node:crypto';
import { ASN1HEX, der } from './asn1.js';
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

const RSA_ALG_ID_HEX = '300d06092a864886f70d0101010500';

/** Bit length of a DER INTEGER's value (hex offsets into `hex`), ignoring leading zero octets. */
function integerBits(hex: string, idx: number): number {
  let v = ASN1HEX.getVidx(hex, idx);
  let len = ASN1HEX.getVblen(hex, idx);
  while (len > 0 && hex.startsWith('00', v)) {
    v += 2;
    len--;
  }
  return len === 0 ? 0 : (len - 1) * 8 + (32 - Math.clz32(parseInt(hex.slice(v, v + 2), 16)));
}

/**
 * The PKCS#1 RSAPublicKey { modulus, exponent } inside an rsaEncryption SubjectPublicKeyInfo at
 * hex offset `spkiIdx` of `hex`: its byte range in the same DER and the modulus size in bits.
 * Undefined for other keys and for DER of another shape (OpenSSL's SPKI decoder then decides).
 * Keys read this way stay cheap: OpenSSL 3's SPKI decoder costs ~100 us a key, a PKCS#1 import a
 * thirtieth of that, and issuers and the webhook meet a new key with every CSR and certificate.
 */
export function rsaKeyInSpki(hex: string, spkiIdx = 0): { start: number; end: number; bits: number } | undefined {
  try {
    const c = ASN1HEX.getChildIdx(hex, spkiIdx);
    if (c.length !== 2 || !hex.startsWith(RSA_ALG_ID_HEX, c[0]) || !hex.startsWith('03', c[1])) return undefined;
    const bits = ASN1HEX.getVidx(hex, c[1]);
    if (!hex.startsWith('0030', bits)) return undefined;
    const rsa = ASN1HEX.getChildIdx(hex, bits + 2);
    if (rsa.length !== 2 || !hex.startsWith('02', rsa[0]) || !hex.startsWith('02', rsa[1])) return undefined;
    return { start: bits / 2 + 1, end: (bits + ASN1HEX.getVblen(hex, c[1]) * 2) / 2, bits: integerBits(hex, rsa[0]) };
  } catch {
    return undefined;
  }
}

/** The public key of a SubjectPublicKeyInfo (DER as hex); RSA keys through their PKCS#1 bytes. */
export function publicKeyFromSpki(spkiHex: string, what: string): KeyObject {
  const der = Buffer.from(spkiHex, 'hex');
  const rsa = rsaKeyInSpki(spkiHex);
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

const scheme = (hash: string | null, algIdHex: string, name: string): SignatureScheme => ({ hash, algIdHex, algId: Buffer.from(algIdHex, 'hex'), name });
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
export const VERIFY_ALGORITHMS: Record<string, { hash: string | null; name: string }> = {
  '1.2.840.113549.1.1.11': { hash: 'sha256', name: 'sha256WithRSAEncryption' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', name: 'sha384WithRSAEncryption' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', name: 'sha512WithRSAEncryption' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', name: 'ecdsa-with-SHA256' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', name: 'ecdsa-with-SHA384' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', name: 'ecdsa-with-SHA512' },
  '1.3.101.112': { hash: null, name: 'Ed25519' },
};

/** VERIFY_ALGORITHMS by the OID's DER content (hex), to skip OID decoding on the hot path. */
export const VERIFY_ALGORITHMS_BY_HEX: ReadonlyMap<string, { hash: string | null; name: string; oid: string }> = new Map(
  Object.entries(VERIFY_ALGORITHMS).map(([oid, a]) => [der({ oid: { oid } }).slice(4), { ...a, oid }]),
);
