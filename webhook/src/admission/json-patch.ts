// A strict RFC 6902 applier for the ops the webhook emits (add, replace, remove, test). The
// mutating handler runs every patch through it before answering: the apiserver turns a patch that
// fails to apply into an HTTP 500 for the user, so a patch that does not apply here is never sent.
import type { JsonPatchOp } from '#schemas/src/index.js';

export class PatchError extends Error {}

function unescapePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`path ${JSON.stringify(path)} is not a JSON pointer`);
  return path
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new PatchError(`path ${JSON.stringify(path)} has a bad ~ escape`);
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

function arrayIndex(arr: unknown[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`array index ${JSON.stringify(token)} is not a number`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} is out of bounds`);
  return i;
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

// defineProperty, not assignment: a key named "__proto__" must stay a plain key.
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Applies `ops` to `doc` in place and returns the (possibly replaced) document; throws PatchError. */
export function applyJsonPatch(doc: unknown, ops: readonly JsonPatchOp[]): unknown {
  let root = doc;
  for (const op of ops) {
    const tokens = unescapePointer(op.path);
    if (tokens.length === 0) {
      if (op.op === 'add' || op.op === 'replace') root = structuredClone(op.value);
      else if (op.op === 'test') {
        if (JSON.stringify(root) !== JSON.stringify(op.value)) throw new PatchError('test failed at the document root');
      } else throw new PatchError('cannot remove the document root');
      continue;
    }
    let parent: unknown = root;
    for (const t of tokens.slice(0, -1)) {
      if (!isContainer(parent)) throw new PatchError(`path ${op.path}: parent is not an object or array`);
      if (Array.isArray(parent)) parent = parent[arrayIndex(parent, t, false)];
      else {
        if (!hasOwn(parent, t)) throw new PatchError(`path ${op.path}: ${t} does not exist`);
        parent = parent[t];
      }
    }
    if (!isContainer(parent)) throw new PatchError(`path ${op.path}: parent is not an object or array`);
    const last = tokens[tokens.length - 1] as string;
    if (Array.isArray(parent)) {
      const i = arrayIndex(parent, last, op.op === 'add');
      if (op.op === 'add') parent.splice(i, 0, structuredClone(op.value));
      else if (op.op === 'replace') parent[i] = structuredClone(op.value);
      else if (op.op === 'remove') parent.splice(i, 1);
      else if (JSON.stringify(parent[i]) !== JSON.stringify(op.value))
        throw new PatchError(`test failed at ${op.path}`);
    } else {
      const exists = hasOwn(parent, last);
      if (op.op === 'add') setOwn(parent, last, structuredClone(op.value));
      else if (!exists) throw new PatchError(`path ${op.path} does not exist`);
      else if (op.op === 'replace') setOwn(parent, last, structuredClone(op.value));
      else if (op.op === 'remove') delete parent[last];
      else if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
        throw new PatchError(`test failed at ${op.path}`);
    }
  }
  return root;
}
