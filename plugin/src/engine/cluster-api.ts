// What the engine needs from one cluster: a port, so the state machines stay free of client
// plumbing. k8s-cluster-api.ts implements it on the plugin's K8s client (lib/k8s.ts).
import type { CertKind } from './resources.js';
import type { ConfigMap, KubeObject, Pod, Secret } from './objects.js';
import { ApiError, DeadlineError, UnreachableError, WebhookUnreachableError } from '../lib/errors.js';

export interface ClusterApi {
  /** The kubeconfig context name: how users and error messages name the cluster. */
  readonly name: string;
  getCustom<T extends KubeObject>(kind: CertKind, namespace: string, name: string): Promise<T | undefined>;
  /** namespace undefined: across all namespaces. */
  listCustom<T extends KubeObject>(kind: CertKind, namespace?: string): Promise<T[]>;
  createCustom<T extends KubeObject>(kind: CertKind, body: T): Promise<T>;
  /** PUT with the body's resourceVersion: a stale one answers 409. */
  replaceCustom<T extends KubeObject>(kind: CertKind, body: T): Promise<T>;
  /** application/merge-patch+json on the main resource. */
  mergePatchCustom<T extends KubeObject>(kind: CertKind, namespace: string, name: string, patch: object): Promise<T>;
  /** PUT on the status subresource with the body's resourceVersion. */
  replaceCustomStatus<T extends KubeObject>(kind: CertKind, body: T): Promise<T>;
  deleteCustom(kind: CertKind, namespace: string, name: string): Promise<void>;

  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  listSecrets(namespace?: string): Promise<Secret[]>;
  createSecret(body: Secret): Promise<Secret>;
  replaceSecret(body: Secret): Promise<Secret>;
  deleteSecret(namespace: string, name: string): Promise<void>;
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  listPods(namespace: string, labels: Record<string, string>): Promise<Pod[]>;
  /** Deleting a pod that is already gone is not an error. */
  deletePod(namespace: string, name: string): Promise<void>;
  /**
   * This cluster with every call also ending by `deadline` (epoch ms): a call still running then
   * is aborted and throws DeadlineError, one started after it throws at once. Optional: test
   * doubles may leave it out (see bounded()).
   */
  withDeadline?(deadline: number, flag?: string): ClusterApi;
}

/** `api` bounded by `deadline` when it can be (ClusterApi.withDeadline), else `api` itself. */
export function bounded(api: ClusterApi, deadline: number, flag?: string): ClusterApi {
  return api.withDeadline ? api.withDeadline(deadline, flag) : api;
}

// Errors are the plugin's own (lib/errors.ts): ApiError carries the status, UnreachableError the cluster.
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiError ? err.status : undefined;
}
export const isUnreachable = (err: unknown): err is UnreachableError => err instanceof UnreachableError;
/** A call cut off by (or not sent after) its client's deadline: the time is up, not the cluster. */
export const isDeadline = (err: unknown): err is DeadlineError => err instanceof DeadlineError;

/**
 * Worth observing again and retrying: a lost race (409), a server hiccup (5xx, 429) or no
 * answer (unreachable, a per-request timeout, a call cut off by the deadline). Anything else
 * (400, 403, 404 on write, 422) is an answer that will not change, and so is a 500 saying the API
 * server cannot connect to an admission webhook that has admitted nothing in this run yet
 * (WebhookUnreachableError.failFast): that needs an operator, and waiting out the whole
 * --timeout for it only hides the cause. One that went down mid-run is waited for.
 *
 * A DeadlineError counts as "no answer", never as an answer to record (no FAILED status is
 * written for it), but it is never retried past its deadline: retrying() rethrows it at once,
 * and every later call on that client fails at once, so loops that check their own deadline
 * (driveIssuance, awaitIssuance) end there with outcome 'timeout'.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof DeadlineError) return true;
  if (err instanceof WebhookUnreachableError) return !err.failFast;
  if (err instanceof UnreachableError) return true;
  const s = statusOf(err);
  return s !== undefined && (s === 409 || s === 429 || s >= 500);
}

/**
 * Retries transient failures (409, 5xx, unreachable by default) until the deadline. A
 * DeadlineError (the client's deadline has passed: no retry can succeed) is rethrown at once.
 */
export async function retrying<T>(
  deadline: number,
  fn: () => Promise<T>,
  transient: (err: unknown) => boolean = isTransient,
): Promise<T> {
  let backoff = 25;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DeadlineError || !transient(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 500);
    }
  }
}
