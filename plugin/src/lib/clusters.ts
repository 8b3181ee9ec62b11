// Clusters are kubeconfig contexts. The management cluster is --mgmt-context (else --context,
// else the current context); the managed clusters are --managed-clusters a,b (old name --cluster), or every context with
// --all-contexts, or by default every context but the management one. Work on several clusters
// runs concurrently and settles per cluster: one unreachable cluster never hides the others.
import type { ClusterFlagValues } from './flags.js';
import { splitList } from './flags.js';
import { UserError, errorMessage } from './errors.js';
import type { K8s } from './k8s.js';
import { callLimits } from './deadline.js';
import {
  contextNames,
  kubeConfigFor,
  loadKubeconfig,
  namespaceOf,
  pickContext,
  serverOf,
  type MergedKubeconfig,
} from './kubeconfig.js';

export interface Cluster {
  /** The context name, which is the cluster's name everywhere in mesh-cert. */
  name: string;
  role: 'mgmt' | 'managed';
  /** The namespace of the context (or default). */
  namespace: string;
  server: string;
  /**
   * The client for this cluster, created (and client-node loaded) on first use. Its calls are
   * bounded by the running command's limits (lib/deadline.ts: --timeout, --request-timeout).
   */
  client(): Promise<K8s>;
}

export interface ClusterSet {
  kubeconfig: MergedKubeconfig;
  mgmt: Cluster;
  managed: Cluster[];
  /** The management cluster first, then the managed ones, each once. */
  all: Cluster[];
}

function makeCluster(kc: MergedKubeconfig, name: string, role: Cluster['role']): Cluster {
  let client: Promise<K8s> | undefined;
  return {
    name,
    role,
    namespace: namespaceOf(kc, name),
    server: serverOf(kc, name),
    client() {
      client ??= (async () => {
        const { K8s } = await import('./k8s.js');
        return K8s.forKubeConfig(name, await kubeConfigFor(kc, name), callLimits());
      })();
      return client;
    },
  };
}

/** The cluster a single-cluster command talks to: --context (or --mgmt-context), else current. */
export async function resolveCluster(
  flags: ClusterFlagValues,
): Promise<{ kubeconfig: MergedKubeconfig; cluster: Cluster }> {
  const kubeconfig = await loadKubeconfig(flags.kubeconfig);
  const flag = flags['mgmt-context'] ? '--mgmt-context' : '--context';
  const ctx = pickContext(kubeconfig, flags['mgmt-context'] ?? flags.context, flag);
  return { kubeconfig, cluster: makeCluster(kubeconfig, ctx.name, 'mgmt') };
}

/**
 * For commands that read an object in one cluster (--context) and consult the management
 * cluster (--mgmt-context, else the current context) about it.
 */
export async function resolveTargetAndMgmt(
  flags: ClusterFlagValues,
): Promise<{ kubeconfig: MergedKubeconfig; cluster: Cluster; mgmt: Cluster }> {
  const kubeconfig = await loadKubeconfig(flags.kubeconfig);
  const target = pickContext(kubeconfig, flags.context, '--context');
  const mgmtCtx = pickContext(kubeconfig, flags['mgmt-context'], '--mgmt-context');
  const cluster = makeCluster(kubeconfig, target.name, target.name === mgmtCtx.name ? 'mgmt' : 'managed');
  const mgmt = target.name === mgmtCtx.name ? cluster : makeCluster(kubeconfig, mgmtCtx.name, 'mgmt');
  return { kubeconfig, cluster, mgmt };
}

export async function resolveClusters(flags: ClusterFlagValues): Promise<ClusterSet> {
  const kubeconfig = await loadKubeconfig(flags.kubeconfig);
  const mgmtFlag = flags['mgmt-context'] ? '--mgmt-context' : '--context';
  const mgmtCtx = pickContext(kubeconfig, flags['mgmt-context'] ?? flags.context, mgmtFlag);
  const mgmt = makeCluster(kubeconfig, mgmtCtx.name, 'mgmt');
  const known = contextNames(kubeconfig);
  let managedNames: string[];
  // `cluster`: the old name, still accepted from callers that pass flag values themselves.
  const listed = flags['managed-clusters'] ?? flags.cluster;
  const flag =
    flags['managed-clusters'] === undefined && flags.cluster !== undefined ? '--cluster' : '--managed-clusters';
  if (listed !== undefined) {
    managedNames = splitList(listed);
    if (managedNames.length === 0)
      throw new UserError(`${flag} expects a comma-separated list of context names, got an empty value`);
    const unknown = managedNames.filter((n) => !kubeconfig.contexts.has(n));
    if (unknown.length) {
      throw new UserError(
        `${flag} names ${unknown.map((u) => `"${u}"`).join(', ')}, which ${unknown.length > 1 ? 'are not contexts' : 'is not a context'} of the kubeconfig (known: ${known.join(', ')})`,
      );
    }
  } else if (flags['all-contexts']) {
    managedNames = known;
  } else {
    managedNames = known.filter((n) => n !== mgmt.name);
  }
  const managed = managedNames.map((n) =>
    n === mgmt.name
      ? { ...mgmt, role: 'managed' as const, client: mgmt.client }
      : makeCluster(kubeconfig, n, 'managed'),
  );
  const all = [mgmt, ...managed.filter((c) => c.name !== mgmt.name)];
  return { kubeconfig, mgmt, managed, all };
}

export type Settled<T> = { cluster: Cluster; ok: true; value: T } | { cluster: Cluster; ok: false; error: Error };

/** Runs fn on every cluster at once and reports each outcome; never rejects. */
export async function onClusters<T>(
  clusters: readonly Cluster[],
  fn: (k8s: K8s, cluster: Cluster) => Promise<T>,
): Promise<Settled<T>[]> {
  const results = await Promise.allSettled(clusters.map(async (c) => fn(await c.client(), c)));
  return results.map((r, i) =>
    r.status === 'fulfilled'
      ? { cluster: clusters[i], ok: true as const, value: r.value }
      : {
          cluster: clusters[i],
          ok: false as const,
          error: r.reason instanceof Error ? r.reason : new Error(errorMessage(r.reason)),
        },
  );
}

/** The failures of a settle, as "cluster: message" lines (for stderr). */
export function failures<T>(settled: Settled<T>[]): { cluster: string; error: Error }[] {
  return settled
    .filter((s): s is Extract<Settled<T>, { ok: false }> => !s.ok)
    .map((s) => ({ cluster: s.cluster.name, error: s.error }));
}
