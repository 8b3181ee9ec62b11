// Review in, response out: the whole admission decision for one HTTP body, with no Fastify in
// sight. The route handler only moves bytes and records metrics.
import {
  clip,
  MAX_BODY_BYTES,
  MAX_FIELDS,
  MAX_LINE_CHARS,
  MAX_REPLY_BYTES,
  MAX_UID_CHARS,
  MAX_VALUES,
} from './limits.js';
import { mutateReview } from './mutate.js';
import {
  admissionReviewJson,
  badRequestDecision,
  parseBody,
  parseReview,
  reviewResponse,
  type ParsedRequest,
} from './review.js';
import { scanReview, type ScanLimits } from './scan.js';
import type { AdmissionReviewResponse, Decision, ReviewResult, Status } from './types.js';
import { validateReview, type ValidateContext } from './validate.js';

export const SCAN_LIMITS: ScanLimits = { maxValues: MAX_VALUES, maxFields: MAX_FIELDS, maxUidLength: MAX_UID_CHARS };

/**
 * Bodies up to this size are not scanned: whatever their shape, JSON.parse builds them in a few
 * milliseconds (64 KiB holds at most some 10,000 fields), and every review the apiserver sends
 * is far smaller (5-20 KB), so they do not pay for the scan (about 5 ns a byte).
 */
export const SCAN_FROM_BYTES = 64 * 1024;

export type Endpoint = 'mutate' | 'validate';

export interface Handled {
  httpStatus: 200 | 400 | 429;
  body: AdmissionReviewResponse | (Status & { kind: 'Status'; apiVersion: 'v1' });
  result: ReviewResult;
  /** Labels and log fields: bounded values only (known kinds and operations), never the object. */
  kind: string;
  operation: string;
  uid?: string;
  namespace?: string;
  name?: string;
  subResource?: string;
  dryRun?: boolean;
  code?: number;
  /** Internal problems worth a log line (a withheld patch, an exception). */
  problem?: string;
  /** Why a review was turned away unjudged (overload). */
  reason?: string;
}

function httpBadRequest(message: string): Handled {
  return {
    httpStatus: 400,
    body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message },
    result: 'malformed',
    kind: 'unknown',
    operation: 'unknown',
  };
}

/**
 * The answer to a review that arrived past the in-flight budgets (body.ts), from its first bytes.
 * With a uid to echo, an AdmissionReview: on /validate a denial with code 429 and a retry delay,
 * which the apiserver hands to its client as 429 Too Many Requests with Retry-After, so client-go
 * (kubectl, controllers) retries by itself; on /mutate an allowance without a patch, which is
 * what the mutating webhook's failurePolicy Ignore would make of a failed call, only sooner.
 * Without a uid (not the apiserver, which writes it first), HTTP 429.
 */
export function handleOverload(endpoint: Endpoint, prefix: Uint8Array, why: string): Handled {
  const scan = scanReview(prefix, SCAN_LIMITS);
  const message = `the mesh-cert webhook is busy: ${why}; retry in a second`;
  if (scan.isReview && scan.uid !== undefined) {
    const decision: Decision =
      endpoint === 'mutate'
        ? {
            allowed: true,
            warnings: [
              `${message}: deprecated fields were not mapped this time (the validating webhook still judges this write)`,
            ],
          }
        : {
            allowed: false,
            status: {
              status: 'Failure',
              code: 429,
              reason: 'TooManyRequests',
              message,
              details: { retryAfterSeconds: 1 },
            },
          };
    return {
      httpStatus: 200,
      body: reviewResponse(scan.uid, decision),
      result: 'overloaded',
      kind: 'unknown',
      operation: 'unknown',
      uid: scan.uid,
      code: decision.status?.code,
      reason: why,
    };
  }
  return {
    httpStatus: 429,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 429,
      reason: 'TooManyRequests',
      message: `${message} (and no request.uid in the first ${prefix.length} bytes to answer with)`,
    },
    result: 'overloaded',
    kind: 'unknown',
    operation: 'unknown',
    reason: why,
  };
}

/**
 * The HTTP body to send for `h`: at most MAX_REPLY_BYTES. Every part of an answer is bounded
 * where it is built; should one still come out larger, a short answer with the same uid and the
 * same verdict replaces it (and `h` is updated to match, for the log line).
 */
