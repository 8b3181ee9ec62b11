// Objects a Gloo Mesh controller owns: mesh-cert never drives or patches them, it only observes
// (rule zero of the contract: whatever they write stands). The table of owner labels lives with the contract, in schemas/.
import { glooMeshOwnerLabel } from '#schemas/src/ownership.js';
import type { CertKind } from './resources.js';
import type { KubeObject } from './objects.js';

/** `label=value` of the owner label that marks `obj` as Gloo Mesh's, or undefined when mesh-cert may drive it. */
export function glooMeshOwner(kind: CertKind, obj: KubeObject): string | undefined {
  const label = glooMeshOwnerLabel(kind, obj);
  return label === undefined ? undefined : `${label}=${obj.metadata.labels?.[label] ?? ''}`;
}
