// The CertificateRotations of the cluster, listed and watched through @kubernetes/client-node,
// behind the two-method interface validation reads. client-node is imported only when a cluster
// is configured: it is the heaviest module we have and most test servers do not need it.
import { existsSync } from 'node:fs';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { KINDS } from '../../schemas/src/index.js';
import type { RotationLister } from './admission/validate.js';

export interface RotationCache extends RotationLister {
  /** Where the list comes from, for the start-up log line. */
  readonly source: string;
  stop(): Promise<void>;
}

/** A cache fed by the caller: tests, and anything that already holds the list. */
export function staticRotationCache(items: readonly unknown[] = []): RotationCache & { set(items: readonly unknown[]): void } {
  let current = [...items];
  return {
    source: 'static list',
    list: () => current,
    synced: () => true,
    set(next) {
      current = [...next];
    },
    stop: async () => undefined,
  };
}

export class ClusterConfigError extends Error {
  override name = 'ClusterConfigError';
}

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface InformerOptions {
  /** A kubeconfig file (its current context); absent: in-cluster config when running in a pod. */
  kubeconfig?: string;
  onError(message: string): void;
  onChange?(count: number): void;
  /** First retry delay after a failed list or a dropped watch; doubles up to 30 s. */
  retryMs?: number;
}

/** Whether a cluster is reachable at all: a kubeconfig flag, or the pod's service account. */
export function clusterConfigured(kubeconfig?: string): boolean {
  return !!kubeconfig || (!!process.env.KUBERNETES_SERVICE_HOST && existsSync(SA_TOKEN));
}

export async function startRotationInformer(opts: InformerOptions): Promise<RotationCache> {
  const k8s = await import('@kubernetes/client-node');
  const info = KINDS.find((k) => k.kind === 'CertificateRotation');
  if (!info) throw new Error('schemas: CertificateRotation is missing from KINDS');
  const kc = new k8s.KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromCluster();
    if (!kc.getCurrentCluster()) throw new Error('no current context with a cluster');
  } catch (err) {
    const where = opts.kubeconfig ? `--kubeconfig ${opts.kubeconfig}` : 'in-cluster configuration';
    throw new ClusterConfigError(`${where}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const path = `/apis/${info.group}/${info.version}/${info.plural}`;

  let synced = false;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const baseRetry = opts.retryMs ?? 1000;
  let retry = baseRetry;
  // Start-up waits for the first list (or its failure), not for the watch to be established.
  let firstAttempt: () => void = () => undefined;
  const firstAttemptDone = new Promise<void>((resolve) => (firstAttempt = resolve));

  const informer = k8s.makeInformer<KubernetesObject>(kc, path, async () => {
    const list = (await api.listClusterCustomObject({ group: info.group, version: info.version, plural: info.plural })) as KubernetesListObject<KubernetesObject>;
    // The informer fills its cache right after this returns (microtasks of the same tick): mark
    // it synced once that has happened, as client-go's HasSynced does.
    setImmediate(() => {
      synced = true;
      retry = baseRetry;
      changed();
      firstAttempt();
    });
    return list;
  });
  const changed = (): void => opts.onChange?.(informer.list().length);
  informer.on('add', changed);
  informer.on('update', changed);
  informer.on('delete', changed);

  const begin = (): void => {
    if (stopped) return;
    informer.start().catch((err: unknown) => onError(err));
  };
  // The informer does not restart itself after a failed list or a broken watch: back off and
  // list again. The cache keeps its last contents meanwhile.
  const onError = (err: unknown): void => {
    firstAttempt();
    if (stopped) return;
    const msg = err instanceof Error ? err.message : typeof err === 'object' && err && 'message' in err ? String((err as { message: unknown }).message) : String(err);
    opts.onError(`CertificateRotation list/watch on ${kc.getCurrentCluster()?.server ?? 'the cluster'} failed (${msg.slice(0, 200)}); retrying in ${retry} ms`);
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(begin, retry);
    retryTimer.unref();
    retry = Math.min(retry * 2, 30_000);
  };
  informer.on('error', onError);
  begin();
  await firstAttemptDone;

  return {
    source: opts.kubeconfig ? `kubeconfig ${opts.kubeconfig}` : 'in-cluster service account',
    list: () => informer.list(),
    synced: () => synced,
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      await informer.stop();
    },
  };
}
