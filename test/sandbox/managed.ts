// Field ownership for server-side apply, at the granularity the sandbox can vouch for: every
// scalar leaf (and every list, taken whole) of an object is owned by the field managers that set
// it. Creates and updates give a manager the leaves they change (taking them from the others, as
// an Update does), applies give the applier the leaves it applies; an apply conflicts when it
// changes a leaf another manager owns. Associative lists (lists of objects in built-in kinds,
// x-kubernetes-list-type map/set in CRDs) are refused: their per-item ownership is not served.
// Ownership is kept beside the store, never shown: responses carry no managedFields.
import type { Json } from './patch.js';
import type { KObject } from './store.js';

export type Leaves = Map<string, string>;

/** The ownable leaves of an object: ".spec.size" → JSON of the value; lists whole; metadata's labels, annotations, finalizers, ownerReferences. */
export function leavesOf(o: KObject | Record<string, unknown>, statusOnly?: boolean): Leaves {
  const out: Leaves = new Map();
  const walk = (v: unknown, path: string): void => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    } else out.set(path, JSON.stringify(v));
  };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (statusOnly !== undefined && (k === 'status') !== statusOnly) continue;
    if (k === 'metadata') {
      const m = (v ?? {}) as Record<string, unknown>;
      for (const mk of ['labels', 'annotations'])
        for (const [lk, lv] of Object.entries((m[mk] ?? {}) as object))
          out.set(`.metadata.${mk}.${lk}`, JSON.stringify(lv));
      for (const mk of ['finalizers', 'ownerReferences'])
        if (m[mk] !== undefined) out.set(`.metadata.${mk}`, JSON.stringify(m[mk]));
      continue;
    }
    walk(v, `.${k}`);
  }
  return out;
}

export interface Manager {
  name: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource: string;
  fields: Set<string>;
}

/** Ownership of one object (one uid). */
export class Ownership {
  readonly managers: Manager[] = [];

  private get(name: string, operation: Manager['operation'], apiVersion: string, subresource: string): Manager {
    let m = this.managers.find((x) => x.name === name && x.operation === operation && x.subresource === subresource);
    if (!m) {
      m = { name, operation, apiVersion, subresource, fields: new Set() };
      this.managers.push(m);
    }
    m.apiVersion = apiVersion;
    return m;
  }

  /** A create or an update by `manager` from `before` (undefined: create) to `after`. */
  recordUpdate(
    manager: string,
    apiVersion: string,
    subresource: string,
    before: Leaves | undefined,
    after: Leaves,
  ): void {
    const changed = [...after].filter(([k, v]) => before?.get(k) !== v).map(([k]) => k);
    const gone = before ? [...before.keys()].filter((k) => !after.has(k)) : [];
    for (const m of this.managers) for (const k of gone) m.fields.delete(k);
    if (changed.length) {
      for (const m of this.managers) for (const k of changed) m.fields.delete(k);
      const m = this.get(manager, 'Update', apiVersion, subresource);
      for (const k of changed) m.fields.add(k);
    }
    this.prune();
  }

  /** Fields `manager` applied last time (its Apply entry). */
  applied(manager: string, subresource: string): Set<string> {
    return (
      this.managers.find((m) => m.name === manager && m.operation === 'Apply' && m.subresource === subresource)
        ?.fields ?? new Set()
    );
  }

  /** Other managers owning a field (any operation, same subresource). */
  ownersOf(field: string, except: string, subresource: string): Manager[] {
    return this.managers.filter(
      (m) => m.fields.has(field) && !(m.name === except && m.operation === 'Apply') && m.subresource === subresource,
    );
  }

  /** After an apply: the applier owns exactly `applied`; with force, others lose those fields. */
  recordApply(
    manager: string,
    apiVersion: string,
    subresource: string,
    applied: Set<string>,
    force: boolean,
    after: Leaves,
  ): void {
    if (force)
      for (const m of this.managers)
        if (!(m.name === manager && m.operation === 'Apply')) for (const k of applied) m.fields.delete(k);
    const m = this.get(manager, 'Apply', apiVersion, subresource);
    m.fields = new Set([...applied].filter((k) => after.has(k)));
    for (const x of this.managers) for (const k of [...x.fields]) if (!after.has(k)) x.fields.delete(k);
    this.prune();
  }

  private prune(): void {
    for (let i = this.managers.length - 1; i >= 0; i--)
      if (!this.managers[i].fields.size && this.managers[i].operation === 'Update') this.managers.splice(i, 1);
  }
}

/** Sets `value` at a leaf path (".spec.size", ".metadata.labels.a") in an object. */
export function setLeaf(o: Record<string, unknown>, path: string, value: Json): void {
  const parts = splitPath(path);
  let cur = o;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object' || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** Removes a leaf path, and maps left empty by it (as a removed field's parent goes when nothing else is in it). */
export function removeLeaf(o: Record<string, unknown>, path: string): void {
  const parts = splitPath(path);
  const chain: Array<Record<string, unknown>> = [o];
  for (const p of parts.slice(0, -1)) {
    const next = chain[chain.length - 1][p];
    if (!next || typeof next !== 'object' || Array.isArray(next)) return;
    chain.push(next as Record<string, unknown>);
  }
  delete chain[chain.length - 1][parts[parts.length - 1]];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]).length) break;
    delete chain[i - 1][parts[i - 1]];
  }
}

/** ".metadata.labels.app.kubernetes.io/name" splits at labels/annotations keys whole. */
function splitPath(path: string): string[] {
  const parts = path.slice(1).split('.');
  if (parts[0] === 'metadata' && (parts[1] === 'labels' || parts[1] === 'annotations') && parts.length > 3)
    return [parts[0], parts[1], parts.slice(2).join('.')];
  return parts;
}
