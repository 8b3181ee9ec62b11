// The X.509 v3 extensions mesh-cert writes, as DER (hex). The constant ones are built once.
import { hash } from 'node:crypto';
import { ASN1HEX, der, derTlv, extensionsHex, raw } from './asn1.js';

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

// jsrsasign encodes a dotted OID through BigInteger arithmetic; our handful of OIDs are encoded once.
const oidTlvs = new Map<string, string>();
const CRITICAL_TRUE = der({ bool: true });

/** One Extension SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING }. */
export function extensionHex(oid: string, critical: boolean, valueHex: string): string {
  let oidTlv = oidTlvs.get(oid);
  if (oidTlv === undefined) oidTlvs.set(oid, (oidTlv = der({ oid: { oid } })));
  return der({ seq: [raw(critical ? oidTlv + CRITICAL_TRUE : oidTlv), { octstr: { hex: valueHex } }] });
}

// A CA without a path length limit (Gloo Mesh's intermediates may sign further CAs), and the key
// usages Istio's CA and openssl expect of a CA: keyCertSign, cRLSign, digitalSignature; both critical.
// Built through jsrsasign's extension classes, once.
const caExtensionsHex = extensionsHex([
  { extname: 'basicConstraints', cA: true, critical: true },
  { extname: 'keyUsage', critical: true, names: ['digitalSignature', 'keyCertSign', 'cRLSign'] },
]);
/** basicConstraints + keyUsage as concatenated Extension TLVs (the SEQUENCE header stripped). */
export const CA_EXTENSIONS_TLVS = stripSeqHeader(caExtensionsHex);
export const CA_EXTENSIONS_DER = Buffer.from(CA_EXTENSIONS_TLVS, 'hex');

/** The TLVs of a SEQUENCE's content (drops the tag and length). */
export function stripSeqHeader(seqHex: string): string {
  const lenByte = parseInt(seqHex.slice(2, 4), 16);
  const headerBytes = lenByte < 0x80 ? 2 : 2 + (lenByte & 0x7f);
  return seqHex.slice(headerBytes * 2);
}

export function subjectKeyIdentifierHex(keyId: string): string {
  // SHA-1 key identifiers are always 20 bytes, so the TLV around them is a constant (built once).
  if (keyId.length === 40) return SKI_PREFIX + keyId;
  return extensionHex(OID.subjectKeyIdentifier, false, der({ octstr: { hex: keyId } }));
}
const SKI_PREFIX = extensionHex(OID.subjectKeyIdentifier, false, der({ octstr: { hex: '00'.repeat(20) } })).slice(
  0,
  -40,
);
const SKI_PREFIX_DER = Buffer.from(SKI_PREFIX, 'hex');

/** The SubjectKeyIdentifier extension as DER for a 20-byte SHA-1 key identifier. */
export function subjectKeyIdentifierDer(keyId: Buffer): Buffer {
  if (keyId.length !== 20) return Buffer.from(subjectKeyIdentifierHex(keyId.toString('hex')), 'hex');
  return Buffer.concat([SKI_PREFIX_DER, keyId], SKI_PREFIX_DER.length + 20);
}

/** AuthorityKeyIdentifier with keyIdentifier [0] only. */
export function authorityKeyIdentifierHex(keyId: string): string {
  return extensionHex(
    OID.authorityKeyIdentifier,
    false,
    der({ seq: [{ tag: { tag: '80', explicit: false, obj: { octstr: { hex: keyId } } } }] }),
  );
}

/** SubjectAltName; RFC 5280 wants it critical when the subject is empty. */
export function subjectAltNameHex(generalNamesHex: string, critical: boolean): string {
  return extensionHex(OID.subjectAltName, critical, generalNamesHex);
}

const SAN_OID_DER = Buffer.from(der({ oid: { oid: OID.subjectAltName } }), 'hex');
const CRITICAL_TRUE_DER = Buffer.from(CRITICAL_TRUE, 'hex');

/** subjectAltNameHex as DER, around GeneralNames already DER: the signing hot path. */
export function subjectAltNameDer(generalNames: Buffer, critical: boolean): Buffer {
  const value = derTlv(0x04, [generalNames]);
  return derTlv(0x30, critical ? [SAN_OID_DER, CRITICAL_TRUE_DER, value] : [SAN_OID_DER, value]);
}

/**
 * RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bytes, given without
 * the unused-bits octet. The one definition of our key identifiers, for certificates and CSRs.
 */
export function keyIdentifier(subjectPublicKey: Uint8Array): Buffer {
  return hash('sha1', subjectPublicKey, 'buffer');
}

/** keyIdentifier of the key in a SubjectPublicKeyInfo (DER as hex), as hex. */
export function keyIdentifierOfSpki(spkiHex: string): string {
  const c = ASN1HEX.getChildIdx(spkiHex, 0);
  const bits = ASN1HEX.getV(spkiHex, c[1]);
  return keyIdentifier(Buffer.from(bits.slice(2), 'hex')).toString('hex');
}
