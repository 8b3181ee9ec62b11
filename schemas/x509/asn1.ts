// The one place that talks to jsrsasign. jsrsasign gives us ASN.1 DER building and parsing and
// the X.509 / PKCS#10 structure; every signature, verification and key goes through node:crypto
// (OpenSSL) instead, because jsrsasign's pure-JS RSA is 30-1000x slower.
//
// @types/jsrsasign lags the library (v10 vs v11) and types the JSON parameter objects loosely,
// so this module declares the small subset we use and casts once, keeping `any` out of the rest.
import jsrsasign from 'jsrsasign';

/** A jsrsasign ASN.1 object: all we need is its DER as hex. */
export interface Asn1Object {
  tohex(): string;
}

/** jsrsasign's JSON form of an ASN.1 value (KJUR.asn1.ASN1Util.newObject). */
export type Asn1Json =
  | Asn1Object
  | { seq: Asn1Json[] }
  | { set: Asn1Json[] }
  | { int: { hex: string } | number }
  | { oid: { oid: string } }
  | { octstr: { hex: string } }
  | { bitstr: { hex: string } }
  | { bool: boolean }
  | { null: '' }
  | { utf8str: { str: string } }
  | { utctime: { str: string } }
  | { gentime: { str: string } }
  | { tag: { tag: string; explicit: boolean; obj: Asn1Json } }
  | { asn1: { tlv: string } };

/** One GeneralName in jsrsasign's parameter form. */
export type GeneralNameParam = { dns: string } | { ip: string } | { uri: string } | { rfc822: string };

/** Extension parameters as jsrsasign's KJUR.asn1.x509.Extensions accepts and X509#getExtParamArray returns. */
export interface ExtParam {
  extname: string;
  critical?: boolean;
  // basicConstraints
  cA?: boolean;
  pathLen?: number;
  // keyUsage
  names?: string[];
  // subject/authority key identifier
  kid?: { hex: string };
  // subjectAltName
  array?: Array<Record<string, unknown>>;
  // unknown extensions
  extn?: unknown;
}

export interface RdnAttr {
  type: string;
  value: string;
  ds?: string;
}

interface X509Parsed {
  readCertHex(hex: string): void;
  getSubject(): { str: string; array: RdnAttr[][] };
  getIssuer(): { str: string; array: RdnAttr[][] };
  getSubjectHex(): string;
  getIssuerHex(): string;
  getPublicKeyHex(): string;
  getSerialNumberHex(): string;
  getNotBefore(): string;
  getNotAfter(): string;
  getSignatureAlgorithmField(): string;
  getVersion(): number;
  getExtParamArray(): ExtParam[];
  getX500NameArray(hex: string): RdnAttr[][];
  aExtInfo?: unknown[];
}

interface Asn1HexApi {
  getChildIdx(hex: string, idx: number): number[];
  getTLV(hex: string, idx: number): string;
  getV(hex: string, idx: number): string;
  getVidx(hex: string, idx: number): number;
  getVblen(hex: string, idx: number): number;
  isASN1HEX(hex: string): boolean;
}

interface JsrsasignApi {
  KJUR: {
    asn1: {
      ASN1Util: { newObject(p: Asn1Json): Asn1Object; oidHexToInt(hex: string): string };
      x509: {
        GeneralName: new (p: GeneralNameParam) => Asn1Object;
        X500Name: new (p: { array: RdnAttr[][] }) => Asn1Object;
        Extensions: new (p: ExtParam[]) => Asn1Object;
        OID: { oid2name(oid: string): string };
      };
    };
  };
  ASN1HEX: Asn1HexApi;
  X509: new () => X509Parsed;
  zulutodate(s: string): Date;
}

const jsr = jsrsasign as unknown as JsrsasignApi;
const A = jsr.KJUR.asn1;

// ASN1HEX.getVblen parses every DER length through a BigInteger, which made it the largest
// jsrsasign cost when reading CSRs and certificates. Lengths fit in a double (DER lengths here are
// at most 4 octets), so parseInt gives the same value; same contract: -1 when there is no length.
{
  const h = jsr.ASN1HEX as Asn1HexApi & {
    getL(hex: string, idx: number): string;
    getVblen(hex: string, idx: number): number;
  };
  h.getVblen = (hex: string, idx: number): number => {
    const l = h.getL(hex, idx);
    if (l === '') return -1;
    return parseInt(l.startsWith('8') ? l.slice(2) : l, 16) | 0;
  };
}

