// Validating admission: the schema, the update rules against oldObject, warnings for deprecated
// fields and out-of-policy values (never denials: Gloo Mesh writes them, and retries a denied
// write for ever), and the one-active-rotation-per-VirtualMesh rule. Pure: the rotation list
// comes in through a tiny interface, so tests feed it directly.
import {
  activeRotationConflicts,
  deprecationWarnings,
  formatFieldError,
  isObject,
  policyWarnings,
  validateUpdate,
  type CertificateRotation,
  type FieldError,
  type KindInfo,
} from '#schemas/src/index.js';
import { validateObjectBounded } from '#schemas/src/validator.js';
import { clip, MAX_CAUSES, MAX_ECHO_CHARS, MAX_LINE_CHARS, MAX_WARNING_CHARS, MAX_WARNINGS } from './limits.js';
import type { ParsedRequest } from './review.js';
import type { Decision, ReviewResult, Status } from './types.js';

/** The CertificateRotations the cluster holds, as the cache last saw them. */
export interface RotationLister {
  list(): readonly unknown[];
  synced(): boolean;
  /** Why the list cannot be trusted (not listed yet, the watch lost too long), or undefined. */
  notReady?(): string | undefined;
  /** Whether it has been listed once (so that being untrusted means out of date). */
  listed?(): boolean;
}

export interface ValidateContext {
  /** Absent when no cluster is configured: the active-rotation rule is then not enforced. */
  rotations?: RotationLister;
}

export interface ValidateOutcome {
  decision: Decision;
  result: ReviewResult;
}

// One offending value must not turn a denial into megabytes, nor many into a long list: the
// apiserver relays the message to the client and into events. The first MAX_CAUSES causes are
// listed, each line cut at MAX_LINE_CHARS, and the message says how many more there were.

const CAUSE_REASONS: Record<FieldError['type'], string> = {
  Invalid: 'FieldValueInvalid',
  Required: 'FieldValueRequired',
  Unsupported: 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  TooLong: 'FieldValueTooLong',
  Duplicate: 'FieldValueDuplicate',
};

function metaOf(obj: unknown): { name?: string; namespace?: string } {
  const m = isObject(obj) && isObject(obj.metadata) ? obj.metadata : {};
  return {
    name: typeof m.name === 'string' ? m.name : undefined,
    namespace: typeof m.namespace === 'string' ? m.namespace : undefined,
  };
}

/** What was left out of a denial: errors not listed, and whether the search stopped at the first. */
export interface Omitted {
  more: number;
  /** The object was too large to look for every schema error: only the first was sought. */
  firstOnly?: boolean;
}

/**
 * The apiserver's own shape: `Kind.group "name" is invalid: a` or `...: [a, b]`; past MAX_CAUSES
 * errors, `...: [a, ..., t] (and 17 more errors)`.
 */
