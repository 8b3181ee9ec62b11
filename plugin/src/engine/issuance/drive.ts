// Drives one IssuedCertificate to FINISHED: observe what the clusters hold, decide the next
// write (decide.ts), make it, repeat. Lost races (409), server errors and unreachable clusters are
// retried until the deadline by observing again; an interrupted run resumes from what was
// recorded. Problems with the request itself end as FAILED with an error naming the field.
import type { ClusterApi } from '../cluster-api.js';
import { isDeadline, isTransient, retrying } from '../cluster-api.js';
import type { CertificateRequest, IssuedCertificate, Secret } from '../objects.js';
import { errorMessage } from '../../lib/errors.js';
import { decideAgent, decideIssuer, generationOf, type AgentAction, type AgentObservation } from './decide.js';
import {
  generateKey,
  issuedSecretRef,
  markRequested,
  request,
  setIssuedState,
  writeIssuedSecret,
  defaultKeyMaker,
  type KeyMaker,
} from './agent.js';
import { issue, SigningError, type SigningMaterial } from './issuer.js';
import { loadPlan } from './plan-material.js';
import { glooMeshOwner } from '../ownership.js';
import { bouncePods } from './pod-bounce.js';

export interface IssuanceTarget {
  cluster: ClusterApi;
  namespace: string;
  name: string;
}

export interface IssuanceEvent {
  cluster: string;
  namespace: string;
  name: string;
  /** The action just taken (decide.ts names, 'sign' for the issuer, 'retry' after a transient error). */
  action: AgentAction['type'] | 'sign' | 'retry';
  detail?: string;
}

export interface DriveOptions {
  /** The management cluster: signing Secrets live there. */
  mgmt: ClusterApi;
  /** Epoch milliseconds. */
  deadline: number;
  signal?: AbortSignal;
  /** Stop after this many writes: how tests interrupt a run at every point. */
  maxWrites?: number;
  /** Pick up an IssuedCertificate found FAILED and issue it again (default true). */
  retryFailed?: boolean;
  makeKey?: KeyMaker;
  signCache?: Map<string, Promise<SigningMaterial>>;
  /** Replace an issued Secret that holds a CA mesh-cert did not issue (a copy is kept first). */
  force?: boolean;
  onEvent?: (e: IssuanceEvent) => void;
  pollMs?: number;
}

