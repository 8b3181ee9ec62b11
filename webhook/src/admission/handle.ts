// Review in, response out: the whole admission decision for one HTTP body, with no Fastify in
// sight. The route handler only moves bytes and records metrics.
import { mutateReview } from './mutate.js';
import { admissionReviewJson, badRequestDecision, parseBody, parseReview, reviewResponse, type ParsedRequest } from './review.js';
import type { AdmissionReviewResponse, ReviewResult, Status } from './types.js';
import { validateReview, type ValidateContext } from './validate.js';

export type Endpoint = 'mutate' | 'validate';

export interface Handled {
  httpStatus: 200 | 400;
  body: AdmissionReviewResponse | Status & { kind: 'Status'; apiVersion: 'v1' };
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

/** The HTTP body to send for `h`. */
export function handledJson(h: Handled): string {
  return h.body.kind === 'AdmissionReview' ? admissionReviewJson(h.body) : JSON.stringify(h.body);
}

export function handleReviewBody(endpoint: Endpoint, text: string, ctx: ValidateContext): Handled {
  const body = parseBody(text);
  if (!body.ok) return httpBadRequest(body.message);
  return handleReview(endpoint, body.value, ctx);
}

// Built field by field rather than by spreading a shared base: this runs on every review and V8
// makes a spread of eight fields a slow, dictionary-mode copy.
function handledReview(req: ParsedRequest, body: Handled['body'], result: ReviewResult, code: number | undefined, problem: string | undefined): Handled {
  return {
    httpStatus: 200,
    body,
    result,
    kind: req.info.kind,
    operation: req.operation,
    uid: req.uid,
    namespace: req.namespace,
    name: req.name,
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
              message: `${req.info.kind}.${req.info.group} ${JSON.stringify(req.name ?? '')}: the mesh-cert webhook could not evaluate this object (${detail.slice(0, 300)})`,
            },
          };
    return handledReview(req, reviewResponse(req.uid, decision), 'error', decision.status?.code, detail.slice(0, 500));
  }
}
