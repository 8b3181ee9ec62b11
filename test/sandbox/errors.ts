// Errors as kube-apiserver reports them: a metav1.Status body with its reason, code and message.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    if (!this.reason) delete s.reason;
    return s;
  }
}

/** The resource as kube names it in messages: "secrets" for core, "issuedcertificates.certificates.mesh.gloo.solo.io" otherwise. */
export interface QualifiedResource {
  group: string;
  plural: string;
}
export function qualified(r: QualifiedResource): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

export function notFound(r: QualifiedResource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, {
    name,
    group: r.group || undefined,
    kind: r.plural,
  });
}
export function alreadyExists(r: QualifiedResource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, {
    name,
    group: r.group || undefined,
    kind: r.plural,
  });
}
export function conflict(
  r: QualifiedResource,
  name: string,
  why = 'the object has been modified; please apply your changes to the latest version and try again',
): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group || undefined,
    kind: r.plural,
  });
}

export interface FieldProblem {
  type:
    | 'Invalid'
    | 'Required'
    | 'Unsupported'
    | 'Forbidden'
    | 'TooLong'
    | 'TooMany'
    | 'Duplicate'
    | 'NotSupported'
    | 'TypeInvalid';
  field: string;
  value?: unknown;
  detail?: string;
}

const causeReason: Record<FieldProblem['type'], string> = {
  Invalid: 'FieldValueInvalid',
  Required: 'FieldValueRequired',
  Unsupported: 'FieldValueNotSupported',
  NotSupported: 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  TooLong: 'FieldValueTooLong',
  TooMany: 'FieldValueTooMany',
  Duplicate: 'FieldValueDuplicate',
  TypeInvalid: 'FieldValueTypeInvalid',
};

function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  // Go's json.Marshal escapes <, > and & (and U+2028/U+2029)
  if (typeof v === 'object')
    return JSON.stringify(v).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  return String(v);
}

const TYPE_TEXT: Record<FieldProblem['type'], string> = {
  Required: 'Required value',
  Forbidden: 'Forbidden',
  TooLong: 'Too long',
  Invalid: 'Invalid value',
  TypeInvalid: 'Invalid value',
  Unsupported: 'Unsupported value',
  NotSupported: 'Unsupported value',
  Duplicate: 'Duplicate value',
  TooMany: 'Too many',
};

/**
 * field.Error.ErrorBody() of k8s.io/apimachinery: "Invalid value: \"x\": detail" (strings quoted,
 * other values as JSON); Required, Forbidden and TooLong carry no value, nor does a problem
 * whose value is left undefined.
 */
export function problemBody(p: FieldProblem): string {
  let s = TYPE_TEXT[p.type];
  if (!['Required', 'Forbidden', 'TooLong'].includes(p.type) && p.value !== undefined) s += `: ${goValue(p.value)}`;
  if (p.detail) s += `: ${p.detail}`;
  return s;
}
export function problemString(p: FieldProblem): string {
  return `${p.field}: ${problemBody(p)}`;
}

/** 422 Invalid: `Kind.group "name" is invalid: [a, b]` as NewInvalid builds it (the message lists each distinct error once). */
export function invalid(kind: string, group: string, name: string, problems: FieldProblem[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const list = [...new Set(problems.map(problemString))];
  const msg = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${msg}`, {
    name,
    group: group || undefined,
    kind,
    causes: problems.map((p) => ({ reason: causeReason[p.type], message: problemBody(p), field: p.field })),
  });
}

export const badRequest = (msg: string): ApiError => new ApiError(400, 'BadRequest', msg);

/**
 * The sandbox's plain refusal of what it does not serve (rather than approximating it): 501,
 * reason NotImplemented, message "the sandbox does not serve <what>". test/conformance counts an
 * answer like this as refused, never as a silent divergence.
 */
export const notServed = (what: string): ApiError =>
  new ApiError(501, 'NotImplemented', `the sandbox does not serve ${what}`);

/** 403 Forbidden as admission and storage say it: `<resource> "name" is forbidden: why`. */
export function forbidden(r: QualifiedResource, name: string, why: string, causes?: StatusCause[]): ApiError {
  return new ApiError(403, 'Forbidden', `${qualified(r)} "${name}" is forbidden: ${why}`, {
    name,
    group: r.group || undefined,
    kind: r.plural,
    ...(causes ? { causes } : {}),
  });
}
export const methodNotAllowed = (): ApiError =>
  new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
export const notFoundPath = (): ApiError =>
  new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized', 'Unauthorized');
export const internal = (msg: string): ApiError =>
  new ApiError(500, 'InternalError', `Internal error occurred: ${msg}`, { causes: [{ message: msg }] });
export const tooManyRequests = (retryAfter = 1): ApiError =>
  new ApiError(
    429,
    'TooManyRequests',
    'Too many requests, please try again later.',
    { retryAfterSeconds: retryAfter },
    { 'Retry-After': String(retryAfter) },
  );
export const expired = (msg: string): ApiError => new ApiError(410, 'Expired', msg);
export const unsupportedMediaType = (type: string, accepted: string[]): ApiError =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    { causes: [{ reason: 'UnexpectedServerResponse', message: type }] },
  );
export const notAcceptable = (): ApiError =>
  new ApiError(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
