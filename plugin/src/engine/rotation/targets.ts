// The IssuedCertificates of a VirtualMesh: those whose parents annotation (Gloo Mesh's own,
// JSON {GVK: [ObjectRef]}) names it, in every managed cluster.
import type { ClusterApi } from '../cluster-api.js';
import type { IssuedCertificate, ObjectRef } from '../objects.js';
import { PARENTS_ANNOTATION, VIRTUAL_MESH_GVK } from '../resources.js';

export function parentsOf(ic: IssuedCertificate): Record<string, ObjectRef[]> {
  const raw = ic.metadata.annotations?.[PARENTS_ANNOTATION];
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, ObjectRef[]>) : {};
  } catch {
    return {};
  }
}

export function belongsTo(ic: IssuedCertificate, vm: ObjectRef): boolean {
  return Object.entries(parentsOf(ic)).some(
    ([gvk, refs]) => /VirtualMesh$/.test(gvk) && Array.isArray(refs) && refs.some((r) => r?.name === vm.name && r?.namespace === vm.namespace),
  );
}

/** The annotation value for an IssuedCertificate of `vm` (kept merged with other parents). */
export function parentsAnnotation(ic: IssuedCertificate | undefined, vm: ObjectRef): string {
  const parents = ic ? parentsOf(ic) : {};
  const list = parents[VIRTUAL_MESH_GVK] ?? [];
  if (!list.some((r) => r.name === vm.name && r.namespace === vm.namespace)) list.push({ name: vm.name, namespace: vm.namespace });
  return JSON.stringify({ ...parents, [VIRTUAL_MESH_GVK]: list });
}

export interface MeshCertificate {
  cluster: ClusterApi;
  ic: IssuedCertificate;
}

export async function certificatesOfMesh(clusters: ClusterApi[], vm: ObjectRef): Promise<MeshCertificate[]> {
  const lists = await Promise.all(clusters.map(async (c) => (await c.listCustom<IssuedCertificate>('IssuedCertificate')).filter((ic) => belongsTo(ic, vm)).map((ic) => ({ cluster: c, ic }))));
  return lists.flat();
}
