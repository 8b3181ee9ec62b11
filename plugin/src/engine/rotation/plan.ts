// The rotation as data: the forward steps and the rollback path, and the pure function that
// reads a CertificateRotation's recorded status and says what comes next. Resuming a killed run
// is just calling nextPhase again.
import { ROTATION_STEPS } from '#schemas/src/state-machines.js';
import type { CertificateRotation, RotationState, RotationStatusState } from '../objects.js';

export type ReissueStep = 'ADDING_NEW_ROOT' | 'PROPAGATING_NEW_INTERMEDIATE' | 'DELETING_OLD_ROOT';
export type RollbackStep = 'PROPAGATING_NEW_INTERMEDIATE' | 'ROLLING_BACK' | 'PREVIOUS_CA';

export interface ForwardStep {
  rotationState: RotationState;
  state: RotationStatusState;
  kind: 'reissue' | 'verify' | 'finish';
}

/**
 * The contract's rotation steps (schemas/src/state-machines.ts) with what the driver does at
 * each. The table ends in VERIFIED; the driver records the end as FINISHED, the step name the
 * contract uses for a completed rotation.
 */
export const FORWARD: readonly ForwardStep[] = ROTATION_STEPS.map((s) => ({
  rotationState: s.rotationState === 'VERIFIED' ? 'FINISHED' : s.rotationState,
  state: s.state,
  kind: s.state === 'VERIFYING' ? 'verify' : s.state === 'FINISHED' ? 'finish' : 'reissue',
}));

export type Phase =
  /** index into FORWARD; `enter` when the status does not record the step yet. */
  | { kind: 'forward'; index: number; enter: boolean }
  /** re-issue every certificate for a rollback step (status.rotationState ROLLING_BACK or PREVIOUS_CA). */
  | { kind: 'rollback'; steps: RollbackStep[]; statusStep: 'ROLLING_BACK' | 'PREVIOUS_CA' }
  /** the rollback is complete: FAILED with the recorded reason. */
  | { kind: 'fail' }
  | { kind: 'over'; state: 'FINISHED' | 'FAILED' };

export function isActive(r: CertificateRotation): boolean {
  const s = r.status?.state ?? 'PENDING';
  return s !== 'FINISHED' && s !== 'FAILED';
}

export function reachedDeleting(r: CertificateRotation): boolean {
  return (r.status?.conditions ?? []).some((c) => c.state === 'DELETING_OLD_ROOT');
}

/** Where the recorded status stands in FORWARD (-1: not started). */
export function forwardIndex(r: CertificateRotation): number {
  const rs = r.status?.rotationState;
  if (!rs || (r.status?.state ?? 'PENDING') === 'PENDING') return -1;
  if (rs === 'VERIFYING') return reachedDeleting(r) ? 4 : 2;
  return FORWARD.findIndex((s) => s.rotationState === rs);
}

/**
 * The rollback path back to the old root without a trust gap. Once any cluster may trust only
 * the new root (DELETING_OLD_ROOT reached), everyone first trusts both roots again with
 * intermediates still signed by the new one; then intermediates move back to the old root; then
 * the new root is dropped.
 */
export function rollbackSteps(r: CertificateRotation): RollbackStep[] {
  return reachedDeleting(r) ? ['PROPAGATING_NEW_INTERMEDIATE', 'ROLLING_BACK'] : ['ROLLING_BACK'];
}

export function nextPhase(r: CertificateRotation): Phase {
  const state = r.status?.state ?? 'PENDING';
  if (state === 'FINISHED' || state === 'FAILED') return { kind: 'over', state };
  const rs = r.status?.rotationState;
  if (rs === 'ROLLING_BACK') return { kind: 'rollback', steps: rollbackSteps(r), statusStep: 'ROLLING_BACK' };
  if (rs === 'PREVIOUS_CA') return { kind: 'rollback', steps: ['PREVIOUS_CA'], statusStep: 'PREVIOUS_CA' };
  const i = forwardIndex(r);
  if (i < 0) return { kind: 'forward', index: 0, enter: true };
  return { kind: 'forward', index: i, enter: false };
}

/** The reason recorded when the rollback started (the ROLLING_BACK condition). */
export function rollbackReason(r: CertificateRotation): string {
  const c = [...(r.status?.conditions ?? [])].reverse().find((x) => x.state === 'ROLLING_BACK');
  return c?.errors?.[0] ?? c?.message ?? 'rolled back';
}