export function denial(
  info: KindInfo,
  name: string,
  errors: readonly FieldError[],
  omitted: Omitted = { more: 0 },
): Status {
  const forbidden = errors.some((e) => e.forbidden === true);
  const shown = errors.length > MAX_CAUSES ? errors.slice(0, MAX_CAUSES) : errors;
  const more = omitted.more + (errors.length - shown.length);
  const lines = shown.map((e) => clip(formatFieldError(e), MAX_LINE_CHARS));
  const aggregate = lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`;
  const tail = [
    more > 0 ? `and ${more} more error${more === 1 ? '' : 's'} not listed` : '',
    omitted.firstOnly ? 'the object is too large for every schema error to be sought: only the first is reported' : '',
  ].filter(Boolean);
  const shownName = clip(name);
  return {
    status: 'Failure',
    code: forbidden ? 403 : 422,
    reason: forbidden ? 'Forbidden' : 'Invalid',
    message: `${info.kind}.${info.group} ${JSON.stringify(shownName)} is ${forbidden ? 'forbidden' : 'invalid'}: ${aggregate}${tail.length ? ` (${tail.join('; ')})` : ''}`,
    details: {
      group: info.group,
      kind: info.kind,
      name: shownName,
      causes: shown.map((e, i) => {
        const line = lines[i] as string;
        return {
          reason: CAUSE_REASONS[e.type] ?? 'FieldValueInvalid',
          field: clip(e.path, MAX_ECHO_CHARS),
          message: line.startsWith(`${e.path}: `) ? line.slice(e.path.length + 2) : line,
        };
      }),
    },
  };
}

function boundedWarnings(warnings: readonly string[]): string[] {
  const out = warnings.slice(0, MAX_WARNINGS).map((w) => clip(w, MAX_WARNING_CHARS));
  if (warnings.length > MAX_WARNINGS) out.push(`and ${warnings.length - MAX_WARNINGS} more warnings not listed`);
  return out;
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.type}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function validateReview(req: ParsedRequest, ctx: ValidateContext): ValidateOutcome {
  if (req.operation === 'DELETE' || req.operation === 'CONNECT')
    return { decision: { allowed: true }, result: 'allowed' };
  const obj = req.object;
  const isStatus = req.subResource === 'status';
  const meta = metaOf(obj);
  const name = req.name || meta.name || '';

  // A status write is judged on status alone (below): give the schema only status, so that an
  // object too large for every error to be sought cannot hide a status error behind a spec one.
  const judged =
    isStatus && isObject(obj)
      ? { apiVersion: obj.apiVersion, kind: obj.kind, ...(obj.status !== undefined ? { status: obj.status } : {}) }
      : obj;
  const schema = validateObjectBounded(judged, 4 * MAX_CAUSES);
  let errors: FieldError[] = schema.errors;
  if (req.operation === 'UPDATE')
    errors.push(...validateUpdate(req.oldObject, obj, isStatus ? { subResource: 'status' } : undefined));
  let warnings: readonly string[] = [];
  if (isStatus) {
    // A status write cannot change spec or metadata (the apiserver keeps the stored ones), so a
    // problem there predates this write and was judged when it was written; blocking the status
    // writer for it would only stall the controller.
    errors = errors.filter((e) => e.path === 'status' || e.path.startsWith('status.') || e.path.startsWith('status['));
  } else {
    const deprecated = deprecationWarnings(obj);
    const policy = policyWarnings(req.info.kind, obj);
    warnings = policy.length === 0 ? deprecated : [...deprecated, ...policy];
  }

  if (req.info.kind === 'CertificateRotation' && ctx.rotations) {
    if (!ctx.rotations.synced() && !isStatus) {
      // Before the first list, or after it with the watch lost too long (the list may miss a
      // rotation created meanwhile); the reason follows, clipped (it may carry the API server's
      // message, such as a refused permission).
      const why = ctx.rotations.notReady?.();
      const reason = why ? ` (${clip(why, 300)})` : '';
      const cannot = ctx.rotations.listed?.()
        ? `the webhook's list of CertificateRotations is out of date${reason}`
        : `the webhook has not finished listing CertificateRotations yet${reason}`;
      return {
        decision: {
          allowed: false,
          status: {
            status: 'Failure',
            code: 503,
            reason: 'ServiceUnavailable',
            message: `${req.info.kind}.${req.info.group} ${JSON.stringify(clip(name))}: ${cannot}, so it cannot check that only one is active per VirtualMesh; retry in a few seconds`,
          },
        },
        result: 'denied',
      };
    }
    const namespace = req.namespace || meta.namespace;
    const others = ctx.rotations.list().filter((r) => {
      const m = metaOf(r);
      return !(m.name === name && m.namespace === namespace);
    });
    errors.push(...activeRotationConflicts(obj, others as readonly CertificateRotation[]));
  }

  if (errors.length > 1) errors = dedupe(errors);
  const omitted: Omitted = { more: schema.more, firstOnly: !schema.complete };
  const decision: Decision =
    errors.length === 0 ? { allowed: true } : { allowed: false, status: denial(req.info, name, errors, omitted) };
  if (warnings.length > 0) decision.warnings = boundedWarnings(warnings);
  return { decision, result: errors.length === 0 ? 'allowed' : 'denied' };
}
