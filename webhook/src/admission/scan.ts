// One pass over the raw bytes of a body before JSON.parse builds anything: counts its values and
// the fields of each object, and reads request.uid on the way. JSON.parse is where the cost of a
// hostile body is paid (a 2.8 MB object of 240,000 distinct keys took 0.4-0.6 s and 20 MB to
// parse, a list of 250,000 short strings 0.3 s), so the limits are checked here, in a loop that
// allocates nothing per value and stops at the first limit crossed (or, if the uid has not been
// seen yet, goes on looking for it only).
//
// The scan is not a JSON validator: JSON.parse judges the syntax of a body within the limits. It
// tracks strings (so brackets inside them do not count), containers, and whether a string is a
// key. Bytes, not characters: every structural character is ASCII, and no byte of a UTF-8
// multi-byte sequence is below 0x80.

export interface ScanLimits {
  /** JSON values in the whole body: objects, lists, strings, numbers, true, false, null. */
  maxValues: number;
  /** Fields of any one object. */
  maxFields: number;
  /** request.uid longer than this (in characters) is not read. */
  maxUidLength: number;
}

export interface ScanResult {
  /** The first limit crossed, said as the message of a denial; undefined when within every limit. */
  exceeded?: string;
  /** request.uid, when it was a JSON string at most maxUidLength characters long. */
  uid?: string;
  /** Why request.uid was not read although present (too long, not a string). */
  uidProblem?: string;
  /** The top-level apiVersion and kind were those of an admission.k8s.io/v1 AdmissionReview. */
  isReview: boolean;
  /** Values counted (up to where the scan stopped counting). */
  values: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

const OBJECT = 1;
const ARRAY = 2;

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const K_REQUEST = ascii('request');
const K_UID = ascii('uid');
const K_API_VERSION = ascii('apiVersion');
const K_KIND = ascii('kind');
const V_API_VERSION = ascii('admission.k8s.io/v1');
const V_KIND = ascii('AdmissionReview');

function equals(buf: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[start + i] !== lit[i]) return false;
  return true;
}

/** Index of the closing quote of the string whose opening quote is at `open` (or buf.length). */
function stringEnd(buf: Uint8Array, open: number): number {
  let i = open + 1;
  const n = buf.length;
  while (i < n) {
    const c = buf[i]!;
    if (c === QUOTE) return i;
    i += c === BACKSLASH ? 2 : 1;
  }
  return n;
}

function isDelimiter(c: number): boolean {
  return (
    c === COMMA ||
    c === COLON ||
    c === LBRACE ||
    c === RBRACE ||
    c === LBRACKET ||
    c === RBRACKET ||
    c === QUOTE ||
    c === 0x20 ||
    c === 0x0a ||
    c === 0x0d ||
    c === 0x09
  );
}

