// The rules of every kind as data. transitions.ts (webhook) and cel.ts (CRD rules) both read these
// tables; nothing else in the project writes a state name down.
import type { KindName } from './registry.js';

/** A condition a move may depend on, evaluated over the old and new objects. */
export type MoveCondition =
  /** `status.observedGeneration` (missing = 0) grows in this write: the writer saw a new spec. */
  'observedGenerationAdvances';

export interface Move {
  from: readonly string[] | '*';
  to: string;
  when?: MoveCondition;
  /** Why the move exists, for people reading the table. */
  why: string;
}

/** Names of guards; the functions live in guards.ts. */
export type GuardName = 'errorNotEmpty' | 'finishedCertificateValid' | 'responseNotAfterDenial' | 'responseSignsCsr';

export interface StateMachine {
  kind: KindName;
  /** Field holding the state, from the object root. A missing field means `states[0]` (proto zero value). */
  path: readonly string[];
  /** In proto order: the index is the enum number. */
  states: readonly string[];
  /** Staying in a state is always legal; these are the other legal moves. */
  moves: readonly Move[];
  /** States that can never be left; trying is Forbidden (403) rather than Invalid. */
  final?: readonly string[];
  /** Guards that must hold whenever a write leaves the object in (or changes it within) a state. */
  guards?: Readonly<Partial<Record<string, readonly GuardName[]>>>;
}

export const ISSUED_CERTIFICATE_STATES = ['PENDING', 'REQUESTED', 'ISSUED', 'FINISHED', 'FAILED'] as const;
export const CERTIFICATE_REQUEST_STATES = ['PENDING', 'FINISHED', 'FAILED'] as const;
export const CERTIFICATE_ROTATION_STATES = ['PENDING', 'ROTATING', 'VERIFYING', 'FINISHED', 'FAILED'] as const;
export const APPROVAL_STATES = ['PENDING', 'APPROVED', 'DENIED'] as const;

export const STATE_MACHINES: readonly StateMachine[] = [
  {
    kind: 'IssuedCertificate',
    path: ['status', 'state'],
    states: ISSUED_CERTIFICATE_STATES,
    moves: [
      { from: ['PENDING'], to: 'REQUESTED', why: 'the agent created a key and a CertificateRequest' },
      { from: ['FAILED'], to: 'REQUESTED', why: "Gloo Mesh's agent retries straight from FAILED" },
      { from: ['REQUESTED'], to: 'ISSUED', why: 'the issuer signed; the agent wrote the issued Secret' },
      { from: ['ISSUED'], to: 'FINISHED', why: 'pods bounced' },
      { from: '*', to: 'FAILED', why: 'any step can fail' },
      { from: ['FAILED'], to: 'PENDING', why: 'restart after a failure' },
      {
        from: '*',
        to: 'PENDING',
        when: 'observedGenerationAdvances',
        why: 'a spec edit restarts issuance with a new key',
      },
      {
        from: '*',
        to: 'REQUESTED',
        when: 'observedGenerationAdvances',
        why: "Gloo Mesh's agent resets to PENDING and requests in the same status write after a spec edit",
      },
    ],
    guards: { FAILED: ['errorNotEmpty'] },
  },
  {
    kind: 'CertificateRequest',
    path: ['status', 'state'],
    states: CERTIFICATE_REQUEST_STATES,
    moves: [
      { from: ['PENDING'], to: 'FINISHED', why: 'the issuer signed the CSR' },
      { from: ['FAILED'], to: 'FINISHED', why: "Gloo Mesh's issuer re-signs straight from FAILED" },
      { from: ['FINISHED'], to: 'FINISHED', when: 'observedGenerationAdvances', why: 're-signed for a new CSR' },
      { from: '*', to: 'FAILED', why: 'signing can fail' },
      { from: '*', to: 'PENDING', why: 'the issuer may reset a request' },
    ],
    guards: { FAILED: ['errorNotEmpty'], FINISHED: ['finishedCertificateValid'] },
  },
  {
    kind: 'CertificateRotation',
    path: ['status', 'state'],
    states: CERTIFICATE_ROTATION_STATES,
    moves: [
      { from: ['PENDING'], to: 'ROTATING', why: 'ADDING_NEW_ROOT and PROPAGATING_NEW_INTERMEDIATE' },
      { from: ['ROTATING'], to: 'VERIFYING', why: 'a step is done; confirm connectivity' },
      { from: ['VERIFYING'], to: 'ROTATING', why: 'confirmed: DELETING_OLD_ROOT, or rolling back after a rejection' },
      { from: ['VERIFYING'], to: 'FINISHED', why: 'confirmed after the old root is gone' },
      { from: ['PENDING', 'ROTATING', 'VERIFYING'], to: 'FAILED', why: 'a step failed or the rollback finished' },
    ],
    // A finished or failed rotation is history: a new rotation is a new object.
    final: ['FINISHED', 'FAILED'],
    guards: { FAILED: ['errorNotEmpty'] },
  },
  {
    kind: 'VirtualMeshCertificateSigningRequest',
    path: ['status', 'thirdPartyApproval', 'approvalStatus'],
    states: APPROVAL_STATES,
    moves: [
      { from: ['PENDING'], to: 'APPROVED', why: 'a third party approved the CSR' },
      { from: ['PENDING'], to: 'DENIED', why: 'a third party denied the CSR' },
    ],
    // Final for the csrData they were given; a new CSR is a new object.
    final: ['APPROVED', 'DENIED'],
  },
];

