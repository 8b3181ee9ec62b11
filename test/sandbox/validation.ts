// Validation of custom resources as the apiextensions apiserver does it: the CRD's
// openAPIV3Schema (structural, unknown fields rejected), defaults, and x-kubernetes-validations
// CEL rules including transition rules on oldSelf.
import { createHash } from 'node:crypto';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as celParse } from '@marcbachmann/cel-js';
import { notServed, problemString, type FieldProblem } from './errors.js';

type Schema = Record<string, unknown>;
interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
  transition: boolean;
  fn: (ctx: Record<string, unknown>) => unknown;
  msgFn?: (ctx: Record<string, unknown>) => unknown;
}

export interface CompiledSchema {
  validate(obj: Record<string, unknown>, old?: Record<string, unknown>): FieldProblem[];
  /**
   * The customresource strategy's order: schema problems, then CEL rules unless a blocking problem
   * (here or in `prior`, the metadata's) stops them; celSkipped says so when the schema has rules.
   */
  validateAll(
    obj: Record<string, unknown>,
    old: Record<string, unknown> | undefined,
    prior: FieldProblem[],
  ): { problems: FieldProblem[]; celSkipped: boolean };
  /** x-kubernetes-list-type of the list at a dotted path ("spec.items"), if any */
  listType(path: string): string | undefined;
  /** Paths of fields the schema does not declare ("spec.bogus", "spec.tags[0].x"). */
  unknownFields(obj: Record<string, unknown>): string[];
  /** Removes the undeclared fields in place, as the apiserver's pruning does. */
  prune(obj: Record<string, unknown>): void;
  /** Applies the schema's defaults in place. */
  applyDefaults(obj: Record<string, unknown>): void;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true, useDefaults: false });
ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
ajv.addFormat('int32', true).addFormat('int64', true).addFormat('double', true).addFormat('float', true);
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
const ajvDefaults = new Ajv({ strict: false, validateFormats: false, useDefaults: true, allErrors: true });

/** openAPIV3Schema → JSON Schema for ajv: drop kube extensions, close objects that do not preserve unknown fields. */
function toJsonSchema(s: Schema, atRoot: boolean): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || k === 'description' || k === 'example' || k === 'externalDocs') continue;
    if (k === 'properties' && v && typeof v === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, Schema>).map(([pk, ps]) => [
          pk,
          atRoot && pk === 'metadata' ? { type: 'object' } : toJsonSchema(ps, false),
        ]),
      );
    } else if ((k === 'items' || k === 'additionalProperties' || k === 'not') && v && typeof v === 'object') {
      out[k] = toJsonSchema(v as Schema, false);
    } else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) {
      out[k] = v.map((x) => toJsonSchema(x as Schema, false));
    } else out[k] = v;
  }
  if (s.nullable === true && typeof out.type === 'string') {
    out.type = [out.type, 'null'];
  }
  delete out.nullable;
  if (s['x-kubernetes-int-or-string']) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (s.type === 'object' && !preserve && s.additionalProperties === undefined) {
    if (atRoot)
      out.properties = {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        ...((out.properties as Schema) ?? {}),
      };
    out.additionalProperties = false;
  }
  return out;
}

function fieldOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function ajvProblem(e: ErrorObject, root: unknown): FieldProblem {
  const base = fieldOf(e.instancePath);
  const value = e.instancePath
    .split('/')
    .slice(1)
    .reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], root);
  const p = e.params as Record<string, unknown>;
  const at = base || '<root>';
  switch (e.keyword) {
    case 'required':
      return { type: 'Required', field: base ? `${base}.${p.missingProperty}` : String(p.missingProperty) };
    case 'additionalProperties': {
      const f = base ? `${base}.${p.additionalProperty}` : String(p.additionalProperty);
      return { type: 'Invalid', field: f, value: p.additionalProperty, detail: 'field not declared in schema' };
    }
    case 'enum':
      return {
        type: 'Unsupported',
        field: at,
        value,
        detail: `supported values: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'type': {
      // kube-openapi names the received value's type, not the value
      const got =
        value === null
          ? 'null'
          : Array.isArray(value)
            ? 'array'
            : typeof value === 'number'
              ? Number.isInteger(value)
                ? 'integer'
                : 'number'
              : typeof value;
      return {
        type: 'TypeInvalid',
        field: at,
        value: got,
        detail: `${at} in body must be of type ${[p.type]
          .flat()
          .filter((t) => t !== 'null')
          .join('/')}: "${got}"`,
      };
    }
    case 'maxLength':
      return { type: 'TooLong', field: at, detail: `may not be more than ${p.limit} bytes` };
    case 'maxItems':
      return {
        type: 'TooMany',
        field: at,
        value: Array.isArray(value) ? value.length : value,
        detail: `must have at most ${p.limit} items`,
      };
    case 'minLength':
      return { type: 'Invalid', field: at, value, detail: `${at} in body should be at least ${p.limit} chars long` };
    case 'minItems':
      return { type: 'Invalid', field: at, value, detail: `${at} in body should have at least ${p.limit} items` };
    case 'minimum':
      return {
        type: 'Invalid',
        field: at,
        value,
        detail: `${at} in body should be greater than or equal to ${p.limit}`,
      };
    case 'maximum':
      return { type: 'Invalid', field: at, value, detail: `${at} in body should be less than or equal to ${p.limit}` };
    case 'exclusiveMinimum':
      return { type: 'Invalid', field: at, value, detail: `${at} in body should be greater than ${p.limit}` };
    case 'exclusiveMaximum':
      return { type: 'Invalid', field: at, value, detail: `${at} in body should be less than ${p.limit}` };
    case 'pattern':
      return { type: 'Invalid', field: at, value, detail: `${at} in body should match '${p.pattern}'` };
    case 'format':
      return {
        type: 'TypeInvalid',
        field: at,
        value,
        detail: `${at} in body must be of type ${p.format}: ${JSON.stringify(value)}`,
      };
    default:
      return { type: 'Invalid', field: at, value, detail: e.message ?? e.keyword };
  }
}

/** CEL sees integers as int (BigInt) where the schema says integer, as the apiserver's type provider does. */
function toCel(v: unknown, s: Schema | undefined): unknown {
  if (v === null || v === undefined) return v;
  if (s?.type === 'integer' && typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.items as Schema | undefined));
  if (typeof v === 'object') {
    const props = (s?.properties ?? {}) as Record<string, Schema>;
    const addl = typeof s?.additionalProperties === 'object' ? (s.additionalProperties as Schema) : undefined;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toCel(x, props[k] ?? addl)]),
    );
  }
  return v;
}

function schemaType(s: Schema, v: unknown): string {
  return typeof s.type === 'string' ? s.type : celTypeName(v);
}

function celTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v && typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

interface RuleNode {
  schema: Schema;
  rules: CelRule[];
}

function compileRules(s: Schema): CelRule[] {
  const list = (s['x-kubernetes-validations'] ?? []) as Array<Record<string, string>>;
  return list.map((r) => ({
    rule: r.rule,
    message: r.message,
    messageExpression: r.messageExpression,
    fieldPath: r.fieldPath,
    reason: r.reason,
    transition: /\boldSelf\b/.test(r.rule),
    fn: celParse(r.rule) as unknown as (ctx: Record<string, unknown>) => unknown,
    msgFn: r.messageExpression
      ? (celParse(r.messageExpression) as unknown as (ctx: Record<string, unknown>) => unknown)
      : undefined,
  }));
}

function fieldPathJoin(base: string, fieldPath: string | undefined): string {
  if (!fieldPath) return base || '<root>';
  const fp = fieldPath.replace(/^\./, '');
  return base ? `${base}.${fp}` : fp;
}

function runCel(
  schema: Schema,
  cache: Map<Schema, RuleNode>,
  self: unknown,
  old: unknown,
  hasOld: boolean,
  path: string,
  out: FieldProblem[],
): void {
  if (self === undefined || self === null) return;
  let node = cache.get(schema);
  if (!node) {
    node = { schema, rules: compileRules(schema) };
    cache.set(schema, node);
  }
  if (node.rules.length) {
    const ctx = { self: toCel(self, schema), oldSelf: hasOld ? toCel(old, schema) : undefined };
    for (const r of node.rules) {
      if (r.transition && !hasOld) continue;
      const field = fieldPathJoin(path, r.fieldPath);
      let ok: unknown;
      try {
        ok = r.fn(ctx);
      } catch (e) {
        out.push({
          type: 'Invalid',
          field: path || '<root>',
          value: celTypeName(self),
          detail: `rule evaluation error: ${(e as Error).message}`,
        });
        continue;
      }
      if (ok === true) continue;
      let msg = r.message ?? `failed rule: ${r.rule}`;
      if (r.msgFn) {
        try {
          const m = r.msgFn(ctx);
          if (typeof m === 'string' && m) msg = m;
        } catch {
          /* keep message */
        }
      }
      const type =
        r.reason === 'FieldValueRequired'
          ? 'Required'
          : r.reason === 'FieldValueForbidden'
            ? 'Forbidden'
            : r.reason === 'FieldValueDuplicate'
              ? 'Duplicate'
              : 'Invalid';
      // fieldErrorForReason: the value shown is the schema's type; Duplicate carries no message
      out.push(
        type === 'Invalid'
          ? { type, field, value: schemaType(schema, self), detail: msg }
          : type === 'Duplicate'
            ? { type, field, value: schemaType(schema, self) }
            : { type, field, detail: msg },
      );
    }
  }
  const isObjVal = typeof self === 'object' && !Array.isArray(self);
  if (schema.properties && isObjVal) {
    for (const [k, ps] of Object.entries(schema.properties as Record<string, Schema>)) {
      const sv = (self as Record<string, unknown>)[k];
      const ov = hasOld && old && typeof old === 'object' ? (old as Record<string, unknown>)[k] : undefined;
      runCel(ps, cache, sv, ov, hasOld && ov !== undefined, path ? `${path}.${k}` : k, out);
    }
  }
  if (typeof schema.additionalProperties === 'object' && isObjVal) {
    for (const [k, sv] of Object.entries(self as Record<string, unknown>)) {
      const ov = hasOld && old && typeof old === 'object' ? (old as Record<string, unknown>)[k] : undefined;
      runCel(schema.additionalProperties as Schema, cache, sv, ov, hasOld && ov !== undefined, `${path}[${k}]`, out);
    }
  }
  if (schema.items && Array.isArray(self)) {
    // transition rules on list items correlate only for map-lists; treat items as new
    self.forEach((v, i) => runCel(schema.items as Schema, cache, v, undefined, false, `${path}[${i}]`, out));
  }
}

/** Walks value and schema together, reporting (and optionally deleting) undeclared fields. */
function walkUnknown(
  v: unknown,
  s: Schema | undefined,
  path: string,
  out: string[],
  prune: boolean,
  atRoot: boolean,
): void {
  if (!s || v === null || typeof v !== 'object' || s['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => walkUnknown(x, s.items as Schema | undefined, `${path}[${i}]`, out, prune, false));
    return;
  }
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const addl = s.additionalProperties;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const p = path ? `${path}.${k}` : k;
    if (atRoot && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    if (props[k]) walkUnknown(o[k], props[k], p, out, prune, false);
    else if (addl && typeof addl === 'object') walkUnknown(o[k], addl as Schema, p, out, prune, false);
    else if (addl !== true) {
      out.push(p);
      if (prune) delete o[k];
    }
  }
}

const compiled = new Map<string, CompiledSchema>();

/** Compiles once per distinct schema: every cluster installing the same CRD shares the result. */
export function compileSchema(openAPIV3Schema: Schema): CompiledSchema {
  const key = createHash('sha256').update(JSON.stringify(openAPIV3Schema)).digest('hex');
  const hit = compiled.get(key);
  if (hit) return hit;
  let validateFn: ValidateFunction | undefined;
  let defaultsFn: ValidateFunction | undefined;
  const celCache = new Map<Schema, RuleNode>();
  const hasDefaults = JSON.stringify(openAPIV3Schema).includes('"default"');
  const hasRules = JSON.stringify(openAPIV3Schema).includes('"x-kubernetes-validations"');
  const c: CompiledSchema = {
    validate(obj, old) {
      validateFn ??= ajv.compile(toJsonSchema(openAPIV3Schema, true));
      const problems: FieldProblem[] = [];
      if (!validateFn(obj)) {
        const seen = new Set<string>();
        for (const e of validateFn.errors ?? []) {
          if (e.keyword === 'if' || (e.keyword === 'anyOf' && (validateFn.errors ?? []).length > 1)) continue;
          const p = ajvProblem(e, obj);
          const k = `${p.field}|${p.type}|${p.detail}`;
          if (!seen.has(k)) {
            seen.add(k);
            problems.push(p);
          }
        }
      }
      if (problems.length) return problems;
      runCel(openAPIV3Schema, celCache, obj, old, old !== undefined, '', problems);
      return problems;
    },
    validateAll(obj, old, prior) {
      validateFn ??= ajv.compile(toJsonSchema(openAPIV3Schema, true));
      const problems: FieldProblem[] = [];
      if (!validateFn(obj)) {
        const seen = new Set<string>();
        for (const e of validateFn.errors ?? []) {
          if (e.keyword === 'if' || (e.keyword === 'anyOf' && (validateFn.errors ?? []).length > 1)) continue;
          const p = ajvProblem(e, obj);
          const k = `${p.field}|${p.type}|${p.detail}`;
          if (!seen.has(k)) {
            seen.add(k);
            problems.push(p);
          }
        }
      }
      const blocking = [...prior, ...problems].some((p) =>
        ['NotSupported', 'Unsupported', 'Required', 'TooLong', 'TooMany', 'TypeInvalid'].includes(p.type),
      );
      if (blocking) return { problems, celSkipped: hasRules };
      runCel(openAPIV3Schema, celCache, obj, old, old !== undefined, '', problems);
      return { problems, celSkipped: false };
    },
    listType(path) {
      let cur: Schema | undefined = openAPIV3Schema;
      for (const part of path.split('.').filter(Boolean)) {
        if (!cur) return undefined;
        const props = cur.properties as Record<string, Schema> | undefined;
        cur =
          props?.[part] ??
          (typeof cur.additionalProperties === 'object' ? (cur.additionalProperties as Schema) : undefined);
      }
      return cur?.['x-kubernetes-list-type'] as string | undefined;
    },
    unknownFields(obj) {
      const out: string[] = [];
      walkUnknown(obj, openAPIV3Schema, '', out, false, true);
      return out.sort();
    },
    prune(obj) {
      walkUnknown(obj, openAPIV3Schema, '', [], true, true);
    },
    applyDefaults(obj) {
      if (!hasDefaults) return;
      defaultsFn ??= ajvDefaults.compile(toJsonSchema(openAPIV3Schema, true));
      defaultsFn(obj);
    },
  };
  compiled.set(key, c);
  return c;
}

/** A CEL AST node of cel-js (op, args, source range). */
interface CelNode {
  op: string;
  args: unknown;
  range?: { start: number; end: number };
}
const isCelNode = (v: unknown): v is CelNode => !!v && typeof v === 'object' && typeof (v as CelNode).op === 'string';

/** The schema a CEL expression node refers to, when it is a path from self/oldSelf through declared fields. */
function celSchemaOf(n: CelNode, self: Schema): Schema | undefined {
  if (n.op === 'id') return n.args === 'self' || n.args === 'oldSelf' ? self : undefined;
  const args = n.args as unknown[];
  if ((n.op === '.' || n.op === '.?') && isCelNode(args[0])) {
    const base = celSchemaOf(args[0], self);
    if (!base) return undefined;
    const props = base.properties as Record<string, Schema> | undefined;
    const name = String(args[1]);
    return (
      props?.[name] ??
      (typeof base.additionalProperties === 'object' ? (base.additionalProperties as Schema) : undefined)
    );
  }
  if ((n.op === '[]' || n.op === '[?]') && isCelNode(args[0])) {
    const base = celSchemaOf(args[0], self);
    if (!base) return undefined;
    return (
      (base.items as Schema | undefined) ??
      (typeof base.additionalProperties === 'object' ? (base.additionalProperties as Schema) : undefined)
    );
  }
  return undefined;
}

/** A closed object type (declared properties only): CEL refuses a field it does not declare. */
const closedObject = (s: Schema): boolean =>
  s.type === 'object' && s['x-kubernetes-preserve-unknown-fields'] !== true && s.additionalProperties === undefined;

/** Selections of undeclared fields (cel-go's "undefined field"), with the source position of the '.'. */
function undefinedFields(root: CelNode, self: Schema, atRoot: boolean): Array<{ pos: number; name: string }> {
  const out: Array<{ pos: number; name: string }> = [];
  const visit = (n: unknown): void => {
    if (Array.isArray(n)) {
      n.forEach(visit);
      return;
    }
    if (!isCelNode(n)) return;
    if ((n.op === '.' || n.op === '.?') && Array.isArray(n.args) && isCelNode(n.args[0])) {
      const base = celSchemaOf(n.args[0], self);
      const name = String(n.args[1]);
      // the root's type always has apiVersion, kind and metadata
      const isRootMeta = atRoot && n.args[0].op === 'id' && ['metadata', 'apiVersion', 'kind'].includes(name);
      if (
        base &&
        closedObject(base) &&
        !isRootMeta &&
        !(base.properties as Record<string, Schema> | undefined)?.[name]
      ) {
        out.push({ pos: n.args[0].range?.end ?? 0, name });
      }
    }
    if (Array.isArray(n.args)) n.args.forEach(visit);
    else if (isCelNode(n.args)) visit(n.args);
  };
  visit(root);
  return out.sort((a, b) => a.pos - b.pos);
}

/** cel-go's error report: "ERROR: <input>:L:C: msg" with the source line and a caret. */
function celError(expr: string, pos: number, msg: string): string {
  const before = expr.slice(0, pos);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const col = pos - lineStart;
  const text = expr.split('\n')[line - 1];
  return `ERROR: <input>:${line}:${col + 1}: ${msg}\n | ${text}\n | ${'.'.repeat(col)}^`;
}

/**
 * A fieldPath's tokens as the apiextensions apiserver's scanner cuts them: `.`, `[` and `]` alone;
 * a token starting with a single quote runs to the next quote not after a backslash (or to the
 * end); any other run of characters up to a delimiter is a name (quotes inside it included).
 */
function fieldPathTokens(path: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < path.length) {
    let j = i + 1;
    if (path[i] === "'") {
      while (j < path.length && !(path[j] === "'" && path[j - 1] !== '\\')) j++;
      j = Math.min(j + 1, path.length);
    } else if (!'.[]'.includes(path[i]!)) {
      while (j < path.length && !'.[]'.includes(path[j]!)) j++;
    }
    out.push(path.slice(i, j));
    i = j;
  }
  return out;
}

const ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  "'": "'",
  '\\': '\\',
};

/**
 * Whether a rule's fieldPath names a field of the schema it sits on, as the apiextensions
 * apiserver's ValidFieldPath reads it: `.name` and `['name']` (with its escapes) step through
 * properties, or take any key of additionalProperties; nothing else, and not into array items.
 */
export function fieldPathValid(schema: Schema, path: string): boolean {
  const tokens = fieldPathTokens(path);
  let s: Schema | undefined = schema;
  const step = (name: string): boolean => {
    if (!s) return false;
    if (s.properties !== undefined) {
      s = (s.properties as Record<string, Schema>)[name];
      return s !== undefined;
    }
    if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
      s = typeof s.additionalProperties === 'object' ? (s.additionalProperties as Schema) : undefined;
      return true;
    }
    return false;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '.') {
      const name = tokens[++i];
      if (name === undefined || !step(name)) return false;
    } else if (t === '[') {
      const quoted = tokens[++i];
      if (quoted === undefined || quoted.length < 2 || !quoted.startsWith("'") || !quoted.endsWith("'")) return false;
      let bad = false;
      const key = quoted.slice(1, -1).replace(/\\./g, (m) => {
        const c = ESCAPES[m[1]!];
        if (c === undefined) bad = true;
        return c ?? '';
      });
      if (bad || !step(key) || tokens[++i] !== ']') return false;
    } else return false;
  }
  return true;
}

/**
 * Checks a CRD's own rules, as the apiextensions apiserver does when the CRD is written: a
 * fieldPath that names no field of the schema is refused ("must be a valid path"); then, at each
 * level with no such problem at or below it, the rules must compile: a rule selecting a field its
 * schema does not declare is refused with cel-go's words. A rule that does not parse is refused
 * plainly (501): cel-go's syntax error messages are not reproduced. Operator type checking (a
 * string compared with an int) is not served. Schema problems come before compilation ones, as
 * the apiserver lists them.
 */
export function celCompileProblems(openAPIV3Schema: Schema, base: string): FieldProblem[] {
  const schemaProblems: FieldProblem[] = [];
  const out: FieldProblem[] = [];
  /** Visits deeper levels first, as the apiserver does; true when a schema problem was found at or below. */
  const visit = (s: Schema, path: string, atRoot: boolean): boolean => {
    let bad = false;
    for (const [k, ps] of Object.entries((s.properties ?? {}) as Record<string, Schema>))
      bad = visit(ps, `${path}.properties[${k}]`, false) || bad;
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      bad = visit(s.additionalProperties as Schema, `${path}.additionalProperties`, false) || bad;
    if (s.items && typeof s.items === 'object') bad = visit(s.items as Schema, `${path}.items`, false) || bad;
    const rules = (s['x-kubernetes-validations'] ?? []) as Array<Record<string, string>>;
    rules.forEach((r, i) => {
      const fp = r.fieldPath;
      if (typeof fp !== 'string' || fp === '') return;
      // the apiserver's three checks of a fieldPath, in its order
      const details = [
        ...(fp.trim() === '' ? ['must be non-empty if specified'] : []),
        ...(/[\n\r]/.test(fp) ? ['must not contain line breaks'] : []),
        ...(fieldPathValid(s, fp) ? [] : ['must be a valid path']),
      ];
      for (const detail of details)
        schemaProblems.push({
          type: 'Invalid',
          field: `${path}.x-kubernetes-validations[${i}].fieldPath`,
          value: fp,
          detail,
        });
      if (details.length) bad = true;
    });
    if (bad) return true;
    rules.forEach((r, i) => {
      const value = {
        Rule: r.rule ?? '',
        Message: r.message ?? '',
        MessageExpression: r.messageExpression ?? '',
        Reason: r.reason ?? null,
        FieldPath: r.fieldPath ?? '',
        OptionalOldSelf: (r as Record<string, unknown>).optionalOldSelf ?? null,
      };
      for (const [k, expr] of [
        ['rule', r.rule],
        ['messageExpression', r.messageExpression],
      ] as const) {
        if (expr === undefined) continue;
        let ast: CelNode;
        try {
          ast = (celParse(expr) as unknown as { ast: CelNode }).ast;
        } catch (e) {
          throw notServed(
            `cel-go's syntax errors word for word (${path}.x-kubernetes-validations[${i}].${k}: ${(e as Error).message.split('\n')[0]})`,
          );
        }
        const undef = undefinedFields(ast, s, atRoot);
        if (undef.length) {
          out.push({
            type: 'Invalid',
            field: `${path}.x-kubernetes-validations[${i}].${k}`,
            value: k === 'rule' ? value : expr,
            detail: `compilation failed: ${undef.map((u) => celError(expr, u.pos, `undefined field '${u.name}'`)).join('\n')}`,
          });
        }
      }
    });
    return false;
  };
  visit(openAPIV3Schema, base, true);
  return [...schemaProblems, ...out];
}

