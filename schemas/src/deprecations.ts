// Deprecated fields as data, and the functions that turn them into a JSONPatch (mutating) and
// warnings (both sides), never into a denial. The old field is kept: older controllers still read
// it; readers prefer the new one.
import { pathOf, renderValue } from './field-error.js';
import { getPath, isObject, isSet, jsonEqual, jsonPointer } from './object-path.js';
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
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(seg))
      throw new Error(`DEPRECATIONS: ${JSON.stringify(seg)} is not a plain field name`);
  }
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/** Builds `value` at `path` under the deepest existing ancestor, so the op cannot fail to apply. */
function setOp(obj: unknown, path: readonly string[], value: unknown): JsonPatchOp {
  let depth = 0;
  while (depth < path.length - 1 && isObject(getPath(obj, path.slice(0, depth + 1)))) depth++;
  // path[0..depth) are existing objects; add path[0..depth] as a whole.
  let nested: unknown = value;
  for (let i = path.length - 1; i > depth; i--) nested = { [path[i]!]: nested };
  const target = path.slice(0, depth + 1);
  const exists = getPath(obj, target) !== undefined;
  return { op: exists ? 'replace' : 'add', path: jsonPointer(target), value: nested };
}

/** How an object holds one deprecated field that is set. */
export type DeprecationCase =
  /** Only the old field: the mutating webhook copies it onto the replacement. */
  | { case: 'copy' }
  /** Both, equal: nothing to do but say so. */
  | { case: 'same' }
  /** Both, different: the replacement wins (readers prefer it); admitted with a warning. */
  | { case: 'differ'; newValue: unknown }
  /** Only the old field, and the replacement cannot be set (the other side of its oneof is). */
  | { case: 'blocked'; blocker: readonly string[] };

function caseOf(view: unknown, d: Deprecation, replacement: readonly string[], oldValue: unknown): DeprecationCase {
  const newValue = getPath(view, replacement);
  if (isSet(newValue)) return jsonEqual(oldValue, newValue) ? { case: 'same' } : { case: 'differ', newValue };
  const blocker = d.blockedBy?.find((b) => isSet(getPath(view, b)));
  return blocker ? { case: 'blocked', blocker } : { case: 'copy' };
}

export interface PatchOptions {
  /**
   * The label by which a Gloo Mesh controller owns the object (ownership.ts): nothing is copied,
   * since that controller writes only the old fields (v1.0 rejects the new ones) and would revert
   * the patch on its next reconcile, a write loop.
   */
  ownerLabel?: string;
}

/**
 * The mutating side: a JSONPatch copying each deprecated field onto its replacement where only the
 * old one is set, and one warning for each copy made or withheld. The other cases (both set,
 * equal or not) are left as they are: validation admits them with a warning.
 */
export function deprecationPatch(obj: unknown, opts: PatchOptions = {}): { patch: JsonPatchOp[]; warnings: string[] } {
  const patch: JsonPatchOp[] = [];
  const warnings: string[] = [];
  if (!isObject(obj) || typeof obj.kind !== 'string') return { patch, warnings };
  // Ops apply in order, so later ones must see the effect of earlier ones.
  let view: Record<string, unknown> = obj;
  for (const d of DEPRECATIONS) {
    if (d.kind !== obj.kind || !d.replacement) continue;
    const oldValue = getPath(view, d.deprecated);
    if (!isSet(oldValue)) continue;
    if (caseOf(view, d, d.replacement, oldValue).case !== 'copy') continue;
    const oldName = pathOf(d.deprecated);
    const newName = pathOf(d.replacement);
    if (opts.ownerLabel !== undefined) {
      warnings.push(
        `${oldName} is deprecated: not copied to ${newName}, since a Gloo Mesh controller owns this ${obj.kind} (label ${opts.ownerLabel}) and writes only ${oldName}`,
      );
      continue;
    }
    const op = setOp(view, d.replacement, oldValue);
    patch.push(op);
    view = applyOp(view, op);
    warnings.push(`${oldName} is deprecated: copied to ${newName}; set ${newName} instead`);
  }
  return { patch, warnings };
}

/**
 * The validating side: one warning for each deprecated field set, whatever the case. Never an
 * error: Gloo Mesh writes `org: Istio` next to a VirtualMesh's own orgName, and the replacement wins.
 */
export function deprecationWarnings(obj: unknown): string[] {
  let warnings: string[] | undefined;
  if (!isObject(obj) || typeof obj.kind !== 'string') return [];
  // Runs on every spec write: nothing is allocated unless a deprecated field is set.
  for (const d of DEPRECATIONS) {
    if (d.kind !== obj.kind || !d.replacement) continue;
    const oldValue = getPath(obj, d.deprecated);
    if (!isSet(oldValue)) continue;
    const c = caseOf(obj, d, d.replacement, oldValue);
    (warnings ??= []).push(warningFor(pathOf(d.deprecated), pathOf(d.replacement), oldValue, c));
  }
  return warnings ?? [];
}

function warningFor(oldName: string, newName: string, oldValue: unknown, c: DeprecationCase): string {
  switch (c.case) {
    case 'copy':
      return `${oldName} is deprecated: set ${newName} instead (readers fall back to ${oldName} while it is unset)`;
    case 'same':
      return `${oldName} is deprecated: ${newName} is set to the same value and is the one read`;
    case 'differ':
      return `${oldName} is deprecated and differs from ${newName} (${renderValue(oldValue)} vs ${renderValue(c.newValue)}): ${newName} is the one read`;
    case 'blocked':
      return `${oldName} is deprecated and cannot be copied to ${newName} while ${pathOf(c.blocker)} is set (one CA per certificate): remove ${oldName}`;
  }
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
