// Object metadata as kube-apiserver validates it (k8s.io/apimachinery api/validation/objectmeta.go
// and util/validation, with the core kinds' finalizer rule), and the fields each built-in kind
// declares (fields.json, generated from kube-apiserver's OpenAPI by gen-fields.ts) for
// fieldValidation.
import { readFileSync } from 'node:fs';
import type { FieldProblem } from './errors.js';
import type { KObject } from './store.js';

// ---- k8s.io/apimachinery/pkg/util/validation ----------------------------------------------

const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUB_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUB_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

const re = (fmt: string): RegExp => new RegExp(`^${fmt}$`);
const QNAME = re(QNAME_FMT);
const LABEL_VALUE = re(LABEL_VALUE_FMT);
const DNS1123_LABEL = re(DNS1123_LABEL_FMT);
const DNS1123_SUB = re(DNS1123_SUB_FMT);

export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (!examples.length) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}
const maxLen = (n: number): string => `must be no more than ${n} characters`;
/** Go's len() of a string: its UTF-8 bytes */
const blen = (s: string): number => Buffer.byteLength(s, 'utf8');

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (blen(v) > 253) errs.push(maxLen(253));
  if (!DNS1123_SUB.test(v)) errs.push(regexError(DNS1123_SUB_MSG, DNS1123_SUB_FMT, 'example.com'));
  return errs;
}

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (blen(v) > 63) errs.push(maxLen(63));
  if (!DNS1123_LABEL.test(v)) errs.push(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  return errs;
}

export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (!prefix.length) errs.push('prefix part must be non-empty');
    else errs.push(...isDNS1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (!name.length) errs.push('name part must be non-empty');
  else if (blen(name) > 63) errs.push(`name part ${maxLen(63)}`);
  if (!QNAME.test(name)) errs.push(`name part ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (blen(v) > 63) errs.push(maxLen(63));
  if (!LABEL_VALUE.test(v)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

/** path.ValidatePathSegmentName (what every name must pass to be a URL segment) */
function pathSegmentName(name: string, prefix: boolean): string[] {
  if (prefix) return name.includes('/') ? [`may not contain '/'`] : name.includes('%') ? [`may not contain '%'`] : [];
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return name.includes('/') ? [`may not contain '/'`] : name.includes('%') ? [`may not contain '%'`] : [];
}

export type NameFn = (name: string, prefix: boolean) => string[];
/** NameIsDNSSubdomain: generateName prefixes may end in '-' */
export const nameIsDNSSubdomain: NameFn = (name, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
export const nameIsDNSLabel: NameFn = (name, prefix) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);
export const nameIsPathSegment: NameFn = pathSegmentName;
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

// ---- api/validation/objectmeta.go ----------------------------------------------------------

const TOTAL_ANNOTATION_SIZE = 256 * 1024;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

function validateLabels(labels: Record<string, unknown> | undefined, path: string, out: FieldProblem[]): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const m of isQualifiedName(k)) out.push({ type: 'Invalid', field: path, value: k, detail: m });
    for (const m of isValidLabelValue(String(v))) out.push({ type: 'Invalid', field: path, value: v, detail: m });
  }
}

function validateAnnotations(
  annotations: Record<string, unknown> | undefined,
  path: string,
  out: FieldProblem[],
): void {
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) out.push({ type: 'Invalid', field: path, value: k, detail: m });
    size += blen(k) + blen(String(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE)
    out.push({ type: 'TooLong', field: path, detail: `may not be more than ${TOTAL_ANNOTATION_SIZE} bytes` });
}

function validateOwnerReferences(refs: OwnerReference[] | undefined, path: string, out: FieldProblem[]): void {
  let firstController = '';
  for (const ref of refs ?? []) {
    const [g, v] = splitApiVersion(ref.apiVersion ?? '');
    void g;
    if (!v)
      out.push({
        type: 'Invalid',
        field: `${path}.apiVersion`,
        value: ref.apiVersion ?? '',
        detail: 'version must not be empty',
      });
    if (!ref.kind)
      out.push({ type: 'Invalid', field: `${path}.kind`, value: ref.kind ?? '', detail: 'must not be empty' });
    if (!ref.name)
      out.push({ type: 'Invalid', field: `${path}.name`, value: ref.name ?? '', detail: 'must not be empty' });
    if (!ref.uid)
      out.push({ type: 'Invalid', field: `${path}.uid`, value: ref.uid ?? '', detail: 'must not be empty' });
    if (!g && v === 'v1' && ref.kind === 'Event')
      out.push({
        type: 'Invalid',
        field: path,
        value: ref,
        detail: '/v1, Kind=Event is disallowed from being an owner',
      });
    if (ref.controller) {
      const cur = `${ref.kind}/${ref.name}`;
      if (firstController)
        out.push({
          type: 'Invalid',
          field: path,
          value: refs,
          detail: `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
        });
      else firstController = cur;
    }
  }
}

