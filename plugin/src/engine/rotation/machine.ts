// The CertificateRotation state machine: each pass reads the rotation's recorded status, asks
// plan.ts for the next phase and performs it, so a killed run resumes where the record says. A
// re-issue phase sets spec.rotationState on every IssuedCertificate of the VirtualMesh and drives
// each through the issuance engine (signing root and trust bundle chosen by the step,
// issuance/signing-plan.ts) until all are FINISHED for that step.
import { canonicalRotationState } from '#schemas/src/rotation-states.js';
import { UserError, errorMessage } from '../../lib/errors.js';
import { bounded, isDeadline, isTransient, isUnreachable, retrying } from '../cluster-api.js';
import type { CertificateRotation, IssuedCertificate, RotationCondition, RotationState } from '../objects.js';
import { resolveRef, sameRef } from '../objects.js';
import { ANN_ROTATION_ROOTS } from '../resources.js';
import { driveIssuance } from '../issuance/drive.js';
import { defaultKeyMaker } from '../issuance/agent.js';
import type { SigningMaterial } from '../issuance/issuer.js';
import { rotationRootsOf, signingSecretRef, type RotationRoots } from '../issuance/signing-plan.js';
import { loadPlan, normPem, rootLabel } from '../issuance/plan-material.js';
import { FORWARD, nextPhase, rollbackReason, type RollbackStep, type ReissueStep } from './plan.js';
import { certificatesOfMesh, type MeshCertificate } from './targets.js';
import { checkTrust, readIssued, type TrustReport } from './trust-check.js';
import { TrustMonitor } from './trust-monitor.js';
import { bridgeRoots, clustersNotTrusting } from './bridge.js';
import type { RotateOptions, RotateResult } from './rotate-options.js';
import type { VerifyDecision } from './verifier.js';

const samePems = (a: string[], b: string[]) =>
  a.length === b.length && a.every((p, i) => normPem(p) === normPem(b[i]!));

type ReissueResult = { ok: true; count: number; clusters: number } | { ok: false; error: string; timedOut: string[] };

