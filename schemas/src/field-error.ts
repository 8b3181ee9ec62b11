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

/**
 * JSON text of `value`, written until it passes `max` characters and no further: a value quoted
 * in an error may be a 3 MiB list or a map of 200,000 keys, and rendering it whole to show 100
 * characters cost megabytes and seconds. The same text as JSON.stringify up to the cut, for the
 * plain data a parsed object holds; anything else (toJSON, a bigint) goes through JSON.stringify.
 */
function boundedJson(value: unknown, max: number): { text: string; cut: boolean } {
  let out = '';
  const write = (v: unknown): boolean => {
    if (out.length > max) return false;
    if (v === null || typeof v === 'number' || typeof v === 'boolean') {
      out += typeof v === 'number' && !Number.isFinite(v) ? 'null' : String(v);
      return out.length <= max;
    }
    if (typeof v === 'string') {
      // a long string is quoted only as far as it can be shown
      out += v.length > max ? JSON.stringify(v.slice(0, max + 1)).slice(0, -1) : JSON.stringify(v);
      return out.length <= max;
    }
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ',';
        const x: unknown = v[i];
        if (!write(x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : x)) return false;
      }
      out += ']';
      return out.length <= max;
    }
    if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      out += '{';
      let first = true;
      for (const k in v as Record<string, unknown>) {
        const x = (v as Record<string, unknown>)[k];
        if (
          !Object.prototype.hasOwnProperty.call(v, k) ||
          x === undefined ||
          typeof x === 'function' ||
          typeof x === 'symbol'
        )
          continue;
        out += `${first ? '' : ','}${JSON.stringify(k.length > max ? k.slice(0, max + 1) : k)}:`;
        first = false;
        if (!write(x)) return false;
      }
      out += '}';
      return out.length <= max;
    }
    let text: string;
    try {
      text = JSON.stringify(v) ?? String(v);
    } catch {
      text = String(v);
    }
    out += text;
    return out.length <= max;
  };
  const complete = write(value);
  return { text: out, cut: !complete || out.length > max };
}

/** Values are shown as Go's %q / JSON would; long ones (certificates) are cut. */
export function renderValue(value: unknown): string {
  if (typeof value === 'bigint') return value.toString().slice(0, MAX_VALUE_CHARS);
  if (value === undefined) return 'null';
  const { text, cut } = boundedJson(value, MAX_VALUE_CHARS);
  if (!cut) return text;
  const size =
    typeof value === 'string' ? `${value.length} chars` : Array.isArray(value) ? `a list of ${value.length}` : 'more';
  return `${text.slice(0, MAX_VALUE_CHARS)}...(${size})`;
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