/** Where each kind keeps `observedGeneration`: never decreases, never exceeds metadata.generation. */
export const OBSERVED_GENERATION: Readonly<Partial<Record<KindName, readonly string[]>>> = {
  IssuedCertificate: ['status', 'observedGeneration'],
  CertificateRequest: ['status', 'observedGeneration'],
  CertificateRotation: ['status', 'observedGeneration'],
};

export interface ImmutableRule {
  kind: KindName;
  fields: readonly (readonly string[])[];
  /** The fields freeze once the OLD object satisfies this. */
  once:
    | { path: readonly string[]; present: true; why: string }
    | { path: readonly string[]; notIn: readonly string[]; why: string };
}

export const IMMUTABLES: readonly ImmutableRule[] = [
  {
    kind: 'CertificateRotation',
    fields: [
      ['spec', 'virtualMesh'],
      ['spec', 'newRootCaSecret'],
    ],
    once: { path: ['status', 'state'], notIn: ['PENDING'], why: 'the rotation has left PENDING' },
  },
  {
    kind: 'VirtualMeshCertificateSigningRequest',
    fields: [['spec', 'csrData']],
    once: { path: ['status', 'response'], present: true, why: 'a response was issued for it' },
  },
];

/** Guards that hold for every write of a kind, whatever its state. */
export const INVARIANTS: Readonly<Partial<Record<KindName, readonly GuardName[]>>> = {
  // zephyr's signer answers PENDING and APPROVED requests alike; only a denial closes the door.
  VirtualMeshCertificateSigningRequest: ['responseNotAfterDenial', 'responseSignsCsr'],
};

/** The steps of a multi-root rotation (status.rotationState of a CertificateRotation) with the
 * trust each cluster holds and who signs intermediates, so no moment exists where two workloads
 * cannot verify each other. `state` is the CertificateRotation state while the step runs. */
export const ROTATION_STEPS = [
  { rotationState: 'ADDING_NEW_ROOT', state: 'ROTATING', trustedRoots: ['old', 'new'], intermediatesSignedBy: 'old' },
  {
    rotationState: 'PROPAGATING_NEW_INTERMEDIATE',
    state: 'ROTATING',
    trustedRoots: ['old', 'new'],
    intermediatesSignedBy: 'new',
  },
  { rotationState: 'VERIFYING', state: 'VERIFYING', trustedRoots: ['old', 'new'], intermediatesSignedBy: 'new' },
  { rotationState: 'DELETING_OLD_ROOT', state: 'ROTATING', trustedRoots: ['new'], intermediatesSignedBy: 'new' },
  { rotationState: 'VERIFYING', state: 'VERIFYING', trustedRoots: ['new'], intermediatesSignedBy: 'new' },
  { rotationState: 'VERIFIED', state: 'FINISHED', trustedRoots: ['new'], intermediatesSignedBy: 'new' },
] as const;

/** Steps of a rollback after a rejected verification: back to the old root, then FAILED. */
export const ROLLBACK_STEPS = [
  { rotationState: 'ROLLING_BACK', state: 'ROTATING', trustedRoots: ['old', 'new'], intermediatesSignedBy: 'old' },
  { rotationState: 'PREVIOUS_CA', state: 'FAILED', trustedRoots: ['old'], intermediatesSignedBy: 'old' },
] as const;

// Looked up on every update review: built once, not filtered each time.
const MACHINES_BY_KIND = new Map<string, readonly StateMachine[]>();
for (const m of STATE_MACHINES) MACHINES_BY_KIND.set(m.kind, [...(MACHINES_BY_KIND.get(m.kind) ?? []), m]);

export function machinesOf(kind: string): readonly StateMachine[] {
  return MACHINES_BY_KIND.get(kind) ?? [];
}
