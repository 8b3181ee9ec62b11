// Deprecated fields as data, and the one function that turns them into a JSONPatch, warnings and
// conflicts. The old field is kept: older controllers still read it; readers prefer the new one.
import { type FieldError, pathOf } from './field-error.js';
import { getPath, isObject, isSet, jsonEqual } from './object-path.js';
import type { KindName } from './registry.js';

export interface Deprecation {
  kind: KindName;
  deprecated: readonly string[];
  /** null: accepted as is, nothing to map and nothing to warn about. */
  replacement: readonly string[] | null;
  /** Fields that make the replacement impossible to set (the other side of its oneof). */
  blockedBy?: readonly (readonly string[])[];
}

export const DEPRECATIONS: readonly Deprecation[] = [
  { kind: 'IssuedCertificate', deprecated: ['spec', 'org'], replacement: ['spec', 'certOptions', 'orgName'] },
  {
    kind: 'IssuedCertificate',
    deprecated: ['spec', 'signingCertificateSecret'],
    replacement: ['spec', 'glooMeshCa', 'signingCertificateSecret'],
    blockedBy: [['spec', 'agentCa']],
  },
  { kind: 'VirtualMeshCertificateSigningRequest', deprecated: ['spec', 'certConfig', 'org'], replacement: null },
];

// applyOp and the JSON pointers below take these paths as plain field names.
for (const d of DEPRECATIONS) {
  for (const seg of [...d.deprecated, ...(d.replacement ?? [])]) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(seg)) throw new Error(`DEPRECATIONS: ${JSON.stringify(seg)} is not a plain field name`);
  }
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

const pointer = (segments: readonly string[]) => segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/** Builds `value` at `path` under the deepest existing ancestor, so the op cannot fail to apply. */
function setOp(obj: unknown, path: readonly string[], value: unknown): JsonPatchOp {
  let depth = 0;
  while (depth < path.length - 1 && isObject(getPath(obj, path.slice(0, depth + 1)))) depth++;
  // path[0..depth) are existing objects; add path[0..depth] as a whole.
  let nested: unknown = value;
  for (let i = path.length - 1; i > depth; i--) nested = { [path[i]!]: nested };
  const target = path.slice(0, depth + 1);
  const exists = getPath(obj, target) !== undefined;
  return { op: exists ? 'replace' : 'add', path: pointer(target), value: nested };
}

export function deprecationPatch(obj: unknown): { patch: JsonPatchOp[]; warnings: string[]; conflicts: FieldError[] } {
  const patch: JsonPatchOp[] = [];
  const warnings: string[] = [];
  const conflicts: FieldError[] = [];
  if (!isObject(obj) || typeof obj.kind !== 'string') return { patch, warnings, conflicts };
  // Ops apply in order, so later ones must see the effect of earlier ones.
  let view: Record<string, unknown> = obj;
  for (const d of DEPRECATIONS) {
    if (d.kind !== obj.kind || !d.replacement) continue;
    const oldValue = getPath(view, d.deprecated);
    if (!isSet(oldValue)) continue;
    const oldName = pathOf(d.deprecated);
    const newName = pathOf(d.replacement);
    const newValue = getPath(view, d.replacement);
    if (isSet(newValue)) {
      if (jsonEqual(oldValue, newValue)) {
        warnings.push(`${oldName} is deprecated: ${newName} is set to the same value and is the one read`);
      } else {
        conflicts.push({
          path: oldName,
          type: 'Invalid',
          value: oldValue,
          message: `conflicts with ${newName} (${JSON.stringify(newValue)}); ${oldName} is deprecated: set only ${newName}, or both to the same value`,
        });
      }
      continue;
    }
    const blocker = d.blockedBy?.find((b) => isSet(getPath(view, b)));
    if (blocker) {
      conflicts.push({
        path: oldName,
        type: 'Forbidden',
        message: `is deprecated and cannot be mapped onto ${newName} while ${pathOf(blocker)} is set (only one CA may be configured)`,
      });
      continue;
    }
    const op = setOp(view, d.replacement, oldValue);
    patch.push(op);
    view = applyOp(view, op);
    warnings.push(`${oldName} is deprecated: copied to ${newName}; set ${newName} instead`);
  }
  return { patch, warnings, conflicts };
}

/**
 * `obj` with `op` applied. Only the objects on op's path are copied: the rest, metadata.managedFields
 * included, is shared and never walked, so its depth is not ours to worry about (see review.ts).
 */
function applyOp(obj: Record<string, unknown>, op: JsonPatchOp): Record<string, unknown> {
  // Our table's paths: plain field names (asserted at load), never "__proto__" or an escaped "/".
  const segs = op.path.slice(1).split('/');
  const root: Record<string, unknown> = { ...obj };
  let cur = root;
  for (const s of segs.slice(0, -1)) {
    const next: Record<string, unknown> = { ...(cur[s] as Record<string, unknown>) };
    cur[s] = next;
    cur = next;
  }
  cur[segs[segs.length - 1]!] = op.value;
  return root;
}