export type DriveOutcome = 'finished' | 'failed' | 'stopped' | 'timeout';
export interface DriveResult {
  outcome: DriveOutcome;
  ic?: IssuedCertificate;
  error?: string;
  writes: number;
  actions: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads are idempotent: each one is retried on its own, so one flaky answer costs one read. With
 * `mgmt`, the plan is read too and the issued Secret always: the Secret, not the status, says
 * whether a FINISHED certificate is done.
 */
export async function observe(
  t: IssuanceTarget,
  deadline = Date.now() + 5000,
  mgmt?: { api: ClusterApi; cache?: Map<string, Promise<SigningMaterial>> },
): Promise<AgentObservation | undefined> {
  const read = <T>(fn: () => Promise<T>) => retrying(deadline, fn);
  const ic = await read(() => t.cluster.getCustom<IssuedCertificate>('IssuedCertificate', t.namespace, t.name));
  if (!ic) return undefined;
  const current = (ic.status?.observedGeneration ?? -1) === generationOf(ic);
  if (!mgmt && current && ic.status?.state === 'FINISHED') return { ic };
  const out = issuedSecretRef(ic);
  const [keySecret, request, issuedSecret, plan] = await Promise.all([
    read(() => t.cluster.getSecret(t.namespace, t.name)),
    read(() => t.cluster.getCustom<CertificateRequest>('CertificateRequest', t.namespace, t.name)),
    read(() => t.cluster.getSecret(out.namespace, out.name)),
    mgmt
      ? read(() => loadPlan(mgmt.api, ic, mgmt.cache)).catch((err: unknown): string => {
          // No plan (no signing Secret, say): said by the decision, before any key is made.
          if (err instanceof SigningError) return err.message;
          throw err;
        })
      : Promise.resolve(undefined),
  ]);
  return {
    ic,
    keySecret,
    request,
    issuedSecret: issuedSecret as Secret | undefined,
    ...(typeof plan === 'string' ? { planError: plan } : plan ? { plan } : {}),
  };
}

export function describeTarget(t: IssuanceTarget): string {
  return `IssuedCertificate ${t.namespace}/${t.name} in cluster "${t.cluster.name}"`;
}

export async function driveIssuance(t: IssuanceTarget, opts: DriveOptions): Promise<DriveResult> {
  const actions: string[] = [];
  let writes = 0;
  let first = true;
  let lastTransient: unknown;
  let backoff = 25;
  let lastIc: IssuedCertificate | undefined;
  const emit = (action: IssuanceEvent['action'], detail?: string) => {
    actions.push(action);
    opts.onEvent?.({ cluster: t.cluster.name, namespace: t.namespace, name: t.name, action, detail });
  };
  const result = (outcome: DriveOutcome, error?: string): DriveResult => ({
    outcome,
    ic: lastIc,
    error,
    writes,
    actions,
  });

  for (;;) {
    if (opts.signal?.aborted) return result('stopped', 'interrupted');
    if (Date.now() > opts.deadline) {
      const why = lastTransient ? `: last error: ${errorMessage(lastTransient)}` : '';
      return result(
        'timeout',
        `timed out driving ${describeTarget(t)} (state ${lastIc?.status?.state ?? 'PENDING'})${why}`,
      );
    }
    if (opts.maxWrites !== undefined && writes >= opts.maxWrites) return result('stopped');
    let o: AgentObservation | undefined;
    try {
      o = await observe(t, Math.min(opts.deadline, Date.now() + 5000), { api: opts.mgmt, cache: opts.signCache });
      if (!o) return result('failed', `${describeTarget(t)} not found`);
      lastIc = o.ic;
      const owner = glooMeshOwner('IssuedCertificate', o.ic);
      if (owner)
        return result(
          'failed',
          `${describeTarget(t)} is owned by Gloo Mesh (label ${owner}): its controllers issue it, so mesh-cert only observes it (use --observe)`,
        );
      const action = decideAgent(o);
      if (first && o.ic.status?.state === 'FAILED' && opts.retryFailed === false && action.type !== 'restart') {
        return result('failed', o.ic.status.error);
      }
      first = false;
      switch (action.type) {
        case 'done':
          return result('finished');
        case 'fail':
          await setIssuedState(t.cluster, o.ic, 'FAILED', { error: action.error });
          writes++;
          emit('fail', action.error);
          if (!action.retry) {
            lastIc = await t.cluster.getCustom<IssuedCertificate>('IssuedCertificate', t.namespace, t.name);
            return result('failed', action.error);
          }
          break;
        case 'await-signature': {
          const cr = o.request!;
          if (decideIssuer(cr).type === 'sign') {
            const outcome = await issue(t.cluster, opts.mgmt, o.ic, cr, { cache: opts.signCache, plan: o.plan });
            writes++;
            emit('sign', outcome);
          } else {
            await sleep(opts.pollMs ?? 100);
          }
          break;
        }
        case 'restart':
          await setIssuedState(t.cluster, o.ic, 'PENDING', { observedGeneration: generationOf(o.ic) });
          writes++;
          emit('restart');
          break;
        case 'generate-key':
          await generateKey(t.cluster, o, opts.makeKey ?? defaultKeyMaker);
          writes++;
          emit('generate-key');
          break;
        case 'request':
          await request(t.cluster, o);
          writes++;
          emit('request');
          break;
        case 'mark-requested':
          await markRequested(t.cluster, o);
          writes++;
          emit('mark-requested');
          break;
        case 'write-issued-secret':
          await writeIssuedSecret(t.cluster, o, { force: opts.force });
          writes++;
          emit('write-issued-secret');
          break;
        case 'mark-issued':
          await setIssuedState(t.cluster, o.ic, 'ISSUED');
          writes++;
          emit('mark-issued');
          break;
        case 'bounce-and-finish':
          await bouncePods(t.cluster, o.ic, { deadline: opts.deadline, signal: opts.signal, pollMs: opts.pollMs });
          emit('bounce-and-finish');
          // A write to the IssuedCertificate meanwhile makes this a 409: observed again, the
          // bounce (recorded, so idempotent) runs again before FINISHED.
          await setIssuedState(t.cluster, o.ic, 'FINISHED', { observedRotationState: true });
          writes++;
          emit('finish');
          break;
        case 'finish':
          await setIssuedState(t.cluster, o.ic, 'FINISHED', { observedRotationState: true });
          writes++;
          emit('finish');
          break;
      }
      backoff = 25;
      lastTransient = undefined;
    } catch (err) {
      // A call cut off by the deadline: nothing more can be done in time.
      if (isDeadline(err))
        return result(
          'timeout',
          `timed out driving ${describeTarget(t)} (state ${lastIc?.status?.state ?? 'PENDING'}): ${errorMessage(err)}`,
        );
      if (isTransient(err)) {
        lastTransient = err;
        emit('retry', errorMessage(err));
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 500);
        continue;
      }
      // Not going to change by retrying: record it on the IssuedCertificate (best effort).
      const message = errorMessage(err);
      if (o?.ic) {
        try {
          await setIssuedState(t.cluster, o.ic, 'FAILED', { error: message });
          writes++;
          lastIc = await t.cluster.getCustom<IssuedCertificate>('IssuedCertificate', t.namespace, t.name);
        } catch {
          /* the original error is the one to report */
        }
      }
      emit('fail', message);
      return result('failed', message);
    }
  }
}

/** Watch only (another agent issues): wait for FINISHED or FAILED of the current generation. */
export async function awaitIssuance(
  t: IssuanceTarget,
  opts: { deadline: number; signal?: AbortSignal; pollMs?: number },
): Promise<DriveResult> {
  let lastIc: IssuedCertificate | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      lastIc = await t.cluster.getCustom<IssuedCertificate>('IssuedCertificate', t.namespace, t.name);
      if (!lastIc) return { outcome: 'failed', error: `${describeTarget(t)} not found`, writes: 0, actions: [] };
      const current = (lastIc.status?.observedGeneration ?? -1) === generationOf(lastIc);
      if (current && lastIc.status?.state === 'FINISHED')
        return { outcome: 'finished', ic: lastIc, writes: 0, actions: [] };
      if (current && lastIc.status?.state === 'FAILED')
        return { outcome: 'failed', ic: lastIc, error: lastIc.status.error, writes: 0, actions: [] };
    } catch (err) {
      if (!isTransient(err)) throw err;
      lastErr = err;
    }
    if (opts.signal?.aborted) return { outcome: 'stopped', ic: lastIc, writes: 0, actions: [] };
    if (Date.now() > opts.deadline) {
      return {
        outcome: 'timeout',
        ic: lastIc,
        error: `timed out waiting for ${describeTarget(t)} (state ${lastIc?.status?.state ?? 'PENDING'})${lastErr ? `: ${errorMessage(lastErr)}` : ''}`,
        writes: 0,
        actions: [],
      };
    }
    await sleep(opts.pollMs ?? 200);
  }
}
