// Gloo Mesh's parents annotation on IssuedCertificates (JSON {GVK: [ObjectRef]}): which
// VirtualMeshes a certificate belongs to. Read by the rotation driver, written by `issue`
// (issuance/desired.ts) and shown by the reports, so it sits beside neither layer.
import type { IssuedCertificate, ObjectRef } from './objects.js';
import { PARENTS_ANNOTATION, VIRTUAL_MESH_GVK } from './resources.js';

export function parentsOf(ic: Pick<IssuedCertificate, 'metadata'>): Record<string, ObjectRef[]> {
  const raw = ic.metadata.annotations?.[PARENTS_ANNOTATION];
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, ObjectRef[]>) : {};
  } catch {
    return {};
  }
}

/** The VirtualMeshes the parents annotation names (any version of the VirtualMesh GVK). */
export function virtualMeshesOf(ic: Pick<IssuedCertificate, 'metadata'>): ObjectRef[] {
  return Object.entries(parentsOf(ic)).flatMap(([gvk, refs]) =>
    /VirtualMesh$/.test(gvk) && Array.isArray(refs)
      ? refs.filter((r) => typeof r?.name === 'string' && typeof r?.namespace === 'string')
      : [],
  );
}

export function belongsTo(ic: IssuedCertificate, vm: ObjectRef): boolean {
  return virtualMeshesOf(ic).some((r) => r.name === vm.name && r.namespace === vm.namespace);
}

/** The annotation value for an IssuedCertificate of `vm` (kept merged with other parents). */
export function parentsAnnotation(ic: IssuedCertificate | undefined, vm: ObjectRef): string {
  const parents = ic ? parentsOf(ic) : {};
  const list = parents[VIRTUAL_MESH_GVK] ?? [];
  if (!list.some((r) => r.name === vm.name && r.namespace === vm.namespace))
    list.push({ name: vm.name, namespace: vm.namespace });
  return JSON.stringify({ ...parents, [VIRTUAL_MESH_GVK]: list });
}
