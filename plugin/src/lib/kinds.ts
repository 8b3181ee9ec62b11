// The mesh-cert kinds as the client addresses them. schemas/src/registry.ts is the one home of
// the names; it is imported directly (not through schemas' index) because it is tiny and sits in
// the start-up path, while the index pulls in ajv.
import { KINDS, type KindInfo, type KindName } from '#schemas/src/registry.js';
import type { ResourceType } from './k8s.js';

export { KINDS, type KindInfo, type KindName };

export function resourceOf(kind: KindName): ResourceType & KindInfo {
  const k = KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`unknown kind ${kind}`);
  return k;
}

/** "issuedcertificate.certificates.mesh.gloo.solo.io/name", as kubectl's -o name prints it. */
export function qualifiedName(kind: string, group: string, name: string): string {
  return `${kind.toLowerCase()}${group ? `.${group}` : ''}/${name}`;
}
