// Old roots' private keys do not pile up in the management cluster: once a rotation of a
// VirtualMesh has FINISHED, the roots it and the rotations before it replaced are removed, except
// the most recent `keep` of them (a way back). Only root Secrets mesh-cert created are removed, and
// never one that a certificate or an active rotation still names.
import type { ClusterApi } from '../cluster-api.js';
import type { CertificateRotation, ObjectRef } from '../objects.js';
import { refString, sameRef } from '../objects.js';
import { ANN_PREVIOUS_ROOTS, LABEL_MANAGED_BY, MANAGED_BY } from '../resources.js';
import { signingSecretRef, rotationRootsOf } from '../issuance/signing-plan.js';
import { isActive } from './plan.js';
import type { MeshCertificate } from './targets.js';

export const DEFAULT_KEEP_PREVIOUS_ROOTS = 1;

export interface RetentionResult {
  removed: string[];
  /** Older roots left in place, each with the reason. */
  kept: string[];
}

/** The roots a rotation replaced, as recorded when it was created. */
export function previousRootsOf(r: CertificateRotation): ObjectRef[] {
  const raw = r.metadata.annotations?.[ANN_PREVIOUS_ROOTS];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v)
      ? v.filter((x): x is ObjectRef => typeof x?.name === 'string' && typeof x?.namespace === 'string')
      : [];
  } catch {
    return [];
  }
}

const finishedAt = (r: CertificateRotation) =>
  r.status?.conditions?.[r.status.conditions.length - 1]?.timestamp ?? r.metadata.creationTimestamp ?? '';

export async function pruneOldRoots(
  mgmt: ClusterApi,
  rotations: CertificateRotation[],
  certs: MeshCertificate[],
  keep: number,
): Promise<RetentionResult> {
  const finished = rotations
    .filter((r) => r.status?.state === 'FINISHED')
    .sort((a, b) => finishedAt(a).localeCompare(finishedAt(b)));
  const latest = finished[finished.length - 1];
  if (!latest) return { removed: [], kept: [] };
  // Most recent first: the root each rotation replaced, never the current one.
  const previous: ObjectRef[] = [];
  for (const r of [...finished].reverse()) {
    for (const ref of previousRootsOf(r)) {
      if (!sameRef(ref, latest.spec.newRootCaSecret) && !previous.some((p) => sameRef(p, ref))) previous.push(ref);
    }
  }
  const inUse = (ref: ObjectRef) =>
    certs.some(({ ic }) => {
      const roots = rotationRootsOf(ic);
      return (
        sameRef(signingSecretRef(ic), ref) ||
        (isActiveStep(ic.spec.rotationState) && !!roots && (sameRef(roots.old, ref) || sameRef(roots.new, ref)))
      );
    }) ||
    rotations.some(
      (r) => isActive(r) && (sameRef(r.spec.newRootCaSecret, ref) || previousRootsOf(r).some((p) => sameRef(p, ref))),
    );
  const removed: string[] = [];
  const kept: string[] = [];
  for (const ref of previous.slice(Math.max(0, keep))) {
    const secret = await mgmt.getSecret(ref.namespace, ref.name);
    if (!secret) continue;
    if (secret.metadata.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY)
      kept.push(`${refString(ref)} (not created by mesh-cert)`);
    else if (inUse(ref)) kept.push(`${refString(ref)} (still in use)`);
    else {
      await mgmt.deleteSecret(ref.namespace, ref.name);
      removed.push(refString(ref));
    }
  }
  return { removed, kept };
}

/** A certificate still on a rotation step names both roots of that rotation. */
function isActiveStep(step: string | undefined): boolean {
  return (
    !!step && step !== 'NOT_ROTATING' && step !== 'FINISHED' && step !== 'DELETING_OLD_ROOT' && step !== 'PREVIOUS_CA'
  );
}
