// Which objects Gloo Mesh's own controllers own, as data: the labels they put on what they write.
// Such an object is never patched (the webhook only warns) and never driven by the plugin (it
// observes and reports): Gloo Mesh v1.0 decodes strictly and rejects fields it does not know, and
// every version rewrites its objects on each reconcile, so a change of ours would be reverted and
// re-applied for ever.
import { isObject } from './object-path.js';
import type { KindName } from './registry.js';

/**
 * Per kind, the label keys (any value, the empty string included) that mark an object as written
 * by a Gloo Mesh controller. Kinds absent here are never Gloo Mesh's to own.
 */
export const GLOO_MESH_OWNER_LABELS: Readonly<Partial<Record<KindName, readonly string[]>>> = {
  // The networking translator: metautils.TranslatedObjectLabels(), the value its namespace.
  IssuedCertificate: ['owner.networking.mesh.gloo.solo.io'],
  PodBounceDirective: ['owner.networking.mesh.gloo.solo.io'],
  // The cert-agent: agentLabels(), `agent.<certificates group>: <its namespace>`.
  CertificateRequest: ['agent.certificates.mesh.gloo.solo.io'],
};

/** The owner label `obj` carries for its kind, or undefined when no Gloo Mesh controller owns it. */
export function glooMeshOwnerLabel(kind: string, obj: unknown): string | undefined {
  const keys = GLOO_MESH_OWNER_LABELS[kind as KindName];
  if (!keys || !isObject(obj) || !isObject(obj.metadata)) return undefined;
  const labels = obj.metadata.labels;
  if (!isObject(labels)) return undefined;
  for (const k of keys) if (typeof labels[k] === 'string') return k;
  return undefined;
}

/** Whether a Gloo Mesh controller owns `obj` (a `kind` object): never patch it, never drive it. */
export function ownedByGlooMesh(kind: string, obj: unknown): boolean {
  return glooMeshOwnerLabel(kind, obj) !== undefined;
}