/** The path of the container being scanned, from the key offsets kept per level, for a message. */
function pathAt(
  buf: Uint8Array,
  depth: number,
  types: Uint8Array,
  keyStart: Int32Array,
  keyEnd: Int32Array,
  counts: Int32Array,
): string {
  let p = '';
  // Level 1 is the review itself; its keys (request) start the path.
  for (let d = 1; d < depth; d++) {
    if (types[d] === OBJECT) {
      const k =
        keyStart[d]! >= 0
          ? Buffer.from(buf.buffer, buf.byteOffset + keyStart[d]!, Math.min(keyEnd[d]! - keyStart[d]!, 64)).toString(
              'utf8',
            )
          : '?';
      p += /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${p ? '.' : ''}${k}` : `[${k}]`;
    } else {
      p += `[${Math.max(0, counts[d]! - 1)}]`;
    }
    if (p.length > 200) return `${p.slice(0, 200)}...`;
  }
  return p || '<root>';
}

/**
 * Scans `buf` (a whole body, or its first bytes) against `limits`. A truncated body is scanned as
 * far as it goes: whatever was read of the uid before the cut is reported.
 */
export function scanReview(buf: Uint8Array, limits: ScanLimits): ScanResult {
  const n = buf.length;
  let cap = 64;
  let types = new Uint8Array(cap);
  let counts = new Int32Array(cap); // fields of an object, elements of a list, so far
  let keyStart = new Int32Array(cap);
  let keyEnd = new Int32Array(cap);
  let depth = 0; // containers open; types[depth] is the innermost
  let expectKey = false;
  let values = 0;
  let exceeded: string | undefined;
  let uid: string | undefined;
  let uidProblem: string | undefined;
  let uidDone = false; // the uid was read, or can no longer appear (request closed)
  let apiVersionOk = false;
  let kindOk = false;
  // whether the top-level apiVersion and kind were read (they decide whether this is a review)
  let envelopeRead = 0;
  let rootClosed = false;

  const grow = (): void => {
    cap *= 2;
    const t = new Uint8Array(cap);
    t.set(types);
    types = t;
    const c = new Int32Array(cap);
    c.set(counts);
    counts = c;
    const s = new Int32Array(cap);
    s.set(keyStart);
    keyStart = s;
    const e = new Int32Array(cap);
    e.set(keyEnd);
    keyEnd = e;
  };

  /** Whether the value starting now is request.uid, and no uid has been read yet. */
  const atRequestUid = (): boolean =>
    depth === 2 &&
    !uidDone &&
    types[1] === OBJECT &&
    types[2] === OBJECT &&
    equals(buf, keyStart[1]!, keyEnd[1]!, K_REQUEST) &&
    equals(buf, keyStart[2]!, keyEnd[2]!, K_UID);
  /** A request.uid that is an object, a list, a number, true, false or null. */
  const uidNotAString = (): void => {
    if (!atRequestUid()) return;
    uidDone = true;
    uidProblem = 'request.uid: Invalid value: expected a non-empty string';
  };

  // A value starts: count it, and in a list count the element.
  const valueStarts = (): void => {
    if (exceeded !== undefined) return;
    values++;
    if (depth > 0 && types[depth] === ARRAY) counts[depth]!++;
    if (values > limits.maxValues) {
      exceeded = `the review holds more than ${limits.maxValues} JSON values (objects, lists, strings, numbers), more than this webhook judges in one review; no object of these kinds holds that many`;
    }
  };

  let i = 0;
  while (i < n) {
    if (exceeded !== undefined && uidDone && (envelopeRead === 3 || rootClosed)) break;
    const c = buf[i]!;
    switch (c) {
      case QUOTE: {
        const end = stringEnd(buf, i);
        if (depth > 0 && depth < cap && types[depth] === OBJECT && expectKey) {
          // a key
          keyStart[depth] = i + 1;
          keyEnd[depth] = end;
          if (exceeded === undefined && ++counts[depth]! > limits.maxFields) {
            exceeded = `${pathAt(buf, depth, types, keyStart, keyEnd, counts)}: has more than ${limits.maxFields} fields, more than this webhook judges in one object; no object of these kinds has that many`;
          }
        } else {
          valueStarts();
          if (depth === 1 && types[1] === OBJECT) {
            if (equals(buf, keyStart[1]!, keyEnd[1]!, K_API_VERSION)) {
              apiVersionOk = equals(buf, i + 1, end, V_API_VERSION);
              envelopeRead |= 1;
            } else if (equals(buf, keyStart[1]!, keyEnd[1]!, K_KIND)) {
              kindOk = equals(buf, i + 1, end, V_KIND);
              envelopeRead |= 2;
            }
          } else if (atRequestUid()) {
            uidDone = true;
            if (end >= n) uidProblem = 'request.uid: the body ends inside it';
            else if (end - i - 1 > limits.maxUidLength * 4)
              uidProblem = `request.uid: Too long: must have at most ${limits.maxUidLength} characters`;
            else {
              let text: string | undefined;
              const raw = Buffer.from(buf.buffer, buf.byteOffset + i, end + 1 - i);
              try {
                text = JSON.parse(raw.toString('utf8')) as string;
              } catch {
                uidProblem = 'request.uid: Invalid value: not a valid JSON string';
              }
              if (text !== undefined) {
                if (text.length > limits.maxUidLength)
                  uidProblem = `request.uid: Too long: must have at most ${limits.maxUidLength} characters`;
                else if (text === '') uidProblem = 'request.uid: Invalid value: "": expected a non-empty string';
                else uid = text;
              }
            }
          }
        }
        i = end + 1;
        continue;
      }
      case LBRACE:
      case LBRACKET: {
        valueStarts();
        uidNotAString();
        if (++depth >= cap) {
          // Past a limit only the uid is still looked for, at level 2: deeper levels need no
          // record, so a body of a million '[' costs no memory once it has crossed the limit.
          if (exceeded === undefined) grow();
          else {
            expectKey = false;
            i++;
            continue;
          }
        }
        types[depth] = c === LBRACE ? OBJECT : ARRAY;
        counts[depth] = 0;
        keyStart[depth] = -1;
        keyEnd[depth] = -1;
        expectKey = c === LBRACE;
        i++;
        continue;
      }
      case RBRACE:
      case RBRACKET: {
        if (depth === 2 && types[1] === OBJECT && equals(buf, keyStart[1]!, keyEnd[1]!, K_REQUEST)) uidDone = true;
        if (depth > 0) depth--;
        if (depth === 0) {
          uidDone = true;
          rootClosed = true;
        }
        expectKey = false;
        i++;
        continue;
      }
      case COMMA:
        expectKey = depth > 0 && depth < cap && types[depth] === OBJECT;
        i++;
        continue;
      case COLON:
        expectKey = false;
        i++;
        continue;
      case 0x20:
      case 0x0a:
      case 0x0d:
      case 0x09:
        i++;
        continue;
      default: {
        // a number, true, false, null (or garbage, which JSON.parse will name)
        valueStarts();
        uidNotAString();
        i++;
        while (i < n && !isDelimiter(buf[i]!)) i++;
      }
    }
  }
  return { exceeded, uid, uidProblem, isReview: apiVersionOk && kindOk, values };
}
