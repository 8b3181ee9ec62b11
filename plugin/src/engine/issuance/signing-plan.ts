// Which management-cluster Secret signs an IssuedCertificate, and which roots its cluster is
// told to trust, as a table keyed by spec.rotationState (the multi-root rotation's steps, schemas/src/state-machines.ts).
import { ROLLBACK_STEPS, ROTATION_STEPS } from '#schemas/src/state-machines.js';
import { ANN_ROTATION_ROOTS } from '../resources.js';
import { canonicalRotationState } from '#schemas/src/rotation-states.js';
import type { IssuedCertificate, ObjectRef, RotationState } from '../objects.js';
import { resolveRef } from '../objects.js';

export interface SigningPlan {
  /** The Secret (Istio layout, management cluster) whose ca-cert/ca-key sign. */
  signer: ObjectRef;
  /** Secrets whose root-cert.pem roots go into the issued root-cert.pem, signer's first. */
  trust: ObjectRef[];
  /** Roots trusted besides: anchors of intermediates still in use when the step began (a bridge). */
  bridgeRootPems: string[];
}

/**
 * old: the signing Secret before the rotation; new: the rotation's newRootCaSecret; bridge: the
 * roots of intermediates some cluster still held when the step began that neither names (left by
 * an earlier rotation that failed or was deleted), trusted until no cluster uses them.
 */
export interface RotationRoots {
  old: ObjectRef;
  new: ObjectRef;
  bridge?: string[];
}

type Which = 'old' | 'new';
const REISSUE_STEPS: readonly RotationState[] = [
  'ADDING_NEW_ROOT',
  'PROPAGATING_NEW_INTERMEDIATE',
  'DELETING_OLD_ROOT',
  'ROLLING_BACK',
  'PREVIOUS_CA',
];

/**
 * Who signs and whose roots are trusted at each re-issue step, read from the contract's tables
 * (schemas/src/state-machines.ts); the signer's roots come first in the bundle. A step not
 * listed is not rotating.
 */
export const ROTATION_SIGNING: Partial<Record<RotationState, { signer: Which; trust: Which[] }>> = Object.fromEntries(
  [...ROTATION_STEPS, ...ROLLBACK_STEPS]
    .filter((s) => REISSUE_STEPS.includes(s.rotationState))
    .map((s) => [
      s.rotationState,
      {
        signer: s.intermediatesSignedBy,
        trust: [s.intermediatesSignedBy, ...s.trustedRoots.filter((t) => t !== s.intermediatesSignedBy)],
      },
    ]),
);

export function signingSecretRef(ic: IssuedCertificate): ObjectRef | undefined {
  const ref = ic.spec.glooMeshCa?.signingCertificateSecret ?? ic.spec.signingCertificateSecret;
  return ref && resolveRef(ref, ic.metadata.namespace);
}

export function rotationRootsOf(ic: IssuedCertificate): RotationRoots | undefined {
  const raw = ic.metadata.annotations?.[ANN_ROTATION_ROOTS];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<RotationRoots>;
    if (v.old?.name && v.old.namespace && v.new?.name && v.new.namespace) {
      const bridge = Array.isArray(v.bridge) ? v.bridge.filter((p): p is string => typeof p === 'string') : [];
      return { old: v.old, new: v.new, ...(bridge.length ? { bridge } : {}) };
    }
  } catch {
    /* reported by the caller as missing */
  }
  return undefined;
}

/** The plan, or a sentence naming the field that prevents one. */
export function signingPlan(ic: IssuedCertificate): SigningPlan | { error: string } {
  const own = signingSecretRef(ic);
  const step = canonicalRotationState(ic.spec.rotationState);
  const row = step ? ROTATION_SIGNING[step] : undefined;
  if (!row) {
    if (!own)
      return {
        error:
          'spec.glooMeshCa.signingCertificateSecret: Required value: the IssuedCertificate names no signing Secret',
      };
    return { signer: own, trust: [own], bridgeRootPems: [] };
  }
  const roots = rotationRootsOf(ic);
  if (!roots) {
    return {
      error: `metadata.annotations[${ANN_ROTATION_ROOTS}]: Required value: spec.rotationState is ${step} but the rotation's old and new root Secrets are not recorded`,
    };
  }
  return { signer: roots[row.signer], trust: row.trust.map((w) => roots[w]), bridgeRootPems: roots.bridge ?? [] };
}
