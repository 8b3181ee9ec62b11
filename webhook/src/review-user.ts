// The requesting user of a review (request.userInfo.username), read from the raw body for the
// one log line a denial gets. The admission code does not keep it (no decision depends on it),
// and a denial is rare enough that one more pass over its bytes costs nothing that matters. The
// pass follows the JSON structure, so an object that carries a `userInfo` field of its own cannot
// stand in for the apiserver's; kube-apiserver writes userInfo before the object, so the pass
// usually ends within the first few hundred bytes.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** The keys from the review down to the username, one per level of object. */
const PATH = ['request', 'userInfo', 'username'].map((k) => Buffer.from(k, 'latin1'));
/** A username longer than this is cut (Kubernetes sets no limit; OIDC subjects can be long). */
export const MAX_USER_CHARS = 256;

function keyIs(buf: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[start + i] !== lit[i]) return false;
  return true;
}

/** request.userInfo.username of the AdmissionReview in `buf`, or undefined when it has none. */
export function reviewUsername(buf: Uint8Array): string | undefined {
  // Per level (1 = the review): whether it is an object, and whether the key being read at that
  // level is the one PATH names; a level deeper than PATH is only counted.
  const isObject: boolean[] = [false];
  const onPath: boolean[] = [true];
  let depth = 0;
  let expectKey = false;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      let end = i + 1;
      while (end < n && buf[end] !== QUOTE) end += buf[end] === BACKSLASH ? 2 : 1;
      if (isObject[depth] && expectKey) {
        onPath[depth] = depth <= PATH.length && onPath[depth - 1]! && keyIs(buf, i + 1, end, PATH[depth - 1]!);
      } else if (depth === PATH.length && isObject[depth] && onPath[depth]) {
        try {
          const name = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + i, end + 1 - i).toString('utf8')) as string;
          return name.length > MAX_USER_CHARS ? `${name.slice(0, MAX_USER_CHARS)}…` : name;
        } catch {
          return undefined;
        }
      }
      i = end;
    } else if (c === LBRACE || c === LBRACKET) {
      depth++;
      isObject[depth] = c === LBRACE;
      onPath[depth] = false;
      expectKey = c === LBRACE;
    } else if (c === RBRACE || c === RBRACKET) {
      // leaving request.userInfo (or the request) without a username: there is none
      if (depth >= 2 && depth <= PATH.length && onPath[depth - 1]) return undefined;
      depth--;
      expectKey = false;
      if (depth < 0) return undefined;
    } else if (c === COMMA) {
      expectKey = isObject[depth] === true;
    } else if (c === COLON) {
      expectKey = false;
    }
  }
  return undefined;
}