/**
 * The structural schema rules a CRD must follow (apiextensions schema/validation.go), the common
 * ones: a type everywhere (but under x-kubernetes-int-or-string/preserve-unknown-fields), items for
 * arrays, an object at the root without additionalProperties, metadata restricted to name and
 * generateName. Sorted by message, as the apiserver sorts them.
 */
export function structuralProblems(root: Schema, base: string): FieldProblem[] {
  const out: FieldProblem[] = [];
  const visit = (s: Schema, lvl: 'root' | 'item' | 'field', path: string): void => {
    if (s.type === 'array' && !s.items)
      out.push({ type: 'Required', field: `${path}.items`, detail: 'must be specified' });
    if (s.items && typeof s.items === 'object' && !Array.isArray(s.items))
      visit(s.items as Schema, 'item', `${path}.items`);
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>))
      visit(v, 'field', `${path}.properties[${k}]`);
    if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
      if (lvl === 'root')
        out.push({ type: 'Forbidden', field: `${path}.additionalProperties`, detail: 'must not be used at the root' });
      if (typeof s.additionalProperties === 'object')
        visit(s.additionalProperties as Schema, 'field', `${path}.additionalProperties`);
    }
    if (!s.type && !s['x-kubernetes-int-or-string'] && !s['x-kubernetes-preserve-unknown-fields']) {
      out.push({
        type: 'Required',
        field: `${path}.type`,
        detail:
          lvl === 'root'
            ? 'must not be empty at the root'
            : lvl === 'item'
              ? 'must not be empty for specified array items'
              : 'must not be empty for specified object fields',
      });
    }
    if (lvl === 'root' && s.type && s.type !== 'object')
      out.push({ type: 'Invalid', field: `${path}.type`, value: s.type, detail: 'must be object at the root' });
    const meta = (s.properties as Record<string, Schema> | undefined)?.metadata;
    if (meta && lvl === 'root') {
      if (meta.type !== 'object')
        out.push({
          type: 'Invalid',
          field: `${path}.properties[metadata].type`,
          value: meta.type ?? '',
          detail: 'must be object',
        });
      const { type: _t, default: _d, properties, ...rest } = meta;
      const keys = Object.keys((properties ?? {}) as object);
      const onlyNames = keys.every((k) => k === 'name' || k === 'generateName');
      if (!onlyNames || Object.keys(rest).length)
        out.push({
          type: 'Forbidden',
          field: `${path}.properties[metadata]`,
          detail: 'must not specify anything other than name and generateName, but metadata is implicitly specified',
        });
    }
  };
  visit(root, 'root', base);
  return out
    .map((p) => ({ p, key: problemString(p) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.p);
}
