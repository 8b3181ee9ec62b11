// The three patch formats kube-apiserver accepts: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902) and strategic merge patch (the subset kubectl sends for the built-in kinds).
import { badRequest } from './errors.js';
import { SMP_MERGE_KEYS, SMP_SET_LISTS } from './resources.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const clone = <T>(v: T): T => structuredClone(v);

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export interface JsonPatchOp {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

/** A JSON patch that does not apply, in the words of gopkg.in/evanphx/json-patch.v4 (kube-apiserver's). */
export class JsonPatchError extends Error {}

const MISSING = 'missing value';
const INVALID_INDEX = 'invalid index referenced';
const decodeKey = (k: string): string => k.replace(/~1/g, '/').replace(/~0/g, '~');

type Container = { kind: 'doc'; v: Obj } | { kind: 'ary'; v: Json[]; set: (a: Json[]) => void };

/** strconv.Atoi */
function atoi(key: string): number {
  if (!/^[+-]?\d+$/.test(key)) throw new JsonPatchError(`strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`);
  return Number(key);
}

function cGet(c: Container, key: string): Json | undefined {
  if (c.kind === 'doc') return c.v[key];
  let i = atoi(key);
  if (i < 0) {
    if (i < -c.v.length) throw new JsonPatchError(`Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
    i += c.v.length;
  }
  if (i >= c.v.length) throw new JsonPatchError(`Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
  return c.v[i];
}

function cAdd(c: Container, key: string, val: Json): void {
  if (c.kind === 'doc') {
    c.v[key] = val;
    return;
  }
  if (key === '-') {
    c.v.push(val);
    return;
  }
  let i: number;
  try {
    i = atoi(key);
  } catch (e) {
    throw new JsonPatchError(`value was not a proper array index: '${key}': ${(e as Error).message}`);
  }
  const size = c.v.length + 1;
  if (i >= size) throw new JsonPatchError(`Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
  if (i < 0) {
    if (i < -size) throw new JsonPatchError(`Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
    i += size;
  }
  c.v.splice(i, 0, val);
}

function cSet(c: Container, key: string, val: Json): void {
  if (c.kind === 'doc') {
    c.v[key] = val;
    return;
  }
  let i = atoi(key);
  if (i < 0) {
    if (i < -c.v.length) throw new JsonPatchError(`Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
    i += c.v.length;
  }
  c.v[i] = val;
}

function cRemove(c: Container, key: string): void {
  if (c.kind === 'doc') {
    if (!(key in c.v)) throw new JsonPatchError(`Unable to remove nonexistent key: ${key}: ${MISSING}`);
    delete c.v[key];
    return;
  }
  let i = atoi(key);
  if (i >= c.v.length) throw new JsonPatchError(`Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
  if (i < 0) {
    if (i < -c.v.length) throw new JsonPatchError(`Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
    i += c.v.length;
  }
  c.v.splice(i, 1);
}

function container(v: Json | undefined): Container | undefined {
  if (Array.isArray(v)) return { kind: 'ary', v, set: () => undefined };
  if (isObj(v)) return { kind: 'doc', v };
  return undefined;
}

/** findObject: the container of the path's last segment, or undefined. */
function findObject(root: Json, path: string): { c: Container; key: string } | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let doc = container(root);
  for (const part of split.slice(1, -1)) {
    if (!doc) return undefined;
    let next: Json | undefined;
    try {
      next = cGet(doc, decodeKey(part));
    } catch {
      return undefined;
    }
    if (next === undefined || next === null) return undefined;
    doc = container(next);
  }
  return doc ? { c: doc, key: decodeKey(split[split.length - 1]) } : undefined;
}

const wrap = (prefix: string, e: unknown): JsonPatchError => new JsonPatchError(`${prefix}: ${(e as Error).message}`);

/**
 * RFC 6902 JSON patch as gopkg.in/evanphx/json-patch.v4 applies it (negative indices, replace of a
 * missing object key adds it); failures are JsonPatchError with that library's messages.
 */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops))
    throw badRequest(
      'the server rejected our request due to an error in our request: json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  let root: Json = clone(doc);
  for (const raw of ops as JsonPatchOp[]) {
    const op = raw?.op;
    const path = raw?.path;
    const hasPath = typeof path === 'string';
    switch (op) {
      case 'add': {
        if (!hasPath) throw new JsonPatchError(`add operation failed to decode path: ${MISSING}`);
        const f = findObject(root, path);
        if (!f) throw new JsonPatchError(`add operation does not apply: doc is missing path: "${path}": ${MISSING}`);
        try {
          cAdd(f.c, f.key, clone(raw.value as Json));
        } catch (e) {
          throw wrap(`error in add for path: '${path}'`, e);
        }
        break;
      }
      case 'remove': {
        if (!hasPath) throw new JsonPatchError(`remove operation failed to decode path: ${MISSING}`);
        const f = findObject(root, path);
        if (!f) throw new JsonPatchError(`remove operation does not apply: doc is missing path: "${path}": ${MISSING}`);
        try {
          cRemove(f.c, f.key);
        } catch (e) {
          throw wrap(`error in remove for path: '${path}'`, e);
        }
        break;
      }
      case 'replace': {
        if (!hasPath)
          throw new JsonPatchError(`replace operation failed to decode path: operation missing path field: ${MISSING}`);
        if (path === '') {
          if (!isObj(raw.value) && !Array.isArray(raw.value))
            throw new JsonPatchError('replace operation value must be object or array: <nil>');
          root = clone(raw.value as Json);
          break;
        }
        const f = findObject(root, path);
        if (!f) throw new JsonPatchError(`replace operation does not apply: doc is missing path: ${path}: ${MISSING}`);
        try {
          cGet(f.c, f.key);
        } catch {
          throw new JsonPatchError(`replace operation does not apply: doc is missing key: ${path}: ${MISSING}`);
        }
        try {
          cSet(f.c, f.key, clone(raw.value as Json));
        } catch (e) {
          throw wrap(`error in remove for path: '${path}'`, e);
        }
        break;
      }
      case 'move':
      case 'copy': {
        const from = raw.from;
        if (typeof from !== 'string')
          throw new JsonPatchError(`${op} operation failed to decode from: operation, missing from field: ${MISSING}`);
        const f = findObject(root, from);
        if (!f)
          throw new JsonPatchError(`${op} operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
        let val: Json | undefined;
        try {
          val = cGet(f.c, f.key);
        } catch (e) {
          throw wrap(op === 'move' ? `error in move for path: '${f.key}'` : `error in copy for from: '${from}'`, e);
        }
        if (op === 'move') {
          try {
            cRemove(f.c, f.key);
          } catch (e) {
            throw wrap(`error in move for path: '${f.key}'`, e);
          }
        }
        if (!hasPath) throw new JsonPatchError(`${op} operation failed to decode path: ${MISSING}`);
        const t = findObject(root, path);
        if (!t)
          throw new JsonPatchError(
            `${op} operation does not apply: doc is missing destination path: ${path}: ${MISSING}`,
          );
        try {
          cAdd(t.c, t.key, clone((val ?? null) as Json));
        } catch (e) {
          throw wrap(op === 'move' ? `error in move for path: '${path}'` : 'error while adding value during copy', e);
        }
        break;
      }
      case 'test': {
        if (!hasPath)
          throw new JsonPatchError(`test operation failed to decode path: operation missing path field: ${MISSING}`);
        const want = raw.value === undefined ? null : raw.value;
        if (path === '') {
          if (!deepEqual(root, want)) throw new JsonPatchError(`testing value ${path} failed: test failed`);
          break;
        }
        const f = findObject(root, path);
        if (!f) throw new JsonPatchError(`test operation does not apply: is missing path: ${path}: ${MISSING}`);
        let val: Json | undefined;
        try {
          val = cGet(f.c, f.key);
        } catch (e) {
          throw wrap(`error in test for path: '${path}'`, e);
        }
        if (val === undefined || val === null) {
          if (want === null) break;
          throw new JsonPatchError(`testing value ${path} failed: test failed`);
        }
        if (!deepEqual(val, want)) throw new JsonPatchError(`testing value ${path} failed: test failed`);
        break;
      }
      default:
        throw new JsonPatchError(`Unexpected kind: ${String(op ?? 'unknown')}`);
    }
  }
  return root;
}

export function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObj(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  return v;
}
export const deepEqual = (a: unknown, b: unknown): boolean =>
  JSON.stringify(canonical(a as Json)) === JSON.stringify(canonical(b as Json));

/**
 * Strategic merge patch for the built-in kinds: maps merge as in merge patch, lists with a merge
 * key merge element-wise, scalar sets union; `$patch`, `$retainKeys`, `$setElementOrder/` and
 * `$deleteFromPrimitiveList/` directives are honoured.
 */
export function strategicMergePatch(target: Json | undefined, patch: Json, path = ''): Json {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const p = { ...patch };
    delete p.$patch;
    return stripDirectives(p);
  }
  if (patch.$patch === 'delete') return null;
  const out: Obj = isObj(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList') && !k.startsWith('$deleteFromPrimitiveList/'))
      throw badRequest('invalid patch format of primitive list');
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((v as Json[]).map((x) => JSON.stringify(x)));
      if (Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      const order = patch[`$setElementOrder/${k}`];
      out[k] = mergeList(out[k], v, childPath, Array.isArray(order) ? order : undefined);
      continue;
    }
    const merged = strategicMergePatch(out[k], v, childPath);
    if (merged === null) delete out[k];
    else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k];
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !k.startsWith('$'))
      .map(([k, x]) => [k, stripDirectives(x)]),
  );
}

/**
 * The order strategic merge patch leaves a merged list in (normalizeElementOrder): the patch's
 * items in the patch's order (or $setElementOrder's), interleaved with the items only the server
 * had, which keep their relative order.
 */
function smpOrder(merged: Json[], order: Json[], original: Json[], id: (x: Json) => string): Json[] {
  const pids = order.map(id);
  const oids = original.map(id);
  const patchItems = merged
    .filter((x) => pids.includes(id(x)))
    .sort((a, b) => pids.indexOf(id(a)) - pids.indexOf(id(b)));
  const serverOnly = merged
    .filter((x) => !pids.includes(id(x)))
    .sort((a, b) => oids.indexOf(id(a)) - oids.indexOf(id(b)));
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (i >= serverOnly.length) out.push(patchItems[j++]);
    else if (j >= patchItems.length) out.push(serverOnly[i++]);
    else {
      const li = oids.indexOf(id(serverOnly[i]));
      const ri = oids.indexOf(id(patchItems[j]));
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(patchItems[j++]);
    }
  }
  return out;
}

