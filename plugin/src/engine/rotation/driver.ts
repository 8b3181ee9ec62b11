// The CertificateRotation driver on the management cluster. Each pass reads the rotation's
// recorded status, asks plan.ts for the next phase and performs it, so a killed run resumes
// where the record says. A re-issue phase sets spec.rotationState on every IssuedCertificate of
// the VirtualMesh and drives each through the issuance engine (signing root and trust bundle
// chosen by the step, issuance/signing-plan.ts) until all are FINISHED for that step.
import { createRootCa, generateRsaKey, verifySigningSecret, parseCertificate, LEGACY_KEY } from '../../../../schemas/pki/index.js';
import { canonicalRotationState } from '../../../../schemas/src/common.js';
import { UserError, errorMessage } from '../../lib/errors.js';
import type { ClusterApi } from '../cluster-api.js';
import { bounded, isDeadline, isTransient, isUnreachable, retrying, statusOf } from '../cluster-api.js';
import type { CertificateRotation, IssuedCertificate, ObjectRef, RotationCondition, RotationState, RotationStatusState } from '../objects.js';
import { refString, resolveRef, sameRef } from '../objects.js';
import { textBase64 } from '../../../../schemas/pki/pem.js';
import { ANN_PREVIOUS_ROOTS, ANN_ROTATION_ROOTS, CERT_API_VERSION, LABEL_MANAGED_BY, MANAGED_BY } from '../resources.js';
import { ISTIO_KEYS } from '../../../../schemas/pki/secret-keys.js';
import { driveIssuance, type IssuanceEvent } from '../issuance/drive.js';
import { defaultKeyMaker, type KeyMaker, type KeySize } from '../issuance/agent.js';
import { loadSigningSecret, type SigningMaterial } from '../issuance/issuer.js';
import { rotationRootsOf, signingSecretRef, type RotationRoots } from '../issuance/signing-plan.js';
import { FORWARD, isActive, nextPhase, rollbackReason, type RollbackStep, type ReissueStep } from './plan.js';
import { certificatesOfMesh, type MeshCertificate } from './targets.js';
import { checkTrust, readIssued, type TrustReport } from './trust-check.js';
import { TrustMonitor } from './trust-monitor.js';
import { DEFAULT_KEEP_PREVIOUS_ROOTS, pruneOldRoots, type RetentionResult } from './retention.js';
import { bridgeRoots, clustersNotTrusting } from './bridge.js';
import { loadPlan, normPem, rootLabel } from '../issuance/plan-material.js';

const samePems = (a: string[], b: string[]) => a.length === b.length && a.every((p, i) => normPem(p) === normPem(b[i]!));

export interface VerifyContext {
  rotation: CertificateRotation;
  /** The re-issue step just completed. */
  after: ReissueStep;
  clusters: string[];
  report: TrustReport;
}
export type VerifyDecision = { ok: true; message: string } | { ok: false; reason: string };
export type Verifier = (ctx: VerifyContext) => Promise<VerifyDecision>;

/** The built-in check as a verifier (--yes without --verify-command). */
export const builtInVerifier: Verifier = async ({ report }) =>
  report.ok
    ? { ok: true, message: `built-in check: ${report.checked} cluster pairs verified each other's intermediates` }
    : { ok: false, reason: report.failures[0]!.error + (report.failures.length > 1 ? ` (and ${report.failures.length - 1} more)` : '') };

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

type ReissueResult = { ok: true; count: number; clusters: number } | { ok: false; error: string; timedOut: string[] };

export class RotationRefused extends UserError {
  override name = 'RotationRefused';
}


async function findRotations(mgmt: ClusterApi, vm: ObjectRef): Promise<CertificateRotation[]> {
  // Typed as the engine's CertificateRotation only once it is known to name its new root.
  const all = await mgmt.listCustom<{ metadata: CertificateRotation['metadata']; spec?: Partial<CertificateRotation['spec']> }>('CertificateRotation');
  return all.filter((r): r is CertificateRotation => sameRef(r.spec?.virtualMesh, vm) && !!r.spec?.newRootCaSecret);
}

