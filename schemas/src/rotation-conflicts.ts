// "At most one active CertificateRotation per VirtualMesh" needs the other rotations, which only
// the caller (the webhook's cache, the plugin's list) has; this stays a pure function of them.
import type { FieldError } from './field-error.js';
import type { CertificateRotation } from './kinds/certificate-rotation.js';
import { getPath, isObject } from './object-path.js';
import { machinesOf } from './state-machines.js';

const machine = machinesOf('CertificateRotation')[0]!;

/** Active = not in a final state (FINISHED, FAILED); a missing state is PENDING, so active. */
export function isActiveRotation(r: unknown): boolean {
  const state = getPath(r, machine.path);
  return !machine.final?.includes(typeof state === 'string' ? state : machine.states[0]!);
}

/** namespace/name of the VirtualMesh; a ref without namespace means the rotation's own namespace. */
export function virtualMeshKey(r: unknown): string | undefined {
  const name = getPath(r, ['spec', 'virtualMesh', 'name']);
  if (typeof name !== 'string' || name === '') return undefined;
  const ns = getPath(r, ['spec', 'virtualMesh', 'namespace']) ?? getPath(r, ['metadata', 'namespace']) ?? '';
  return `${String(ns)}/${name}`;
}

function identity(r: unknown): string {
  const uid = getPath(r, ['metadata', 'uid']);
  if (typeof uid === 'string' && uid !== '') return `uid:${uid}`;
  return `name:${String(getPath(r, ['metadata', 'namespace']) ?? '')}/${String(getPath(r, ['metadata', 'name']) ?? '')}`;
}

function sameObject(a: unknown, b: unknown): boolean {
  const sameName =
    getPath(a, ['metadata', 'name']) !== undefined &&
    getPath(a, ['metadata', 'name']) === getPath(b, ['metadata', 'name']) &&
    (getPath(a, ['metadata', 'namespace']) ?? '') === (getPath(b, ['metadata', 'namespace']) ?? '');
  return sameName || identity(a) === identity(b);
}

export function activeRotationConflicts(candidate: unknown, others: readonly CertificateRotation[]): FieldError[] {
  if (!isObject(candidate) || !isActiveRotation(candidate)) return [];
  const key = virtualMeshKey(candidate);
  if (!key) return [];
  const clash = others.filter((o) => !sameObject(o, candidate) && isActiveRotation(o) && virtualMeshKey(o) === key);
  return clash.map((o) => ({
    path: 'spec.virtualMesh',
    type: 'Duplicate' as const,
    value: key,
    forbidden: true,
    message: `VirtualMesh ${key} already has an active CertificateRotation ${String(getPath(o, ['metadata', 'namespace']) ?? '')}/${String(
      getPath(o, ['metadata', 'name']) ?? '',
    )} (state ${String(getPath(o, machine.path) ?? machine.states[0])}); wait until it is FINISHED or FAILED`,
  }));
}
