// The strict validator: one ajv instance, compiled once per kind, errors mapped to kube-style
// field paths. No coercion and no defaults: admission must see exactly what was sent.
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import { PATTERN_MEANINGS } from './common.js';
import { type FieldError, joinPath } from './field-error.js';
import { KIND_SCHEMAS } from './kinds/index.js';
import { checkPemBytes, isBase64 } from './pem-fields.js';
import { KINDS, apiVersionOf, kindInfo } from './registry.js';
import type { KindName } from './registry.js';

type JsonSchema = Record<string, unknown>;

// RFC 3339 as Kubernetes' `format: date-time` (a protobuf Timestamp in JSON).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

// String lengths: the apiserver counts characters (code points), as ajv's default unicode mode
// does, one charCodeAt at a time over every string: 11 us of a chain-check review, whose
// certificates are kilobytes of base64. So ajv compares .length, which is never below the
// code-point count, and validateAs re-counts only the strings it reports as too long. That is
// exact for maxLength, and for minLength as long as no minimum exceeds 1 (asserted below).
function codePoints(s: string): number {
  return s.length - (s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0);
}

/**
 * What the length re-check relies on, asserted for every schema when this module loads: no
 * minLength above 1, and no keyword under which a length error would be swallowed or re-reported
 * (a combinator keeps its own error after ours is dropped; propertyNames reports on a key).
 */
function assertLengthRecheckIsExact(node: unknown, where: string): void {
  if (typeof node !== 'object' || node === null) return;
  const n = node as Record<string, unknown>;
  if (typeof n.minLength === 'number' && n.minLength > 1)
    throw new Error(`${where}: minLength ${n.minLength} > 1 would need code-point counting (see validator.ts)`);
  for (const k of [
    'anyOf',
    'oneOf',
    'not',
    'if',
    'propertyNames',
    'contains',
    'dependentSchemas',
    'unevaluatedProperties',
    'unevaluatedItems',
  ]) {
    if (k in n && !(where.endsWith('.properties') || where.endsWith('.patternProperties')))
      throw new Error(`${where}: ${k} would make the maxLength re-check inexact (see validator.ts)`);
  }
  for (const [k, v] of Object.entries(n)) assertLengthRecheckIsExact(v, `${where}.${k}`);
}
for (const [kind, s] of Object.entries(KIND_SCHEMAS)) assertLengthRecheckIsExact(s.object, kind);

// ajv 8 keeps `unicode` but warns that it is deprecated each time an instance is made; that one
// line would land in the webhook's JSON log and the CLI's stderr.
const quietLogger = {
  log: console.log,
  warn: (...args: unknown[]) => {
    if (!(typeof args[0] === 'string' && args[0].startsWith('DEPRECATED: option unicode'))) console.warn(...args);
  },
  error: console.error,
};

function makeAjv(allErrors: boolean, unicode = false): Ajv {
  const ajv = new Ajv({
    unicode,
    logger: quietLogger,
    allErrors,
    strict: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    verbose: false,
  });
  ajv.addFormat('byte', { type: 'string', validate: isBase64 });
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)),
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });

  const pemType: SchemaValidateFunction = (schema: string, data: string) => {
    const problem = checkPemBytes(data, schema, schema === 'CERTIFICATE REQUEST');
    pemType.errors =
      problem === undefined ? [] : [{ keyword: 'x-pem-type', message: problem, params: { pemType: schema } }];
    return problem === undefined;
  };
  ajv.addKeyword({ keyword: 'x-pem-type', type: 'string', schemaType: 'string', errors: true, validate: pemType });

  const isSet = (v: unknown) => v !== undefined && v !== null;
  const exclusive: SchemaValidateFunction = (groups: string[][], data: Record<string, unknown>) => {
    // Runs on every object of every review: nothing is allocated unless a group is violated.
    let errors: Partial<ErrorObject>[] | undefined;
    for (const group of groups) {
      let count = 0;
      for (const f of group) if (isSet(data[f])) count++;
      if (count > 1) {
        (errors ??= []).push({
          keyword: 'x-exclusive',
          message: `at most one of ${group.join(', ')} may be set`,
          params: { set: group.filter((f) => isSet(data[f])) },
        });
      }
    }
    exclusive.errors = errors ?? [];
    return errors === undefined;
  };
  ajv.addKeyword({ keyword: 'x-exclusive', type: 'object', schemaType: 'array', errors: true, validate: exclusive });
  return ajv;
}