/** A server hiccup (not an unreachable cluster): worth a few retries before refusing. */
const serverHiccup = (err: unknown) => isTransient(err) && !isUnreachable(err);
const PREFLIGHT_RETRY_MS = 10_000;

/** Every cluster answers before a rotation starts, or nothing is changed. */
async function certificatesOrRefuse(clusters: ClusterApi[], vm: ObjectRef, starting: boolean): Promise<MeshCertificate[]> {
  const deadline = Date.now() + PREFLIGHT_RETRY_MS;
  const settled = await Promise.allSettled(clusters.map((c) => retrying(deadline, () => certificatesOfMesh([c], vm), serverHiccup)));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [`${clusters[i]!.name}: ${errorMessage(s.reason)}`] : []));
  // A running rotation goes on: its steps wait for the cluster (and fail naming it).
  if (failed.length && starting) throw new RotationRefused(`cannot rotate: ${failed.join('; ')}; nothing was changed`);
  return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
}

function rootsEqual(a: string[], b: string[]): string | undefined {
  const set = new Set(a.map(normPem));
  return b.find((p) => set.has(normPem(p)));
}

async function createRootSecret(mgmt: ClusterApi, ref: ObjectRef, g: NonNullable<RotateOptions['generateRoot']>, now: Date): Promise<void> {
  const { privateKeyPem } = await generateRsaKey(g.keySize);
  const cert = createRootCa({ privateKeyPem, subject: { O: g.org ?? 'gloo-mesh', CN: `mesh-cert root CA ${now.toISOString().slice(0, 19)}Z` }, ttlDays: g.ttlDays });
  const pem = cert.trim() + '\n';
  const create = () => mgmt.createSecret({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ref.name, namespace: ref.namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY } },
    type: 'Opaque',
    // key.pem as well: Gloo Mesh's own issuer signs from a root Secret in its legacy layout.
    data: { [ISTIO_KEYS.caCert]: textBase64(pem), [ISTIO_KEYS.caKey]: textBase64(privateKeyPem), [ISTIO_KEYS.rootCert]: textBase64(pem), [ISTIO_KEYS.certChain]: textBase64(pem), [LEGACY_KEY]: textBase64(privateKeyPem) },
  });
  await retrying(Date.now() + PREFLIGHT_RETRY_MS, create, (err) => serverHiccup(err) && statusOf(err) !== 409);
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function rotate(opts: RotateOptions): Promise<RotateResult> {
  const { mgmt, virtualMesh: vm } = opts;
  const now = () => opts.now?.() ?? new Date();
  const preflightDeadline = Date.now() + PREFLIGHT_RETRY_MS;
  const mine = await retrying(preflightDeadline, () => findRotations(mgmt, vm), serverHiccup);
  const active = mine.filter(isActive);
  if (active.length > 1) {
    throw new RotationRefused(`VirtualMesh ${refString(vm)} has ${active.length} active CertificateRotations (${active.map((r) => refString({ name: r.metadata.name, namespace: r.metadata.namespace ?? '' })).join(', ')}); abort all but one first`);
  }
  let rot = active[0];
  if (rot && opts.newRootSecret && !sameRef(rot.spec.newRootCaSecret, opts.newRootSecret)) {
    throw new RotationRefused(
      `CertificateRotation ${rot.metadata.namespace}/${rot.metadata.name} is already active for VirtualMesh ${refString(vm)} with new root ${refString(rot.spec.newRootCaSecret)}: re-run with --new-root-secret ${refString(rot.spec.newRootCaSecret)} to resume it, or --abort to roll it back`,
    );
  }
  const certs = await certificatesOrRefuse(opts.clusters, vm, !rot);
  if (opts.abort) {
    if (!rot) throw new RotationRefused(`VirtualMesh ${refString(vm)} has no active CertificateRotation to abort`);
    const machine = new Machine(opts, rot);
    await machine.startRollback('aborted by the user (--abort)');
    return machine.run();
  }
  if (!rot) {
    if (certs.length === 0) {
      throw new RotationRefused(`no IssuedCertificate of VirtualMesh ${refString(vm)} (annotation parents.networking.mesh.gloo.solo.io) in clusters ${opts.clusters.map((c) => c.name).join(', ')}`);
    }
    // Current roots: every signing Secret the certificates use now.
    const oldRefs = new Map<string, ObjectRef>();
    for (const { cluster, ic } of certs) {
      const ref = signingSecretRef(ic);
      if (!ref) throw new RotationRefused(`cluster "${cluster.name}": IssuedCertificate ${ic.metadata.namespace}/${ic.metadata.name} names no signing Secret (spec.glooMeshCa.signingCertificateSecret)`);
      oldRefs.set(refString(ref), ref);
    }
    const oldMaterial: SigningMaterial[] = [];
    for (const ref of oldRefs.values()) {
      try {
        oldMaterial.push(await retrying(preflightDeadline, () => loadSigningSecret(mgmt, ref), serverHiccup));
      } catch (err) {
        throw new RotationRefused(`the current signing Secret ${refString(ref)} cannot be used: ${errorMessage(err)}`);
      }
    }
    let newRef: ObjectRef;
    if (opts.newRootSecret) {
      newRef = opts.newRootSecret;
      const secret = await retrying(preflightDeadline, () => mgmt.getSecret(newRef.namespace, newRef.name), serverHiccup);
      if (!secret) throw new RotationRefused(`--new-root-secret ${refString(newRef)}: Secret not found in the management cluster "${mgmt.name}"`);
      const v = verifySigningSecret(secret.data ?? {});
      if (!v.ok) throw new RotationRefused(`--new-root-secret ${refString(newRef)}: ${v.error}`);
      for (const m of oldMaterial) {
        const same = rootsEqual(m.rootPems, v.rootPems) ?? (normPem(m.caCertPem) === normPem(v.caCertPem) ? v.caCertPem : undefined);
        if (same) {
          const fp = parseCertificate(same).fingerprintSha256;
          throw new RotationRefused(`--new-root-secret ${refString(newRef)}: its root (sha256 ${fp}) is the current root of VirtualMesh ${refString(vm)}; a rotation needs a different root`);
        }
      }
      if (oldRefs.has(refString(newRef))) throw new RotationRefused(`--new-root-secret ${refString(newRef)} is the current signing Secret`);
    } else if (opts.generateRoot) {
      newRef = opts.generateRoot.secret ?? { namespace: vm.namespace, name: `${vm.name}-root-${stamp(now())}` };
      if (await retrying(preflightDeadline, () => mgmt.getSecret(newRef.namespace, newRef.name), serverHiccup)) throw new RotationRefused(`--generate-root: Secret ${refString(newRef)} exists already`);
      await createRootSecret(mgmt, newRef, opts.generateRoot, now());
    } else {
      throw new RotationRefused('pass --new-root-secret NS/NAME or --generate-root');
    }
    const body: CertificateRotation = {
      apiVersion: CERT_API_VERSION,
      kind: 'CertificateRotation',
      metadata: {
        name: `${vm.name}-${stamp(now())}`,
        namespace: vm.namespace,
        labels: { [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: { [ANN_PREVIOUS_ROOTS]: JSON.stringify([...oldRefs.values()]) },
      },
      spec: { virtualMesh: { name: vm.name, namespace: vm.namespace }, newRootCaSecret: { name: newRef.name, namespace: newRef.namespace } },
    };
    rot = await retrying(Date.now() + PREFLIGHT_RETRY_MS, async () => {
      try {
        return await mgmt.createCustom<CertificateRotation>('CertificateRotation', body);
      } catch (err) {
        // A retry after an answer that was lost: the object is there, and it is ours.
        if (statusOf(err) !== 409) throw err;
        const existing = await mgmt.getCustom<CertificateRotation>('CertificateRotation', vm.namespace, body.metadata.name);
        if (existing && sameRef(existing.spec.virtualMesh, vm) && sameRef(existing.spec.newRootCaSecret, newRef)) return existing;
        throw err;
      }
    }, serverHiccup);
    opts.onEvent?.({ type: 'rotation', name: rot.metadata.name, namespace: rot.metadata.namespace ?? '', created: true, newRoot: refString(newRef) });
  } else {
    opts.onEvent?.({ type: 'rotation', name: rot.metadata.name, namespace: rot.metadata.namespace ?? '', created: false, newRoot: refString(rot.spec.newRootCaSecret) });
  }
  const result = await new Machine(opts, rot).run();
  if (result.outcome !== 'finished') return result;
  try {
    const [rotations, certs] = await Promise.all([findRotations(mgmt, vm), certificatesOfMesh(opts.clusters, vm)]);
    return { ...result, retention: await pruneOldRoots(mgmt, rotations, certs, opts.keepPreviousRoots ?? DEFAULT_KEEP_PREVIOUS_ROOTS) };
  } catch (err) {
    // The rotation itself is done; the clean-up is retried by the next one.
    return { ...result, retention: { removed: [], kept: [`old roots not pruned: ${errorMessage(err)}`] } };
  }
}

/** Steps a rotation from its recorded status; each method is one resumable phase. */
class Machine {
  private writes = 0;
  private keys = 0;
  private timedOut: RotateResult['timedOut'];
  private readonly signCache = new Map<string, Promise<SigningMaterial>>();
  constructor(
    private readonly opts: RotateOptions,
    private rot: CertificateRotation,
  ) {}

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private get ns(): string {
    return this.rot.metadata.namespace ?? 'default';
  }

  /** Re-read the rotation and write its status; a lost race (409) re-reads and re-applies. */
  private async writeStatus(mutate: (s: NonNullable<CertificateRotation['status']>) => NonNullable<CertificateRotation['status']>): Promise<void> {
    const deadline = Date.now() + this.opts.stepTimeoutMs;
    const mgmt = bounded(this.opts.mgmt, deadline, '--timeout');
    this.rot = await retrying(deadline, async () => {
      const cur = await mgmt.getCustom<CertificateRotation>('CertificateRotation', this.ns, this.rot.metadata.name);
      if (!cur) throw new UserError(`CertificateRotation ${this.ns}/${this.rot.metadata.name} was deleted`);
      const status = mutate({ ...(cur.status ?? {}), conditions: [...(cur.status?.conditions ?? [])] });
      status.observedGeneration = cur.metadata.generation ?? 1;
      return mgmt.replaceCustomStatus<CertificateRotation>('CertificateRotation', { ...cur, status });
    });
    this.writes++;
    const s = this.rot.status!;
    const last = s.conditions?.[s.conditions.length - 1];
    this.opts.onEvent?.({ type: 'step', state: s.state ?? 'PENDING', rotationState: canonicalRotationState(s.rotationState) ?? 'NOT_ROTATING', message: last?.message ?? '' });
  }

  private condition(state: RotationState, message: string, errors?: string[]): RotationCondition {
    return { timestamp: this.now().toISOString(), state, message, ...(errors?.length ? { errors } : {}) };
  }

  /** Marks the last condition done and enters FORWARD[index]. */
  private async enter(index: number, doneMessage?: string): Promise<void> {
    const step = FORWARD[index]!;
    await this.writeStatus((s) => {
      const conds = s.conditions ?? [];
      if (doneMessage && conds.length) conds[conds.length - 1] = { ...conds[conds.length - 1]!, message: doneMessage };
      const msg = step.kind === 'finish' ? 'rotation finished: every cluster trusts and is signed by the new root only' : step.kind === 'verify' ? 'waiting for connectivity to be verified' : 're-issuing intermediates';
      return { ...s, state: step.state, rotationState: step.rotationState, conditions: [...conds, this.condition(step.rotationState, msg)] };
    });
  }

  async startRollback(reason: string): Promise<void> {
    await this.writeStatus((s) => ({
      ...s,
      state: 'ROTATING',
      rotationState: 'ROLLING_BACK',
      conditions: [...(s.conditions ?? []), this.condition('ROLLING_BACK', `rolling back to the previous root: ${reason}`, [reason])],
    }));
  }

  private async fail(error: string): Promise<void> {
    await this.writeStatus((s) => ({ ...s, state: 'FAILED', error, conditions: [...(s.conditions ?? []), this.condition(canonicalRotationState(s.rotationState ?? 'FAILED') ?? 'FAILED', `failed: ${error}`, [error])] }));
  }

  private stopped(): boolean {
    return (this.opts.stopAfterWrites !== undefined && this.writes >= this.opts.stopAfterWrites) || !!this.opts.signal?.aborted;
  }

  private result(outcome: RotateResult['outcome'], error?: string): RotateResult {
    return { rotation: this.rot, outcome, error, keysGenerated: this.keys, ...(this.timedOut ? { timedOut: this.timedOut } : {}) };
  }

  async run(): Promise<RotateResult> {
    for (;;) {
      const phase = nextPhase(this.rot);
      if (phase.kind === 'over') return this.result(phase.state === 'FINISHED' ? 'finished' : 'failed', this.rot.status?.error);
      if (this.stopped()) return this.result('stopped', 'interrupted');
      if (phase.kind === 'forward') {
        const step = FORWARD[phase.index]!;
        if (phase.enter) {
          await this.enter(phase.index);
          continue;
        }
        if (step.kind === 'reissue') {
          const r = await this.reissue(step.rotationState as ReissueStep);
          // Interrupted (Ctrl-C, a test's signal): stop as recorded, never roll back for it.
          if (this.opts.signal?.aborted) return this.result('stopped', 'interrupted');
          if (r.ok) await this.enter(phase.index + 1, `${step.rotationState} done: ${r.count} certificate(s) re-issued in ${r.clusters} cluster(s)`);
          else await this.startRollback(`${step.rotationState}: ${r.error}`);
          continue;
        }
        if (step.kind === 'verify') {
          const after = FORWARD[phase.index - 1]!.rotationState as ReissueStep;
          const decision = await this.verifyStep(after);
          if (this.opts.signal?.aborted) return this.result('stopped', 'interrupted');
          if (decision.ok) await this.enter(phase.index + 1, `verified after ${after}: ${decision.message}`);
          else await this.startRollback(`verification after ${after} rejected: ${decision.reason}`);
          continue;
        }
        return this.result('finished'); // 'finish' is entered, then 'over'
      }
      if (phase.kind === 'rollback') {
        const reason = rollbackReason(this.rot);
        let steps: RollbackStep[] = phase.steps;
        if (steps.length > 1) {
          // Resumed after the pre-step completed: some certificates are on ROLLING_BACK already.
          const certs = await this.certificates(Date.now() + this.opts.stepTimeoutMs);
          if (certs.some(({ ic }) => ic.spec.rotationState === 'ROLLING_BACK')) steps = steps.slice(1);
        }
        for (const step of steps) {
          const r = await this.reissue(step);
          if (this.opts.signal?.aborted) return this.result('stopped', 'interrupted');
          if (!r.ok) {
            await this.fail(`${reason}; the rollback stopped at ${step}: ${r.error}`);
            return this.result('failed', this.rot.status?.error);
          }
        }
        if (phase.statusStep === 'ROLLING_BACK') {
          await this.writeStatus((s) => {
            const conds = s.conditions ?? [];
            return { ...s, state: 'ROTATING', rotationState: 'PREVIOUS_CA', conditions: [...conds, this.condition('PREVIOUS_CA', 'every cluster signs with the previous root again; dropping the new root')] };
          });
        } else {
          await this.fail(reason);
          return this.result('failed', reason);
        }
      }
    }
  }

  /** The mesh's certificates, each with its cluster bounded by the step's deadline: no call outlives it. */
  private async certificates(deadline: number, step = 'the step'): Promise<MeshCertificate[]> {
    // Each cluster on its own: one that does not answer is the one the error names.
    const lists = await Promise.all(
      this.opts.clusters.map((c) => retrying(deadline, () => certificatesOfMesh([bounded(c, deadline, `--timeout (${step})`)], this.opts.virtualMesh))),
    );
    return lists.flat();
  }

  private roots(ic: IssuedCertificate): RotationRoots | undefined {
    const recorded = rotationRootsOf(ic);
    // An annotation left by an earlier rotation (another new root) does not describe this one.
    if (recorded && sameRef(recorded.new, this.rot.spec.newRootCaSecret)) return recorded;
    const old = signingSecretRef(ic);
    return old ? { old, new: resolveRef(this.rot.spec.newRootCaSecret, this.rot.metadata.namespace) } : undefined;
  }

  /** The spec patch that puts a certificate on `step`, or undefined when it is there already. */
  private specPatch(ic: IssuedCertificate, step: RotationState, bridge: string[]): object | undefined {
    const base = this.roots(ic);
    if (!base) return undefined;
    const roots: RotationRoots = { old: base.old, new: base.new, ...(bridge.length ? { bridge } : {}) };
    const signer = step === 'DELETING_OLD_ROOT' ? roots.new : step === 'PREVIOUS_CA' ? roots.old : signingSecretRef(ic)!;
    const recorded = rotationRootsOf(ic);
    const upToDate =
      ic.spec.rotationState === step &&
      !!recorded &&
      sameRef(recorded.old, roots.old) &&
      sameRef(recorded.new, roots.new) &&
      samePems(recorded.bridge ?? [], bridge) &&
      sameRef(signingSecretRef(ic), signer) && (!ic.spec.signingCertificateSecret || sameRef(ic.spec.signingCertificateSecret, signer));
    if (upToDate) return undefined;
    return {
      metadata: { annotations: { [ANN_ROTATION_ROOTS]: JSON.stringify(roots) } },
      spec: {
        rotationState: step,
        glooMeshCa: { signingCertificateSecret: signer },
        // Both fields must agree (the webhook denies a differing pair); old agents read this one.
        ...(ic.spec.signingCertificateSecret ? { signingCertificateSecret: signer } : {}),
      },
    };
  }

  /** Puts every certificate of the mesh on `step` and drives each to FINISHED for it. */
  private async reissue(step: RotationState): Promise<ReissueResult> {
    const r = await this.reissueOnce(step);
    if (!r.ok && r.timedOut.length && !this.timedOut) this.timedOut = { step, clusters: r.timedOut };
    return r;
  }

  private async reissueOnce(step: RotationState): Promise<ReissueResult> {
    const deadline = Date.now() + this.opts.stepTimeoutMs;
    // A transient error still failing at the deadline is the step running out of time.
    const ranOut = (err: unknown) => isTransient(err) && Date.now() > deadline;
    const unreachable = (err: unknown) => (!ranOut(err) ? [] : isUnreachable(err) || isDeadline(err) ? [err.cluster] : this.opts.clusters.map((c) => c.name));
    const mgmt = bounded(this.opts.mgmt, deadline, `--timeout (${step})`);
    let certs: MeshCertificate[];
    let monitor: TrustMonitor;
    try {
      certs = await this.certificates(deadline, step);
      // What every cluster's Secret holds now, read from the Secrets themselves.
      monitor = await retrying(deadline, () => TrustMonitor.start(certs));
    } catch (err) {
      return { ok: false, error: errorMessage(err), timedOut: unreachable(err) };
    }
    const bridge = bridgeRoots(monitor.held);
    const timedOut = new Set<string>();

    // First every certificate is put on the step and its signer's reach checked, before any
    // Secret changes: a signer some cluster does not trust yet would cut that cluster off.
    const prepared = await Promise.all(
      certs.map(async ({ cluster, ic }): Promise<string | undefined> => {
        const where = `cluster "${cluster.name}" IssuedCertificate ${ic.metadata.namespace}/${ic.metadata.name}`;
        try {
          const cur = await retrying(deadline, async () => {
            const cur = await cluster.getCustom<IssuedCertificate>('IssuedCertificate', ic.metadata.namespace ?? 'default', ic.metadata.name);
            if (!cur) throw new UserError(`${where} was deleted`);
            const patch = this.specPatch(cur, step, bridge);
            return patch ? cluster.mergePatchCustom<IssuedCertificate>('IssuedCertificate', ic.metadata.namespace ?? 'default', ic.metadata.name, patch) : cur;
          });
          const plan = await retrying(deadline, () => loadPlan(mgmt, cur, this.signCache));
          const anchor = plan.signerChain[plan.signerChain.length - 1] ?? plan.signer.caCertPem;
          const cutOff = clustersNotTrusting(monitor.held.filter((m) => m.cluster !== cluster.name), [anchor]);
          if (cutOff.length) return `${where}: its ${step} signer's root ${rootLabel(anchor)} is not trusted yet by cluster(s) ${cutOff.join(', ')}; re-issuing now would leave them unable to verify it`;
          return undefined;
        } catch (err) {
          if (ranOut(err)) timedOut.add(cluster.name);
          return `${where}: ${errorMessage(err)}`;
        }
      }),
    );
    const refused = prepared.filter((e): e is string => !!e);
    if (refused.length) return { ok: false, error: refused.join('; '), timedOut: [...timedOut].sort() };

    const rechecks: Promise<void>[] = [];
    const results = await Promise.all(
      certs.map(async (cert) => {
        const { cluster, ic } = cert;
        const where = `cluster "${cluster.name}" IssuedCertificate ${ic.metadata.namespace}/${ic.metadata.name}`;
        const r = await driveIssuance(
          { cluster, namespace: ic.metadata.namespace ?? 'default', name: ic.metadata.name },
          {
            mgmt,
            deadline,
            signal: this.opts.signal,
            makeKey: this.opts.makeKey ?? defaultKeyMaker,
            signCache: this.signCache,
            onEvent: (event) => {
              if (event.action === 'generate-key') this.keys++;
              // Every change of a cacerts Secret is checked against every other cluster at once.
              if (event.action === 'write-issued-secret') rechecks.push(monitor.changed(cert, `${where} was re-issued`).catch(() => undefined));
              this.opts.onEvent?.({ type: 'certificate', step, event });
            },
          },
        );
        if (r.outcome === 'stopped') return `${where}: interrupted`;
        if (r.outcome === 'timeout') timedOut.add(cluster.name);
        if (r.outcome !== 'finished') return `${where}: ${r.error ?? r.outcome}`;
        if (r.ic?.status?.observedRotationState !== step) return `${where}: finished without observing rotation state ${step}`;
        return undefined;
      }),
    );
    await Promise.all(rechecks);
    const errors = results.filter((e): e is string => !!e);
    if (monitor.gap) errors.unshift(`a trust gap was seen during ${step} (after ${monitor.gap.after}): ${monitor.gap.error}`);
    if (errors.length) return { ok: false, error: errors.join('; '), timedOut: [...timedOut].sort() };
    return { ok: true, count: certs.length, clusters: new Set(certs.map((c) => c.cluster.name)).size };
  }

  private async verifyStep(after: ReissueStep): Promise<VerifyDecision> {
    let report: TrustReport;
    try {
      const deadline = Date.now() + this.opts.stepTimeoutMs;
      const certs = await this.certificates(deadline);
      report = checkTrust(await retrying(deadline, () => readIssued(certs)));
    } catch (err) {
      return { ok: false, reason: errorMessage(err) };
    }
    this.opts.onEvent?.({ type: 'check', after, report });
    return this.opts.verify({ rotation: this.rot, after, clusters: this.opts.clusters.map((c) => c.name), report });
  }
}