// Decoding an OID went through BigInteger too (jsrsasign builds a binary string per arc and
// converts it): a quarter of reading a certificate, and most of its garbage, since every name
// attribute and extension carries one. Arcs below 2^53 are plain numbers; anything else (odd
// input, larger arcs) still goes to jsrsasign's own code, so the answers are its answers:
// test/pki/asn1.test.ts compares both on random OIDs.
type OidDecoder = (hex: string) => string;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

function fastOidDecoder(original: OidDecoder): OidDecoder {
  return (hex: string): string => {
    if (typeof hex !== 'string' || !HEX.test(hex)) return original(hex);
    const first = parseInt(hex.slice(0, 2), 16);
    let out = `${Math.floor(first / 40)}.${first % 40}`;
    let arc = 0;
    for (let i = 2; i < hex.length; i += 2) {
      const b = parseInt(hex.slice(i, i + 2), 16);
      arc = arc * 128 + (b & 0x7f);
      if (arc > Number.MAX_SAFE_INTEGER) return original(hex);
      if ((b & 0x80) === 0) {
        out += `.${arc}`;
        arc = 0;
      }
    }
    return out;
  };
}

const asn1hexOids = jsr.ASN1HEX as unknown as { hextooidstr: OidDecoder };
const originalOidDecoders = { oidHexToInt: A.ASN1Util.oidHexToInt as OidDecoder, hextooidstr: asn1hexOids.hextooidstr };
const fastOidDecoders = {
  oidHexToInt: fastOidDecoder(originalOidDecoders.oidHexToInt),
  hextooidstr: fastOidDecoder(originalOidDecoders.hextooidstr),
};
A.ASN1Util.oidHexToInt = fastOidDecoders.oidHexToInt;
asn1hexOids.hextooidstr = fastOidDecoders.hextooidstr;

/** For test/pki: jsrsasign's own OID decoders and ours, to compare. */
export const oidDecodersForTest = { original: originalOidDecoders, fast: fastOidDecoders };

export const ASN1HEX = jsr.ASN1HEX;

export function der(json: Asn1Json): string {
  return A.ASN1Util.newObject(json).tohex();
}

/**
 * A DER TLV around content we already hold as DER: the tag byte, the definite length, the parts.
 * Only the signing hot path uses it, to splice jsrsasign-built pieces (names, extensions, the
 * templates below) without a hex round trip per certificate; test/pki checks it against jsrsasign.
 */
export function derTlv(tag: number, parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  if (len >= 0x1000000) throw new Error('derTlv: content too long');
  const headLen = len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : 5;
  // One allocation per TLV: this runs several times for every certificate signed.
  const out = Buffer.allocUnsafe(headLen + len);
  out[0] = tag;
  if (headLen === 2) out[1] = len;
  else {
    out[1] = 0x80 | (headLen - 2);
    for (let i = headLen - 1, v = len; i >= 2; i--, v >>= 8) out[i] = v & 0xff;
  }
  let at = headLen;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Wrap DER we already hold (as hex) so it can sit inside a structure unchanged. */
export function raw(tlvHex: string): Asn1Json {
  return { asn1: { tlv: tlvHex } };
}

export function generalNameHex(name: GeneralNameParam): string {
  return new A.x509.GeneralName(name).tohex();
}

export function x500NameHex(rdns: RdnAttr[][]): string {
  return new A.x509.X500Name({ array: rdns }).tohex();
}

/** DER of the `Extensions` SEQUENCE for the given parameters. */
export function extensionsHex(exts: ExtParam[]): string {
  return new A.x509.Extensions(exts).tohex();
}

export function oidHexToDotted(hex: string): string {
  return A.ASN1Util.oidHexToInt(hex);
}

export function oidName(oid: string): string {
  return A.x509.OID.oid2name(oid) || oid;
}

export function parseX509Hex(hex: string): X509Parsed {
  const x = new jsr.X509();
  x.readCertHex(hex);
  return x;
}

/** X.500 Name DER (hex) to its attributes, in order. */
export function nameArray(nameHex: string): RdnAttr[][] {
  return new jsr.X509().getX500NameArray(nameHex);
}

/** The Extensions of a CertificationRequest's extensionRequest, via jsrsasign's extension parsers. */
export function extParamsFromExtensionsHex(extsHex: string): ExtParam[] {
  const x = new jsr.X509() as X509Parsed & { getExtParamArray(h?: string): ExtParam[] };
  return x.getExtParamArray(extsHex);
}