export function handledJson(h: Handled): string {
  const text = h.body.kind === 'AdmissionReview' ? admissionReviewJson(h.body) : JSON.stringify(h.body);
  if (text.length * 3 <= MAX_REPLY_BYTES || Buffer.byteLength(text) <= MAX_REPLY_BYTES) return text;
  const size = Buffer.byteLength(text);
  h.problem = `the answer came to ${size} bytes, over the ${MAX_REPLY_BYTES} byte limit: sent a short one instead`;
  if (h.body.kind !== 'AdmissionReview') {
    h.body = { ...h.body, message: clip(h.body.message, MAX_LINE_CHARS) };
    return JSON.stringify(h.body);
  }
  const r = h.body.response;
  const decision: Decision = r.allowed
    ? // a patch that makes the answer too long is dropped: the object passes unpatched, as with failurePolicy Ignore
      { allowed: true, warnings: [`the mesh-cert webhook withheld its answer's details: it came to ${size} bytes`] }
    : {
        allowed: false,
        status: {
          status: 'Failure',
          code: r.status?.code ?? 400,
          reason: r.status?.reason ?? 'BadRequest',
          message: `${clip(r.status?.message ?? 'denied', 4 * MAX_LINE_CHARS)} (the full answer came to ${size} bytes and was cut)`,
        },
      };
  h.body = reviewResponse(r.uid, decision);
  return admissionReviewJson(h.body);
}

function isBlank(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

/**
 * One body in, one answer out. The raw bytes are scanned first (scan.ts): a body over a limit is
 * answered without being parsed, with a denial that echoes its uid when the scan could read it.
 */
export function handleReviewBody(endpoint: Endpoint, body: string | Uint8Array, ctx: ValidateContext): Handled {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  if (buf.length > MAX_BODY_BYTES)
    return httpBadRequest(`request body is larger than the ${MAX_BODY_BYTES} byte (3 MiB) limit`);
  if (buf.length > SCAN_FROM_BYTES && !isBlank(buf)) {
    const scan = scanReview(buf, SCAN_LIMITS);
    if (scan.exceeded !== undefined) {
      if (scan.isReview && scan.uid !== undefined) {
        return {
          httpStatus: 200,
          body: reviewResponse(scan.uid, {
            allowed: false,
            status: {
              status: 'Failure',
              code: 413,
              reason: 'RequestEntityTooLarge',
              message: `the mesh-cert webhook did not judge this object: ${scan.exceeded}`,
            },
          }),
          result: 'malformed',
          kind: 'unknown',
          operation: 'unknown',
          uid: scan.uid,
          code: 413,
        };
      }
      return httpBadRequest(
        `request body not judged: ${scan.exceeded}${scan.uidProblem ? ` (and ${scan.uidProblem})` : scan.isReview ? ' (and no request.uid to answer)' : ' (and not an admission.k8s.io/v1 AdmissionReview)'}`,
      );
    }
  }
  const text = typeof body === 'string' ? body : Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('utf8');
  const parsed = parseBody(text);
  if (!parsed.ok) return httpBadRequest(parsed.message);
  return handleReview(endpoint, parsed.value, ctx);
}

// Built field by field rather than by spreading a shared base: this runs on every review and V8
// makes a spread of eight fields a slow, dictionary-mode copy.
function handledReview(
  req: ParsedRequest,
  body: Handled['body'],
  result: ReviewResult,
  code: number | undefined,
  problem: string | undefined,
): Handled {
  return {
    httpStatus: 200,
    body,
    result,
    kind: req.info.kind,
    operation: req.operation,
    uid: req.uid,
    namespace: req.namespace === undefined ? undefined : clip(req.namespace),
    name: req.name === undefined ? undefined : clip(req.name),
    subResource: req.subResource,
    dryRun: req.dryRun,
    code,
    problem,
  };
}

export function handleReview(endpoint: Endpoint, value: unknown, ctx: ValidateContext): Handled {
  const parsed = parseReview(value);
  if (parsed.outcome === 'not-a-review') return httpBadRequest(parsed.message);
  if (parsed.outcome === 'malformed') {
    return {
      httpStatus: 200,
      body: reviewResponse(parsed.uid, badRequestDecision(parsed.message)),
      result: 'malformed',
      kind: parsed.kind ?? 'unknown',
      operation: parsed.operation ?? 'unknown',
      uid: parsed.uid,
      code: 400,
    };
  }
  const req = parsed.request;
  try {
    if (endpoint === 'mutate') {
      const out = mutateReview(req);
      return handledReview(req, reviewResponse(req.uid, out.decision), out.result, undefined, out.withheld);
    }
    const out = validateReview(req, ctx);
    return handledReview(req, reviewResponse(req.uid, out.decision), out.result, out.decision.status?.code, undefined);
  } catch (err) {
    // A bug or an object deep enough to overflow the stack: fail closed on validate, and on mutate
    // let the object through unpatched (validation still judges it).
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const decision =
      endpoint === 'mutate'
        ? { allowed: true }
        : {
            allowed: false,
            status: {
              status: 'Failure' as const,
              code: 500,
              reason: 'InternalError',
              message: `${req.info.kind}.${req.info.group} ${JSON.stringify(clip(req.name ?? ''))}: the mesh-cert webhook could not evaluate this object (${detail.slice(0, 300)})`,
            },
          };
    return handledReview(req, reviewResponse(req.uid, decision), 'error', decision.status?.code, detail.slice(0, 500));
  }
}
