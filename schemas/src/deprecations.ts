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

function applyOp(obj: Record<string, unknown>, op: JsonPatchOp): Record<string, unknown> {
  const copy = structuredClone(obj);
  const segs = op.path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur: Record<string, unknown> = copy;
  for (const s of segs.slice(0, -1)) cur = cur[s] as Record<string, unknown>;
  cur[segs[segs.length - 1]!] = structuredClone(op.value);
  return copy;
}
