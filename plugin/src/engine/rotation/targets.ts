// The IssuedCertificates of a VirtualMesh: those whose parents annotation (Gloo Mesh's own,
// JSON {GVK: [ObjectRef]}) names it, in every managed cluster.
import type { ClusterApi } from '../cluster-api.js';
import type { IssuedCertificate, ObjectRef } from '../objects.js';
import { belongsTo } from '../parents.js';

export interface MeshCertificate {
  cluster: ClusterApi;
  ic: IssuedCertificate;
}

export async function certificatesOfMesh(clusters: ClusterApi[], vm: ObjectRef): Promise<MeshCertificate[]> {
  const lists = await Promise.all(
    clusters.map(async (c) =>
      (await c.listCustom<IssuedCertificate>('IssuedCertificate'))
        .filter((ic) => belongsTo(ic, vm))
        .map((ic) => ({ cluster: c, ic })),
    ),
  );
  return lists.flat();
}
