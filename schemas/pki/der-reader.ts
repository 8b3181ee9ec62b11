// Finding a few fields in DER by their offsets, straight from the bytes. jsrsasign's ASN1HEX does
// the same on a hex copy of the DER, which costs a conversion, a string twice the size and its
// garbage for every CSR an issuer signs; the issuer needs nine TLV headers of each CSR, so it reads
// them here. Decoding values (names, extensions, times) stays with jsrsasign.
//
// Only what DER allows is read: single-octet tags, definite lengths in their shortest form and of
// at most four octets, and every element inside its parent. Anything else throws DerError, which
// callers turn into their own "does not parse" message. The shortest form matters beyond
// pedantry: callers test structure by size (an empty Name is the two bytes 30 00), and a longer
// encoding of the same length must not slip past them.

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
  for (let at = parent.value; at < parent.end; ) {
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
