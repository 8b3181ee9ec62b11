// What `kubectl mesh-cert issue` does across the selected clusters: per managed cluster, write
// the IssuedCertificate (unless watching), then drive it (or watch it). Clusters run
// concurrently and settle separately: an unreachable one is a row of its own.
import type { ClusterSet } from '../lib/clusters.js';
import { UserError, errorMessage } from '../lib/errors.js';
import type { ClusterApi } from './cluster-api.js';
import { isDeadline, isTransient, retrying } from './cluster-api.js';
import { clusterApiOf } from './k8s-cluster-api.js';
import type { IssuedCertificate, ObjectRef } from './objects.js';
import { refString } from './objects.js';
import { desiredIssuedCertificate, type IssueInputs } from './issuance/desired.js';
import { awaitIssuance, driveIssuance, type DriveResult, type IssuanceEvent } from './issuance/drive.js';
import { issuedSecretRef } from './issuance/agent.js';
import { glooMeshOwner } from './ownership.js';
import type { SigningMaterial } from './issuance/issuer.js';

export interface IssueRunOptions {
  set: ClusterSet;
  name?: string;
  namespace?: string;
  all: boolean;
  observe: boolean;
  wait: boolean;
  deadline: number;
  inputs: IssueInputs;
  /** Replace an issued Secret holding a CA mesh-cert did not issue (a copy is kept first). */
  force?: boolean;
  parseName(text: string, defaultNamespace: string): ObjectRef;
  onEvent?: (e: IssuanceEvent) => void;
  /** A cluster's certificates are all settled (progress marks it done while others go on). */
  onClusterDone?: (cluster: string, rows: IssueRunRow[]) => void;
  /**
   * A dry run (the K8s clients judge or skip every write): one pass, no waiting. The
   * IssuedCertificate's write is judged; when it is already as asked, the agent's next write is.
   */
  dryRun?: boolean;
}

export interface IssueRunRow {
  cluster: string;
  namespace: string;
  name: string;
  state: string;
  outcome: 'finished' | 'failed' | 'timeout' | 'stopped' | 'written' | 'unreachable' | 'dry-run';
  issuedSecret: string;
  error?: string;
  /** A dry run: what was judged and what the run would then wait for. */
  note?: string;
}

function rowOf(
  cluster: string,
  ref: ObjectRef,
  r: DriveResult | { outcome: 'written' | 'dry-run'; ic?: IssuedCertificate },
): IssueRunRow {
  const ic = r.ic;
  return {
    cluster,
    namespace: ref.namespace,
    name: ref.name,
    state: ic?.status?.state ?? 'PENDING',
    outcome: r.outcome,
    issuedSecret: ic ? refString(issuedSecretRef(ic)) : '',
    ...('error' in r && r.error ? { error: r.error } : {}),
  };
}

/** The row of a target whose issuance threw: its state unknown, the error's outcome and message. */
function errorRow(cluster: string, ref: ObjectRef, err: unknown): IssueRunRow {
  return {
    cluster,
    namespace: ref.namespace,
    name: ref.name,
    state: '<unknown>',
    outcome: outcomeOf(err),
    issuedSecret: '',
    error: errorMessage(err),
  };
}

/** Creates or updates the IssuedCertificate; a lost race (409) re-reads and re-applies. */
function upsert(
  api: ClusterApi,
  ref: ObjectRef,
  inputs: IssueInputs,
  deadline: number,
): Promise<{ ic: IssuedCertificate; wrote?: 'created' | 'updated' }> {
  return retrying(deadline, async () => {
    const existing = await api.getCustom<IssuedCertificate>('IssuedCertificate', ref.namespace, ref.name);
    const d = desiredIssuedCertificate(existing, ref, inputs);
    if ('error' in d) throw new UserError(d.error);
    if (!d.changed && existing) return { ic: existing };
    return existing
      ? { ic: await api.replaceCustom('IssuedCertificate', d.body), wrote: 'updated' as const }
      : { ic: await api.createCustom('IssuedCertificate', d.body), wrote: 'created' as const };
  });
}

