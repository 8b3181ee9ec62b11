// Errors in the shape kube-apiserver uses (k8s.io/apimachinery field.Error), so a denial reads
// like any other Kubernetes validation failure.
export type FieldErrorType = 'Invalid' | 'Required' | 'Unsupported' | 'Forbidden' | 'TooLong' | 'Duplicate';

export interface FieldError {
  /** kube-apiserver style: "spec.certOptions.ttlDays", "spec.hosts[2]", "spec.podsToBounce[0].labels[app]". */
  path: string;
  type: FieldErrorType;
  value?: unknown;
  message: string;
  /** 403 rather than 422 */
  forbidden?: boolean;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Joins path segments: numbers become [i]; map keys (mapKey=true) and odd names become [key]. */
export function joinPath(base: string, segment: string | number, mapKey = false): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  if (mapKey || !IDENT.test(segment)) return `${base}[${segment}]`;
  return base ? `${base}.${segment}` : segment;
}

export function pathOf(segments: readonly (string | number)[]): string {
  return segments.reduce<string>((p, s) => joinPath(p, s), '');
}

const MAX_VALUE_CHARS = 100;

/** Values are shown as Go's %q / JSON would; long ones (certificates) are cut. */
export function renderValue(value: unknown): string {
  let text: string;
  if (typeof value === 'bigint') text = value.toString();
  else if (value === undefined) text = 'null';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}...(${text.length} chars)` : text;
}

const LABELS: Record<FieldErrorType, string> = {
  Invalid: 'Invalid value',
  Required: 'Required value',
  Unsupported: 'Unsupported value',
  Forbidden: 'Forbidden',
  TooLong: 'Too long',
  Duplicate: 'Duplicate value',
};

/** 'status.state: Invalid value: "FINISHED": IssuedCertificate cannot move from PENDING to FINISHED; allowed: REQUESTED, FAILED' */
export function formatFieldError(e: FieldError): string {
  const withValue = e.type === 'Invalid' || e.type === 'Unsupported' || e.type === 'Duplicate';
  const head = `${e.path || '<root>'}: ${LABELS[e.type]}`;
  const value = withValue && e.value !== undefined ? `: ${renderValue(e.value)}` : '';
  return e.message ? `${head}${value}: ${e.message}` : `${head}${value}`;
}

export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map(formatFieldError).join('; ');
}
