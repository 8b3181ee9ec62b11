// The CEL rules (x-kubernetes-validations) of the committed CRDs, run over a write as the
// apiserver runs them, with a real CEL implementation (@marcbachmann/cel-js): every rule at every
// node the new object holds; a transition rule (one that reads oldSelf) only where an old value
// correlates: object fields by name, map entries by key, never list items (no listType here).
import { readFileSync } from 'node:fs';
import { evaluate } from '@marcbachmann/cel-js';
import { parse as parseYaml } from 'yaml';
import { KINDS, type KindName } from '#schemas/src/index.js';

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string }[];
}

const schemas = new Map<KindName, SchemaNode>();

/** The openAPIV3Schema of a kind's committed CRD. */
export function crdSchema(kind: KindName): SchemaNode {
  let s = schemas.get(kind);
  if (!s) {
    const info = KINDS.find((k) => k.kind === kind)!;
    const crd = parseYaml(
      readFileSync(new URL(`../../manifests/crds/${info.plural}.${info.group}.yaml`, import.meta.url), 'utf8'),
    ) as {
      spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] };
    };
    s = crd.spec.versions[0]!.schema.openAPIV3Schema;
    schemas.set(kind, s);
  }
  return s;
}

/** JSON as the apiserver hands it to CEL: integers are int64 (BigInt in cel-js). */
function toCel(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  return v;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Each rule that fails, as `path: rule`; an empty list when the CRD admits the write. */
export function celViolations(kind: KindName, object: unknown, oldObject?: unknown): string[] {
  const out: string[] = [];
  const walk = (node: SchemaNode, self: unknown, oldSelf: unknown, path: string): void => {
    if (self === undefined || self === null) return;
    for (const r of node['x-kubernetes-validations'] ?? []) {
      const transition = /\boldSelf\b/.test(r.rule);
      if (transition && (oldSelf === undefined || oldSelf === null)) continue;
      const vars = transition ? { self: toCel(self), oldSelf: toCel(oldSelf) } : { self: toCel(self) };
      let ok: unknown;
      try {
        ok = evaluate(r.rule, vars);
      } catch (e) {
        ok = `error: ${e instanceof Error ? e.message : String(e)}`;
      }
      if (ok !== true) out.push(`${path || '<root>'}: ${r.message ?? r.rule} (${String(ok)})`);
    }
    if (node.properties && isObj(self)) {
      for (const [k, child] of Object.entries(node.properties))
        walk(child, self[k], isObj(oldSelf) ? oldSelf[k] : undefined, `${path}.${k}`);
    }
    if (node.items && Array.isArray(self)) self.forEach((x, i) => walk(node.items!, x, undefined, `${path}[${i}]`));
    if (isObj(node.additionalProperties) && isObj(self)) {
      for (const [k, v] of Object.entries(self))
        walk(node.additionalProperties, v, isObj(oldSelf) ? oldSelf[k] : undefined, `${path}[${k}]`);
    }
  };
  walk(crdSchema(kind), object, oldObject, '');
  return out;
}