// Two validators per kind. Every object first meets the one that stops at its first error: a
// valid object is walked once, with nothing allocated, and an invalid one costs no more than the
// walk up to its first problem. Only an object small enough (ALL_ERRORS_MAX_VALUES) is then run
// through the one that lists every error: with allErrors, ajv builds one error object per
// offending value, so a 2.8 MB object of 240,000 unknown fields made 240,000 of them (seconds,
// and hundreds of MB once rendered), and nothing in ajv stops it part way.
// (A third, counting characters as ajv's unicode mode does, serves the rare large object whose
// first error is a length over the limit in UTF-16 units only; see validateAsBounded.)
type Mode = 'all' | 'first' | 'first-unicode';
const instances: Record<Mode, { ajv?: Ajv; compiled: Map<KindName, ValidateFunction>; make: () => Ajv }> = {
  all: { compiled: new Map(), make: () => makeAjv(true) },
  first: { compiled: new Map(), make: () => makeAjv(false) },
  'first-unicode': { compiled: new Map(), make: () => makeAjv(false, true) },
};

function validatorFor(kind: KindName, mode: Mode = 'all'): ValidateFunction {
  const inst = instances[mode];
  let v = inst.compiled.get(kind);
  if (!v) {
    v = (inst.ajv ??= inst.make()).compile(KIND_SCHEMAS[kind].object);
    inst.compiled.set(kind, v);
  }
  return v;
}

/**
 * Objects holding more JSON values than this (objects, lists, strings, numbers... metadata
 * included) are reported with their first error only. No object of these kinds comes near it
 * but a list of thousands of entries, and ajv's allErrors mode costs about one error object per
 * offending value, so this bounds what listing every error can cost.
 */
export const ALL_ERRORS_MAX_VALUES = 10_000;

/** At most this many of ajv's errors become FieldErrors (each costs a path rendering). */
export const MAX_MAPPED_ERRORS = 1000;

/** Whether `root` holds more than `max` JSON values; stops counting there. Iterative: depth is free. */
export function holdsMoreValuesThan(root: unknown, max: number): boolean {
  let count = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++count > max) return true;
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x === 'object' && x !== null) stack.push(x);
        else if (++count > max) return true;
      }
    } else {
      for (const k in v) {
        const x: unknown = (v as Record<string, unknown>)[k];
        if (typeof x === 'object' && x !== null) stack.push(x);
        else if (++count > max) return true;
      }
    }
  }
  return false;
}

/** Renders an ajv instancePath against the schema, so map keys show as [key] and fields as .field. */
export function fieldPathOf(
  rootSchema: JsonSchema,
  instancePath: string,
): { path: string; schema: JsonSchema | undefined } {
  const segments =
    instancePath === ''
      ? []
      : instancePath
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let schema: JsonSchema | undefined = rootSchema;
  let path = '';
  for (const seg of segments) {
    if (schema?.type === 'array') {
      path = joinPath(path, Number(seg));
      schema = schema.items as JsonSchema | undefined;
      continue;
    }
    const props = schema?.properties as Record<string, JsonSchema> | undefined;
    if (props && Object.hasOwn(props, seg)) {
      path = joinPath(path, seg);
      schema = props[seg];
    } else {
      path = joinPath(path, seg, true);
      const pattern = schema?.patternProperties as Record<string, JsonSchema> | undefined;
      const additional = schema?.additionalProperties;
      schema = pattern
        ? Object.values(pattern)[0]
        : typeof additional === 'object'
          ? (additional as JsonSchema)
          : undefined;
    }
  }
  return { path, schema };
}