/** schema.FromAPIVersionAndKind: "v1" → ["", "v1"], "a/b" → ["a", "b"], "a/b/c" → ["", ""] */
export function splitApiVersion(apiVersion: string): [string, string] {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return ['', parts[0]];
  if (parts.length === 2) return [parts[0], parts[1]];
  return ['', ''];
}

function validateFinalizers(finalizers: string[] | undefined, path: string, core: boolean, out: FieldProblem[]): void {
  const list = finalizers ?? [];
  for (const f of list)
    for (const m of isQualifiedName(f)) out.push({ type: 'Invalid', field: path, value: f, detail: m });
  if (list.includes('orphan') && list.includes('foregroundDeletion'))
    out.push({
      type: 'Invalid',
      field: path,
      value: list,
      detail: 'finalizer orphan and foregroundDeletion cannot be both set',
    });
  if (core)
    list.forEach((f, i) => {
      if (f.split('/').length === 1 && !STANDARD_FINALIZERS.has(f))
        out.push({
          type: 'Invalid',
          field: `${path}[${i}]`,
          value: f,
          detail: 'name is neither a standard finalizer name nor is it fully qualified',
        });
    });
}

export interface MetaRules {
  namespaced: boolean;
  nameFn: NameFn;
  /** the core kinds' extra finalizer rule */ core: boolean;
}

