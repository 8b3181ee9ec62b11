// What a rotation run is given and what it returns, shared by the start (driver.ts) and the
// state machine (machine.ts).
import type { ClusterApi } from '../cluster-api.js';
import type { IssuanceEvent } from '../issuance/drive.js';
import type { KeyMaker, KeySize } from '../issuance/agent.js';
import type { CertificateRotation, ObjectRef, RotationState, RotationStatusState } from '../objects.js';
import type { ReissueStep } from './plan.js';
import type { RetentionResult } from './retention.js';
import type { TrustReport } from './trust-check.js';
import type { Verifier } from './verifier.js';

export type RotationEvent =
  | { type: 'rotation'; name: string; namespace: string; created: boolean; newRoot: string }
  | { type: 'step'; state: RotationStatusState; rotationState: RotationState; message: string }
  | { type: 'certificate'; step: RotationState; event: IssuanceEvent }
  | { type: 'check'; after: ReissueStep; report: TrustReport };

export interface RotateOptions {
  mgmt: ClusterApi;
  /** The managed clusters: every one holding IssuedCertificates of the mesh must be here. */
  clusters: ClusterApi[];
  virtualMesh: ObjectRef;
  newRootSecret?: ObjectRef;
  /** Create the new root Secret (Istio layout) in the management cluster. */
  generateRoot?: { keySize: KeySize; ttlDays: number; org?: string; secret?: ObjectRef };
  /** Roll back the active rotation. */
  abort?: boolean;
  verify: Verifier;
  /** How long each re-issue step may take (an unreachable cluster is waited for this long). */
  stepTimeoutMs: number;
  signal?: AbortSignal;
  /** Stop after this many status writes of the rotation (tests interrupt at every step). */
  stopAfterWrites?: number;
  onEvent?: (e: RotationEvent) => void;
  makeKey?: KeyMaker;
  now?: () => Date;
  /** After FINISHED, keep this many previous roots' Secrets (default 1); older ones mesh-cert made are removed. */
  keepPreviousRoots?: number;
}

export interface RotateResult {
  rotation: CertificateRotation;
  outcome: 'finished' | 'failed' | 'stopped';
  error?: string;
  keysGenerated: number;
  /** The first step that ran out of stepTimeoutMs, and the clusters it was still waiting for. */
  timedOut?: { step: RotationState; clusters: string[] };
  /** Old roots removed from (or kept in) the management cluster after FINISHED. */
  retention?: RetentionResult;
}