function valueAt(obj: unknown, instancePath: string): unknown {
  if (instancePath === '') return obj;
  let cur: unknown = obj;
  for (const raw of instancePath.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  object: 'an object',
  array: 'a list',
  boolean: 'a boolean',
};

function toFieldError(rootSchema: JsonSchema, obj: unknown, e: ErrorObject): FieldError {
  const { path } = fieldPathOf(rootSchema, e.instancePath);
  const value = valueAt(obj, e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return {
        path: joinPath(
          path,
          String(p.additionalProperty),
          !isObjectWithProperties(fieldPathOf(rootSchema, e.instancePath).schema),
        ),
        type: 'Forbidden',
        message: 'field not declared in schema',
      };
    case 'required':
      return { path: joinPath(path, String(p.missingProperty)), type: 'Required', message: 'must be set' };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String).join(', ');
      return { path, type: 'Unsupported', value, message: `must be one of ${allowed}` };
    }
    case 'const':
      return { path, type: 'Unsupported', value, message: `must be ${String(p.allowedValue)}` };
    case 'type':
      return { path, type: 'Invalid', value, message: `must be ${TYPE_NAMES[String(p.type)] ?? String(p.type)}` };
    case 'maxLength':
      return { path, type: 'TooLong', message: `must have at most ${String(p.limit)} characters` };
    case 'maxItems':
      return { path, type: 'TooLong', value, message: `must have at most ${String(p.limit)} items` };
    case 'maxProperties':
      return { path, type: 'TooLong', value, message: `must have at most ${String(p.limit)} entries` };
    case 'minLength':
      return {
        path,
        type: p.limit === 1 ? 'Required' : 'Invalid',
        value,
        message: p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} characters`,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, type: 'Invalid', value, message: `must be ${String(p.comparison)} ${String(p.limit)}` };
    case 'pattern':
      return {
        path,
        type: 'Invalid',
        value,
        message: `must be ${PATTERN_MEANINGS[String(p.pattern)] ?? `a string matching ${String(p.pattern)}`}`,
      };
    case 'format': {
      const f = String(p.format);
      const msg =
        f === 'byte'
          ? 'must be standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)'
          : f === 'date-time'
            ? 'must be an RFC 3339 timestamp such as 2026-11-23T13:30:00Z'
            : `must be a valid ${f}`;
      return { path, type: 'Invalid', ...(f === 'byte' ? {} : { value }), message: msg };
    }
    case 'x-exclusive': {
      const set = p.set as string[];
      return {
        path: joinPath(path, set[set.length - 1]!),
        type: 'Forbidden',
        message: `may not be set together with ${set
          .slice(0, -1)
          .map((f) => joinPath(path, f))
          .join(', ')} (${e.message})`,
      };
    }
    case 'x-pem-type':
      // No value: certificates are long, and a field someone pasted a private key into must not echo it.
      return { path, type: 'Invalid', message: e.message ?? 'must be base64 of PEM text' };
    default:
      return { path, type: 'Invalid', value, message: e.message ?? `fails ${e.keyword}` };
  }
}

function isObjectWithProperties(s: JsonSchema | undefined): boolean {
  return !!s && typeof s.properties === 'object';
}

// When one field breaks several keywords, say the most useful thing once: an integer where an
// enum name belongs is best reported as "must be one of ...", not "must be a string".
const PRIORITY: Record<string, number> = {
  Unsupported: 0,
  Required: 1,
  Forbidden: 2,
  TooLong: 3,
  Invalid: 4,
  Duplicate: 5,
};

function dedupe(errors: FieldError[]): FieldError[] {
  const best = new Map<string, FieldError>();
  for (const e of errors) {
    const prev = best.get(e.path);
    if (!prev || PRIORITY[e.type]! < PRIORITY[prev.type]!) best.set(e.path, e);
  }
  // Keep the order in which ajv reported the paths.
  return [...best.values()];
}

/** What a bounded validation found. */
export interface BoundedErrors {
  /** The errors, in the order ajv met them, at most the `maxErrors` asked for. */
  errors: FieldError[];
  /** How many more ajv reported beyond `errors` (before merging several on one path). */
  more: number;
  /**
   * false when the object holds more than ALL_ERRORS_MAX_VALUES values and was searched for its
   * first error only: there may be others.
   */
  complete: boolean;
}

/**
 * Schema violations of a whole object, apiVersion/kind/metadata basics included: every one for
 * an object of up to ALL_ERRORS_MAX_VALUES values, the first for a larger one; at most
 * `maxErrors` (and MAX_MAPPED_ERRORS) rendered.
 */
export function validateObjectBounded(obj: unknown, maxErrors = MAX_MAPPED_ERRORS): BoundedErrors {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return {
      errors: [{ path: '', type: 'Invalid', value: obj, message: 'must be a JSON object' }],
      more: 0,
      complete: true,
    };
  }
  const o = obj as Record<string, unknown>;
  const info =
    typeof o.apiVersion === 'string' && typeof o.kind === 'string' ? kindInfo(o.apiVersion, o.kind) : undefined;
  if (!info) {
    const known = KINDS.map((k) => `${apiVersionOf(k)} ${k.kind}`).join(', ');
    return {
      errors: [
        {
          path: 'kind',
          type: 'Unsupported',
          value: `${String(o.apiVersion).slice(0, 100)} ${String(o.kind).slice(0, 100)}`,
          message: `must be one of ${known}`,
        },
      ],
      more: 0,
      complete: true,
    };
  }
  return validateAsBounded(info.kind, obj, maxErrors);
}

/** Every schema violation of a whole object (the first only for an object of over ALL_ERRORS_MAX_VALUES values). */
export function validateObject(obj: unknown): FieldError[] {
  return validateObjectBounded(obj).errors;
}

/** Validates `obj` as `kind` (apiVersion and kind must still match); bounded as validateObject is. */
export function validateAs(kind: KindName, obj: unknown): FieldError[] {
  return validateAsBounded(kind, obj).errors;
}

export function validateAsBounded(kind: KindName, obj: unknown, maxErrors = MAX_MAPPED_ERRORS): BoundedErrors {
  const first = validatorFor(kind, 'first');
  if (first(obj)) return { errors: [], more: 0, complete: true };
  const complete = !holdsMoreValuesThan(obj, ALL_ERRORS_MAX_VALUES);
  let v = first;
  if (complete) {
    v = validatorFor(kind, 'all');
    if (v(obj)) return { errors: [], more: 0, complete }; // cannot happen: the same schema
  }
  const root = KIND_SCHEMAS[kind].object as unknown as JsonSchema;
  let raw = (v.errors ?? []).filter(
    (e) =>
      e.keyword !== 'maxLength' ||
      codePoints(valueAt(obj, e.instancePath) as string) > (e.params as { limit: number }).limit,
  );
  if (raw.length === 0 && !complete) {
    // The first error was a length over the limit in UTF-16 units only: find the first real one
    // with characters counted as the apiserver counts them, still stopping there.
    const exact = validatorFor(kind, 'first-unicode');
    if (exact(obj)) return { errors: [], more: 0, complete: true };
    raw = exact.errors ?? [];
  }
  const limit = Math.min(maxErrors, MAX_MAPPED_ERRORS);
  const mapped = dedupe(raw.slice(0, limit).map((e) => toFieldError(root, obj, e)));
  return { errors: mapped, more: Math.max(0, raw.length - limit), complete };
}
