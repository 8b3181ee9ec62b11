// The CertificateRotations of the cluster behind the interface validation reads: an informer
// (informer.ts: list, watch, relist on 410, back off) whose objects are trusted only while they
// are current. A watch the API server refuses (403: RBAC that allows list but not watch) makes
// the cache untrusted at once: the list would silently go stale.
import { KINDS } from '#schemas/src/index.js';
import type { RotationLister } from './admission/validate.js';
import { startInformer } from './informer.js';
import { connect } from './kube-api.js';

export { ClusterConfigError, clusterConfigured } from './kube-api.js';

export interface RotationCache extends RotationLister {
  /** Where the list comes from, for the start-up log line. */
  readonly source: string;
  /** Why the cache is not to be trusted now (for /readyz), or undefined when it is current. */
  notReady(): string | undefined;
  listed(): boolean;
  stop(): Promise<void>;
}

/** A cache fed by the caller: tests, and anything that already holds the list. */
export function staticRotationCache(
  items: readonly unknown[] = [],
): RotationCache & { set(items: readonly unknown[]): void } {
  let current = [...items];
  return {
    source: 'static list',
    list: () => current,
    synced: () => true,
    notReady: () => undefined,
    listed: () => true,
    set(next) {
      current = [...next];
    },
    stop: async () => undefined,
  };
}

export interface InformerOptions {
  /** A kubeconfig file (its current context); absent: the pod's service account. */
  kubeconfig?: string;
  onError(message: string): void;
  onChange?(count: number): void;
  /** First retry delay after a failed list or watch; doubles up to 30 s. */
  retryMs?: number;
  /**
   * How long the cache stays trusted without a watch (the API server restarting, a network
   * blip): past it, validation of CertificateRotations and /readyz fail until a watch is back.
   */
  staleAfterMs?: number;
  /** The watch's timeoutSeconds; default 5 to 10 minutes, drawn per watch as client-go does. */
  watchTimeoutSeconds?: number;
}

/** Resolves once the first list has succeeded or failed (start-up does not wait for the watch). */
export async function startRotationInformer(opts: InformerOptions): Promise<RotationCache> {
  const info = KINDS.find((k) => k.kind === 'CertificateRotation');
  if (!info) throw new Error('schemas: CertificateRotation is missing from KINDS');
  const conn = await connect(opts.kubeconfig);
  const informer = startInformer({
    conn,
    path: `/apis/${info.group}/${info.version}/${info.plural}`,
    kind: 'CertificateRotation',
    onError: (f) =>
      opts.onError(
        `CertificateRotation list/watch on ${conn.server} failed (${f.reason}); retrying in ${f.retryInMs} ms`,
      ),
    onChange: opts.onChange,
    retryMs: opts.retryMs,
    staleAfterMs: opts.staleAfterMs,
    watchTimeoutSeconds: opts.watchTimeoutSeconds,
  });
  await informer.firstAttempt;
  return {
    source: conn.source,
    list: informer.list,
    synced: () => informer.notReady() === undefined,
    notReady: informer.notReady,
    listed: informer.listed,
    async stop() {
      informer.stop();
      conn.agent.destroy();
    },
  };
}
