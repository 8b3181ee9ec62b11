// Finding fields in DER by their offsets, straight from the bytes. jsrsasign's ASN1HEX does the
// same on a hex copy of the DER, which costs a conversion, a string twice the size and its garbage
// for every CSR an issuer signs and every certificate the webhook checks; so CSRs and certificates
// are read here, and checked against DER's content rules (checkContent, checkTree). Decoding
// values into text (names, SANs, extensions) stays with jsrsasign.
//
// Only what DER allows is read: single-octet tags, definite lengths in their shortest form and of
// at most four octets, and every element inside its parent. Anything else throws DerError, which
// callers turn into their own "does not parse" message. The shortest form matters beyond
// pedantry: callers test structure by size (an empty Name is the two bytes 30 00), and a longer
// encoding of the same length must not slip past them.

import { isUtf8 } from 'node:buffer';

export class DerError extends Error {
  override name = 'DerError';
}

/** One element: its tag octet and where its header, value and end lie in the buffer. */
export interface Tlv {
  tag: number;
  /** Offset of the tag octet. */
  start: number;
  /** Offset of the first value octet. */
  value: number;
  /** Offset just past the value. */
  end: number;
}

/** The element whose tag octet is at `at`; it must end by `limit`. */
export function tlvAt(der: Uint8Array, at: number, limit: number = der.length): Tlv {
  if (at + 2 > limit) throw new DerError('truncated element');
  const tag = der[at];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-octet tag');
  let len = der[at + 1];
  let value = at + 2;
  if (len & 0x80) {
    const octets = len & 0x7f;
    if (octets === 0) throw new DerError('indefinite length');
    if (octets > 4) throw new DerError('length too large');
    if (value + octets > limit) throw new DerError('truncated length');
    if (der[value] === 0) throw new DerError('length not in its shortest form');
    len = 0;
    for (let i = 0; i < octets; i++) len = len * 256 + der[value + i];
    if (len < 0x80) throw new DerError('length not in its shortest form');
    value += octets;
  }
  const end = value + len;
  if (end > limit) throw new DerError('element runs past its parent');
  return { tag, start: at, value, end };
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
export function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('primitive element has no children');
  const out: Tlv[] = [];
  for (let at = parent.value; at < parent.end;) {
    const child = tlvAt(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** The single element that makes up the whole of `der`. */
export function topLevel(der: Uint8Array): Tlv {
  const top = tlvAt(der, 0);
  if (top.end !== der.length) throw new DerError('trailing bytes after the element');
  return top;
}

/** Bit length of a DER INTEGER's value, ignoring leading zero octets (0 for zero). */
export function integerBits(der: Uint8Array, int: Tlv): number {
  let v = int.value;
  while (v < int.end && der[v] === 0) v++;
  return v === int.end ? 0 : (int.end - v - 1) * 8 + (32 - Math.clz32(der[v]));
}

/** True when the bytes at `at` equal `expected`. */
export function bytesAt(der: Uint8Array, at: number, expected: Uint8Array): boolean {
  if (at < 0 || at + expected.length > der.length) return false;
  for (let i = 0; i < expected.length; i++) if (der[at + i] !== expected[i]) return false;
  return true;
}

/**
 * The content rules DER (X.690 8 and 10) and OpenSSL's decoder lay on primitive universal types,
 * for elements whose type a parser checks: BOOLEAN of one octet, INTEGER and ENUMERATED in their
 * shortest form, BIT STRING with at most 7 unused bits, NULL empty, OBJECT IDENTIFIER with every
 * arc complete and minimal, UTF8String that is UTF-8, BMPString and UniversalString of whole
 * characters that are Unicode scalar values; never the end-of-contents tag 0, and no constructed
 * form but SEQUENCE's and SET's. Other tags pass.
 */
export function checkContent(der: Uint8Array, t: Tlv): void {
  const len = t.end - t.value;
  const first = der[t.value];
  // Universal types other than SEQUENCE and SET are primitive in DER (X.690 10.2).
  if ((t.tag & 0xe0) === 0x20 && t.tag !== 0x30 && t.tag !== 0x31)
    throw new DerError('constructed encoding of a primitive type');
  switch (t.tag) {
    case 0x00:
      throw new DerError('end-of-contents marker outside an indefinite length');
    case 0x01:
      if (len !== 1) throw new DerError('BOOLEAN of the wrong length');
      return;
    case 0x02:
    case 0x0a:
      if (len === 0) throw new DerError('empty INTEGER');
      if (
        len > 1 &&
        ((first === 0 && (der[t.value + 1] & 0x80) === 0) || (first === 0xff && (der[t.value + 1] & 0x80) !== 0))
      ) {
        throw new DerError('INTEGER not in its shortest form');
      }
      return;
    case 0x03:
      if (len === 0 || first > 7 || (len === 1 && first !== 0))
        throw new DerError('BIT STRING with a bad unused-bits count');
      return;
    case 0x05:
      if (len !== 0) throw new DerError('NULL with content');
      return;
    case 0x06:
      if (len === 0 || (der[t.end - 1] & 0x80) !== 0) throw new DerError('incomplete OBJECT IDENTIFIER');
      for (let i = t.value; i < t.end; i++) {
        // 0x80 opening an arc is a leading zero: not the shortest form.
        if (der[i] === 0x80 && (i === t.value || (der[i - 1] & 0x80) === 0))
          throw new DerError('OBJECT IDENTIFIER arc not in its shortest form');
      }
      return;
    case 0x0c:
      if (!isUtf8(der.subarray(t.value, t.end))) throw new DerError('UTF8String that is not UTF-8');
      return;
    case 0x1e:
    case 0x1c: {
      // UCS-2 and UCS-4, big-endian: whole characters, each a Unicode scalar value.
      const width = t.tag === 0x1e ? 2 : 4;
      if (len % width !== 0)
        throw new DerError('BMPString or UniversalString of a length that is not whole characters');
      for (let i = t.value; i < t.end; i += width) {
        let c = 0;
        for (let j = 0; j < width; j++) c = c * 256 + der[i + j];
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
          throw new DerError('BMPString or UniversalString holding a value that is not a character');
      }
      return;
    }
    default:
  }
}

/**
 * A whole element checked down to its leaves: constructed elements must hold well-formed children,
 * universal primitives must follow checkContent. For values whose type we do not decode here
 * (extension values), so that "parses" still means every byte is DER.
 */
export function checkTree(der: Uint8Array, t: Tlv, depth = 0): void {
  if (depth > 32) throw new DerError('nested too deeply');
  if ((t.tag & 0x20) !== 0) {
    if ((t.tag & 0xc0) === 0) checkContent(der, t);
    for (const c of childrenOf(der, t)) checkTree(der, c, depth + 1);
  } else if ((t.tag & 0xc0) === 0) {
    checkContent(der, t);
  }
}