function mergeList(target: Json | undefined, patch: Json[], path: string, elementOrder?: Json[]): Json {
  const genericPath = path.replace(/^spec\.template\./, '');
  const key = SMP_MERGE_KEYS[genericPath] ?? SMP_MERGE_KEYS[path.split('.').slice(-1)[0]];
  const orig = Array.isArray(target) ? target : [];
  const cur = [...orig];
  if (patch.some((e) => isObj(e) && e.$patch === 'replace'))
    return stripDirectives(patch.filter((e) => !(isObj(e) && e.$patch === 'replace')));
  if (key) {
    for (const el of patch) {
      if (!isObj(el)) continue;
      const i = cur.findIndex((c) => isObj(c) && c[key] === el[key]);
      if (el.$patch === 'delete') {
        if (i >= 0) cur.splice(i, 1);
        continue;
      }
      if (i >= 0) cur[i] = strategicMergePatch(cur[i], el, path);
      else cur.push(stripDirectives(el));
    }
    const id = (x: Json): string => JSON.stringify(isObj(x) ? (x[key] ?? null) : x);
    return smpOrder(cur, elementOrder ?? patch.filter((e) => !(isObj(e) && e.$patch === 'delete')), orig, id);
  }
  if (SMP_SET_LISTS.has(path)) {
    for (const el of patch) if (!cur.some((c) => deepEqual(c, el))) cur.push(el);
    return smpOrder(cur, elementOrder ?? patch, orig, (x) => JSON.stringify(x));
  }
  return stripDirectives(patch);
}