/** ValidateObjectMeta (with the core rule when asked), field paths under "metadata". */
export function validateObjectMeta(o: KObject, rules: MetaRules): FieldProblem[] {
  const m = o.metadata;
  const out: FieldProblem[] = [];
  if (m.generateName)
    for (const msg of rules.nameFn(m.generateName, true))
      out.push({ type: 'Invalid', field: 'metadata.generateName', value: m.generateName, detail: msg });
  if (!m.name) out.push({ type: 'Required', field: 'metadata.name', detail: 'name or generateName is required' });
  else
    for (const msg of rules.nameFn(m.name, false))
      out.push({ type: 'Invalid', field: 'metadata.name', value: m.name, detail: msg });
  if (rules.namespaced) {
    if (!m.namespace) out.push({ type: 'Required', field: 'metadata.namespace', detail: '' });
    else
      for (const msg of isDNS1123Label(m.namespace))
        out.push({ type: 'Invalid', field: 'metadata.namespace', value: m.namespace, detail: msg });
  } else if (m.namespace)
    out.push({ type: 'Forbidden', field: 'metadata.namespace', detail: 'not allowed on this type' });
  if (typeof m.generation === 'number' && m.generation < 0)
    out.push({
      type: 'Invalid',
      field: 'metadata.generation',
      value: m.generation,
      detail: 'must be greater than or equal to 0',
    });
  validateLabels(m.labels, 'metadata.labels', out);
  validateAnnotations(m.annotations, 'metadata.annotations', out);
  validateOwnerReferences(m.ownerReferences as OwnerReference[] | undefined, 'metadata.ownerReferences', out);
  validateFinalizers(m.finalizers as string[] | undefined, 'metadata.finalizers', rules.core, out);
  return out;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** ValidateObjectMetaUpdate (with the core rule when asked). */
export function validateObjectMetaUpdate(o: KObject, old: KObject, core: boolean): FieldProblem[] {
  const m = o.metadata;
  const om = old.metadata;
  const out: FieldProblem[] = [];
  if (om.deletionTimestamp) {
    const extra = [
      ...new Set(((m.finalizers ?? []) as string[]).filter((f) => !((om.finalizers ?? []) as string[]).includes(f))),
    ].sort();
    if (extra.length)
      out.push({
        type: 'Forbidden',
        field: 'metadata.finalizers',
        detail: `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map((f) => JSON.stringify(f)).join(', ')}}`,
      });
  }
  if (!m.resourceVersion)
    out.push({
      type: 'Invalid',
      field: 'metadata.resourceVersion',
      value: m.resourceVersion ?? '',
      detail: 'must be specified for an update',
    });
  if ((m.generation ?? 0) < (om.generation ?? 0))
    out.push({
      type: 'Invalid',
      field: 'metadata.generation',
      value: m.generation ?? 0,
      detail: 'must not be decremented',
    });
  for (const k of [
    'name',
    'namespace',
    'uid',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ] as const) {
    if (
      !sameJson(
        m[k] ?? (k === 'name' || k === 'namespace' || k === 'uid' ? '' : null),
        om[k] ?? (k === 'name' || k === 'namespace' || k === 'uid' ? '' : null),
      )
    ) {
      out.push({ type: 'Invalid', field: `metadata.${k}`, value: m[k] ?? null, detail: 'field is immutable' });
    }
  }
  validateLabels(m.labels, 'metadata.labels', out);
  validateAnnotations(m.annotations, 'metadata.annotations', out);
  validateOwnerReferences(m.ownerReferences as OwnerReference[] | undefined, 'metadata.ownerReferences', out);
  if (core) validateFinalizers(m.finalizers as string[] | undefined, 'metadata.finalizers', true, out);
  return out;
}

/** The custom resource strategy's warnings for finalizer names it would not accept from a core kind. */
export function finalizerWarnings(o: KObject, old: KObject | undefined): string[] {
  const added = [...new Set((o.metadata.finalizers ?? []) as string[])]
    .filter((f) => !((old?.metadata.finalizers ?? []) as string[]).includes(f))
    .sort();
  const out: string[] = [];
  for (const f of added) {
    for (const m of isQualifiedName(f)) out.push(`metadata.finalizers: ${JSON.stringify(f)}: ${m}`);
    if (f.split('/').length === 1 && !STANDARD_FINALIZERS.has(f)) {
      out.push(
        f.includes('.')
          ? `metadata.finalizers: ${JSON.stringify(f)}: prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers`
          : `metadata.finalizers: ${JSON.stringify(f)}: prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers`,
      );
    }
  }
  return out;
}

// ---- declared fields (fieldValidation) ------------------------------------------------------

type FieldNode = 0 | 1 | string | { p: Record<string, FieldNode> } | { m: FieldNode } | { a: FieldNode };
interface FieldsFile {
  types: Record<string, FieldNode>;
  kinds: Record<string, string>;
}

let fields: FieldsFile | undefined;
function fieldsFile(): FieldsFile {
  fields ??= JSON.parse(readFileSync(new URL('./fields.json', import.meta.url), 'utf8')) as FieldsFile;
  return fields;
}

const OBJECT_META = 'meta/v1/ObjectMeta';

function walkFields(v: unknown, node: FieldNode, path: string, out: string[], prune: boolean): void {
  const f = fieldsFile();
  while (typeof node === 'string') node = f.types[node] ?? 1;
  if (node === 0 || node === 1 || v === null || typeof v !== 'object') return;
  if ('a' in node) {
    if (Array.isArray(v)) v.forEach((x, i) => walkFields(x, node.a, `${path}[${i}]`, out, prune));
    return;
  }
  if (Array.isArray(v)) return;
  const o = v as Record<string, unknown>;
  if ('m' in node) {
    for (const k of Object.keys(o)) walkFields(o[k], node.m, `${path}[${k}]`, out, prune);
    return;
  }
  for (const k of Object.keys(o)) {
    const p = path ? `${path}.${k}` : k;
    const child = node.p[k];
    if (child === undefined) {
      out.push(p);
      if (prune) delete o[k];
      continue;
    }
    walkFields(o[k], child, p, out, prune);
  }
}

/** Whether fields.json knows this built-in kind. */
export function hasDeclaredFields(group: string, version: string, kind: string): boolean {
  return `${group}/${version}/${kind}` in fieldsFile().kinds;
}

/**
 * Undeclared fields of a built-in object in document order ("foo", "metadata.bar",
 * "spec.containers[0].x"), removed from it when `prune`. Kinds fields.json does not know have none.
 */
export function undeclaredBuiltinFields(
  group: string,
  version: string,
  kind: string,
  o: Record<string, unknown>,
  prune: boolean,
): string[] {
  const name = fieldsFile().kinds[`${group}/${version}/${kind}`];
  if (!name) return [];
  const out: string[] = [];
  walkFields(o, name, '', out, prune);
  return out;
}

/** Undeclared fields of metadata (any kind: custom resources too). */
export function undeclaredMetaFields(meta: unknown, prune: boolean): string[] {
  const out: string[] = [];
  walkFields(meta, fieldsFile().kinds[OBJECT_META], 'metadata', out, prune);
  return out;
}