/** What the agent and issuer would go on to do, and wait for, after a dry run's one pass. */
function waitsFor(ic: IssuedCertificate | undefined, cluster: string): string {
  const signer = ic?.spec?.glooMeshCa?.signingCertificateSecret ?? ic?.spec?.signingCertificateSecret;
  const issued = ic ? refString(issuedSecretRef(ic)) : 'istio-system/cacerts';
  const bounce = ic?.spec?.podBounceDirective;
  return `would then drive it to FINISHED, waiting for each step: the key and CSR in cluster "${cluster}", the signature by the management cluster's Secret ${signer ? refString(signer) : '(none named)'}, the issued Secret ${issued}${bounce ? `, the pods of PodBounceDirective ${refString(bounce)} replaced` : ''}`;
}

/** --all drives every certificate mesh-cert may drive: a FINISHED one is checked against its Secret too. */
function drivable(ic: IssuedCertificate): boolean {
  return !glooMeshOwner('IssuedCertificate', ic);
}

/** A call cut off by --timeout is the command timing out; another transient error, a cluster not answering. */
function outcomeOf(err: unknown): IssueRunRow['outcome'] {
  return isDeadline(err) ? 'timeout' : isTransient(err) ? 'unreachable' : 'failed';
}

export async function runIssue(o: IssueRunOptions): Promise<IssueRunRow[]> {
  const mgmt = await clusterApiOf(o.set.mgmt, { deadline: o.deadline, deadlineFlag: '--timeout' });
  const signCache = new Map<string, Promise<SigningMaterial>>();
  const perCluster = await Promise.all(
    o.set.managed.map(async (cluster) => {
      const rows = await issueInCluster(cluster);
      o.onClusterDone?.(cluster.name, rows);
      return rows;
    }),
  );
  return perCluster.flat();

  async function issueInCluster(cluster: ClusterSet['managed'][number]): Promise<IssueRunRow[]> {
    const api = await clusterApiOf(cluster, { deadline: o.deadline, deadlineFlag: '--timeout' });
    const defaultNs = o.namespace ?? cluster.namespace;
    let targets: ObjectRef[];
    try {
      if (o.all) {
        const list = await api.listCustom<IssuedCertificate>('IssuedCertificate', o.namespace);
        targets = list
          .filter(drivable)
          .map((ic) => ({ namespace: ic.metadata.namespace ?? defaultNs, name: ic.metadata.name }));
      } else {
        targets = [o.parseName(o.name!, defaultNs)];
      }
    } catch (err) {
      const ref = o.all ? { namespace: o.namespace ?? '*', name: '*' } : { namespace: defaultNs, name: o.name! };
      return [errorRow(cluster.name, ref, err)];
    }
    return Promise.all(
      targets.map(async (ref): Promise<IssueRunRow> => {
        try {
          const t = { cluster: api, namespace: ref.namespace, name: ref.name };
          if (o.observe) return rowOf(cluster.name, ref, await awaitIssuance(t, { deadline: o.deadline }));
          if (!o.all) {
            const { ic, wrote } = await upsert(api, ref, o.inputs, o.deadline);
            // Not stored: the agent's next step would act on an object the server does not have.
            if (o.dryRun && wrote)
              return {
                ...rowOf(cluster.name, ref, { outcome: 'dry-run', ic }),
                note: `IssuedCertificate ${wrote}; ${waitsFor(ic, cluster.name)}`,
              };
            if (o.dryRun && !o.wait)
              return {
                ...rowOf(cluster.name, ref, { outcome: 'dry-run', ic }),
                note: 'already as asked; with --no-wait nothing else would be written',
              };
            if (!o.wait) return rowOf(cluster.name, ref, { outcome: 'written', ic });
          }
          if (o.dryRun) {
            const r = await driveIssuance(t, {
              mgmt,
              deadline: o.deadline,
              signCache,
              force: o.force,
              onEvent: o.onEvent,
              maxWrites: 1,
            });
            if (r.outcome !== 'stopped') return rowOf(cluster.name, ref, r);
            const did = r.actions.filter((a) => a !== 'retry').join(', ');
            return {
              ...rowOf(cluster.name, ref, { outcome: 'dry-run', ic: r.ic }),
              note: `next: ${did}; ${waitsFor(r.ic, cluster.name)}`,
            };
          }
          return rowOf(
            cluster.name,
            ref,
            await driveIssuance(t, { mgmt, deadline: o.deadline, signCache, force: o.force, onEvent: o.onEvent }),
          );
        } catch (err) {
          return errorRow(cluster.name, ref, err);
        }
      }),
    );
  }
}
