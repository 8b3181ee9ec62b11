// The requesting user of a review (request.userInfo.username), for the one log line a denial
// gets. The admission code does not keep it (no decision depends on it), so the body is parsed
// again, for denials only: they are rare, and the body passed the size and shape limits
// (admission/scan.ts) before its first parse, so the second costs no more than the first.

/** A username longer than this is cut (Kubernetes sets no limit; OIDC subjects can be long). */
export const MAX_USER_CHARS = 256;

/** request.userInfo.username of the AdmissionReview in `buf`, or undefined when it has none. */
export function reviewUsername(buf: Uint8Array): string | undefined {
  let review: unknown;
  try {
    review = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('utf8'));
  } catch {
    return undefined;
  }
  const name = (review as { request?: { userInfo?: { username?: unknown } } } | null)?.request?.userInfo?.username;
  if (typeof name !== 'string') return undefined;
  return name.length > MAX_USER_CHARS ? `${name.slice(0, MAX_USER_CHARS)}…` : name;
}
