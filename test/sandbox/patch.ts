// The three patch formats kube-apiserver accepts: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902) and strategic merge patch (the subset kubectl sends for the built-in kinds).
import { badRequest, ApiError } from './errors.js';
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

export interface JsonPatchOp { op: string; path: string; value?: Json; from?: string }

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer "${p}"`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function walk(doc: Json, parts: string[], path: string): Json {
  let cur: Json = doc;
  for (const part of parts) {
    if (Array.isArray(cur)) {
      const i = Number(part);
      if (!/^\d+$/.test(part) || i >= cur.length) throw jsonPatchError(`unable to access invalid index: ${part}`, path);
      cur = cur[i];
    } else if (isObj(cur)) {
      if (!(part in cur)) throw jsonPatchError(`missing value`, path);
      cur = cur[part];
    } else throw jsonPatchError(`doc is missing path: "${path}"`, path);
  }
  return cur;
}

function jsonPatchError(why: string, path: string): ApiError {
  // kube-apiserver answers a JSON patch that does not apply with 422 and this wording
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${why}: ${path}`);
}

export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('the server rejected our request due to an error in our request: json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let root: Json = clone(doc);
  for (const raw of ops as JsonPatchOp[]) {
    const { op, path } = raw;
    if (typeof path !== 'string') throw badRequest(`the server rejected our request due to an error in our request: missing path`);
    const parts = parsePointer(path);
    const parentOf = (): { parent: Json; key: string } => {
      if (parts.length === 0) throw jsonPatchError('cannot operate on the document root', path);
      return { parent: walk(root, parts.slice(0, -1), path), key: parts[parts.length - 1] };
    };
    const add = (value: Json): void => {
      if (parts.length === 0) { root = value; return; }
      const { parent, key } = parentOf();
      if (Array.isArray(parent)) {
        const i = key === '-' ? parent.length : Number(key);
        if (!(key === '-' || /^\d+$/.test(key)) || i > parent.length) throw jsonPatchError(`unable to access invalid index: ${key}`, path);
        parent.splice(i, 0, value);
      } else if (isObj(parent)) parent[key] = value;
      else throw jsonPatchError(`doc is missing path: "${path}"`, path);
    };
    const remove = (): Json => {
      const { parent, key } = parentOf();
      if (Array.isArray(parent)) {
        const i = Number(key);
        if (!/^\d+$/.test(key) || i >= parent.length) throw jsonPatchError(`unable to remove nonexistent key: ${key}`, path);
        return parent.splice(i, 1)[0];
      }
      if (isObj(parent) && key in parent) { const v = parent[key]; delete parent[key]; return v; }
      throw jsonPatchError(`unable to remove nonexistent key: ${key}`, path);
    };
    switch (op) {
      case 'add': add(clone(raw.value as Json)); break;
      case 'remove': remove(); break;
      case 'replace': remove(); add(clone(raw.value as Json)); break;
      case 'move': {
        const fromParts = parsePointer(raw.from ?? '');
        const v = walk(root, fromParts, raw.from ?? '');
        const saved = parts.splice(0, parts.length, ...fromParts);
        remove(); parts.splice(0, parts.length, ...saved); add(v); break;
      }
      case 'copy': add(clone(walk(root, parsePointer(raw.from ?? ''), raw.from ?? ''))); break;
      case 'test': {
        const v = walk(root, parts, path);
        if (JSON.stringify(canonical(v)) !== JSON.stringify(canonical(raw.value as Json))) throw jsonPatchError('testing value failed', path);
        break;
      }
      default: throw badRequest(`the server rejected our request due to an error in our request: Unexpected kind: ${op}`);
    }
  }
  return root;
}

export function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}
export const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a as Json)) === JSON.stringify(canonical(b as Json));

/**
 * Strategic merge patch for the built-in kinds: maps merge as in merge patch, lists with a merge
 * key merge element-wise, scalar sets union; `$patch`, `$retainKeys`, `$setElementOrder/` and
 * `$deleteFromPrimitiveList/` directives are honoured.
 */
export function strategicMergePatch(target: Json | undefined, patch: Json, path = ''): Json {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === 'replace') { const p = { ...patch }; delete p.$patch; return stripDirectives(p); }
  if (patch.$patch === 'delete') return null;
  const out: Obj = isObj(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((v as Json[]).map((x) => JSON.stringify(x)));
      if (Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) { delete out[k]; continue; }
    if (Array.isArray(v)) { out[k] = mergeList(out[k], v, childPath); continue; }
    const merged = strategicMergePatch(out[k], v, childPath);
    if (merged === null) delete out[k]; else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k];
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('$')).map(([k, x]) => [k, stripDirectives(x)]));
}

function mergeList(target: Json | undefined, patch: Json[], path: string): Json {
  const genericPath = path.replace(/^spec\.template\./, '');
  const key = SMP_MERGE_KEYS[genericPath] ?? SMP_MERGE_KEYS[path.split('.').slice(-1)[0]];
  const cur = Array.isArray(target) ? [...target] : [];
  if (patch.some((e) => isObj(e) && e.$patch === 'replace')) return stripDirectives(patch.filter((e) => !(isObj(e) && e.$patch === 'replace')));
  if (key) {
    for (const el of patch) {
      if (!isObj(el)) continue;
      const i = cur.findIndex((c) => isObj(c) && c[key] === el[key]);
      if (el.$patch === 'delete') { if (i >= 0) cur.splice(i, 1); continue; }
      if (i >= 0) cur[i] = strategicMergePatch(cur[i], el, path);
      else cur.push(stripDirectives(el));
    }
    return cur;
  }
  if (SMP_SET_LISTS.has(path)) {
    for (const el of patch) if (!cur.some((c) => deepEqual(c, el))) cur.push(el);
    return cur;
  }
  return stripDirectives(patch);
}
