// The requesting user of a review (request.userInfo.username), for the one log line a denial
// gets. The admission code does not keep it (no decision depends on it), and parsing a denied
// body again costs what the first parse cost: for the large objects the attack suite sends, it
// raised the webhook's peak memory by a third. So it is read from the body's first bytes instead.
// kube-apiserver writes an AdmissionRequest's fields in the Go struct's order (uid, kind,
// resource, subResource, requestKind, requestResource, requestSubResource, name, namespace,
// operation, userInfo, object, oldObject, dryRun, options), and UserInfo's username first: the
// first `"userInfo":` of the body is the request's, within a few hundred bytes, before any object.
// A `"userInfo":` inside a string cannot match (its quotes are escaped there); a userInfo that an
// object carries comes after the request's own.

/** A username longer than this is cut (Kubernetes sets no limit; OIDC subjects can be long). */
export const MAX_USER_CHARS = 256;

/** How far into the body userInfo is looked for: the fields before it are a few hundred bytes. */
export const USER_SCAN_BYTES = 8192;

const USERNAME = /"userInfo"\s*:\s*\{\s*"username"\s*:\s*("(?:[^"\\]|\\.)*")/y;

/** request.userInfo.username of the AdmissionReview in `buf`, or undefined when it has none there. */
export function reviewUsername(buf: Uint8Array): string | undefined {
  const head = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.length, USER_SCAN_BYTES)).toString('utf8');
  USERNAME.lastIndex = head.indexOf('"userInfo"');
  if (USERNAME.lastIndex < 0) return undefined;
  const m = USERNAME.exec(head);
  if (!m) return undefined;
  let name: unknown;
  try {
    name = JSON.parse(m[1]!);
  } catch {
    return undefined;
  }
  if (typeof name !== 'string') return undefined;
  return name.length > MAX_USER_CHARS ? `${name.slice(0, MAX_USER_CHARS)}…` : name;
}