/** Steps a rotation from its recorded status; each method is one resumable phase. */
export class Machine {
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
  private async writeStatus(
    mutate: (s: NonNullable<CertificateRotation['status']>) => NonNullable<CertificateRotation['status']>,
  ): Promise<void> {
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
    this.opts.onEvent?.({
      type: 'step',
      state: s.state ?? 'PENDING',
      rotationState: canonicalRotationState(s.rotationState) ?? 'NOT_ROTATING',
      message: last?.message ?? '',
    });
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
      const msg =
        step.kind === 'finish'
          ? 'rotation finished: every cluster trusts and is signed by the new root only'
          : step.kind === 'verify'
            ? 'waiting for connectivity to be verified'
            : 're-issuing intermediates';
      return {
        ...s,
        state: step.state,
        rotationState: step.rotationState,
        conditions: [...conds, this.condition(step.rotationState, msg)],
      };
    });
  }

  async startRollback(reason: string): Promise<void> {
    await this.writeStatus((s) => ({
      ...s,
      state: 'ROTATING',
      rotationState: 'ROLLING_BACK',
      conditions: [
        ...(s.conditions ?? []),
        this.condition('ROLLING_BACK', `rolling back to the previous root: ${reason}`, [reason]),
      ],
    }));
  }

  private async fail(error: string): Promise<void> {
    await this.writeStatus((s) => ({
      ...s,
      state: 'FAILED',
      error,
      conditions: [
        ...(s.conditions ?? []),
        this.condition(canonicalRotationState(s.rotationState ?? 'FAILED') ?? 'FAILED', `failed: ${error}`, [error]),
      ],
    }));
  }

  private stopped(): boolean {
    return (
      (this.opts.stopAfterWrites !== undefined && this.writes >= this.opts.stopAfterWrites) ||
      !!this.opts.signal?.aborted
    );
  }

  private result(outcome: RotateResult['outcome'], error?: string): RotateResult {
    return {
      rotation: this.rot,
      outcome,
      error,
      keysGenerated: this.keys,
      ...(this.timedOut ? { timedOut: this.timedOut } : {}),
    };
  }

  async run(): Promise<RotateResult> {
    for (;;) {
      const phase = nextPhase(this.rot);
      if (phase.kind === 'over')
        return this.result(phase.state === 'FINISHED' ? 'finished' : 'failed', this.rot.status?.error);
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
          if (r.ok)
            await this.enter(
              phase.index + 1,
              `${step.rotationState} done: ${r.count} certificate(s) re-issued in ${r.clusters} cluster(s)`,
            );
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
            return {
              ...s,
              state: 'ROTATING',
              rotationState: 'PREVIOUS_CA',
              conditions: [
                ...conds,
                this.condition(
                  'PREVIOUS_CA',
                  'every cluster signs with the previous root again; dropping the new root',
                ),
              ],
            };
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
      this.opts.clusters.map((c) =>
        retrying(deadline, () =>
          certificatesOfMesh([bounded(c, deadline, `--timeout (${step})`)], this.opts.virtualMesh),
        ),
      ),
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
    const signer =
      step === 'DELETING_OLD_ROOT' ? roots.new : step === 'PREVIOUS_CA' ? roots.old : signingSecretRef(ic)!;
    const recorded = rotationRootsOf(ic);
    const upToDate =
      ic.spec.rotationState === step &&
      !!recorded &&
      sameRef(recorded.old, roots.old) &&
      sameRef(recorded.new, roots.new) &&
      samePems(recorded.bridge ?? [], bridge) &&
      sameRef(signingSecretRef(ic), signer) &&
      (!ic.spec.signingCertificateSecret || sameRef(ic.spec.signingCertificateSecret, signer));
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
    const unreachable = (err: unknown) =>
      !ranOut(err) ? [] : isUnreachable(err) || isDeadline(err) ? [err.cluster] : this.opts.clusters.map((c) => c.name);
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
            const cur = await cluster.getCustom<IssuedCertificate>(
              'IssuedCertificate',
              ic.metadata.namespace ?? 'default',
              ic.metadata.name,
            );
            if (!cur) throw new UserError(`${where} was deleted`);
            const patch = this.specPatch(cur, step, bridge);
            return patch
              ? cluster.mergePatchCustom<IssuedCertificate>(
                  'IssuedCertificate',
                  ic.metadata.namespace ?? 'default',
                  ic.metadata.name,
                  patch,
                )
              : cur;
          });
          const plan = await retrying(deadline, () => loadPlan(mgmt, cur, this.signCache));
          const anchor = plan.signerChain[plan.signerChain.length - 1] ?? plan.signer.caCertPem;
          const cutOff = clustersNotTrusting(
            monitor.held.filter((m) => m.cluster !== cluster.name),
            [anchor],
          );
          if (cutOff.length)
            return `${where}: its ${step} signer's root ${rootLabel(anchor)} is not trusted yet by cluster(s) ${cutOff.join(', ')}; re-issuing now would leave them unable to verify it`;
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
              if (event.action === 'write-issued-secret')
                rechecks.push(monitor.changed(cert, `${where} was re-issued`).catch(() => undefined));
              this.opts.onEvent?.({ type: 'certificate', step, event });
            },
          },
        );
        if (r.outcome === 'stopped') return `${where}: interrupted`;
        if (r.outcome === 'timeout') timedOut.add(cluster.name);
        if (r.outcome !== 'finished') return `${where}: ${r.error ?? r.outcome}`;
        if (r.ic?.status?.observedRotationState !== step)
          return `${where}: finished without observing rotation state ${step}`;
        return undefined;
      }),
    );
    await Promise.all(rechecks);
    const errors = results.filter((e): e is string => !!e);
    if (monitor.gap)
      errors.unshift(`a trust gap was seen during ${step} (after ${monitor.gap.after}): ${monitor.gap.error}`);
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
