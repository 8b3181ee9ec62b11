// The engine's ClusterApi on the plugin's K8s client (plugin/src/lib/k8s.ts): one KubeConfig
// per context, merge patches with the merge-patch content type, errors as ApiError or
// UnreachableError naming the cluster. Every call is bounded by the client's limits (the
// command's --timeout and the per-request timeout, lib/deadline.ts): past them it throws
// DeadlineError / RequestTimeoutError naming the call and the cluster. withDeadline(d) gives a
// view whose calls also end by d (a rotation step's deadline).
import type { ClusterApi } from './cluster-api.js';
import { CERT_GROUP, CERT_VERSION, PLURAL, type CertKind } from './resources.js';
import type { ConfigMap, KubeObject, Pod, Secret } from './objects.js';
import { isNotFound, type K8s, type KObject, type ResourceType } from '../lib/k8s.js';

const KIND_TYPES = Object.fromEntries(
  (Object.keys(PLURAL) as CertKind[]).map((kind) => [
    kind,
    { group: CERT_GROUP, version: CERT_VERSION, plural: PLURAL[kind], kind },
  ]),
) as Record<CertKind, ResourceType>;

function nsOf(o: KubeObject): string {
  return o.metadata.namespace ?? 'default';
}

export class K8sClusterApi implements ClusterApi {
  readonly name: string;
  constructor(readonly k8s: K8s) {
    this.name = k8s.cluster;
  }

  getCustom<T extends KubeObject>(kind: CertKind, namespace: string, name: string): Promise<T | undefined> {
    return this.k8s.find(KIND_TYPES[kind], namespace, name) as Promise<T | undefined>;
  }
  listCustom<T extends KubeObject>(kind: CertKind, namespace?: string): Promise<T[]> {
    return this.k8s.list(KIND_TYPES[kind], namespace) as unknown as Promise<T[]>;
  }
  createCustom<T extends KubeObject>(kind: CertKind, body: T): Promise<T> {
    return this.k8s.create(KIND_TYPES[kind], nsOf(body), body as unknown as KObject) as unknown as Promise<T>;
  }
  replaceCustom<T extends KubeObject>(kind: CertKind, body: T): Promise<T> {
    return this.k8s.replace(
      KIND_TYPES[kind],
      nsOf(body),
      body.metadata.name,
      body as unknown as KObject,
    ) as unknown as Promise<T>;
  }
  mergePatchCustom<T extends KubeObject>(kind: CertKind, namespace: string, name: string, patch: object): Promise<T> {
    return this.k8s.mergePatch(KIND_TYPES[kind], namespace, name, patch) as unknown as Promise<T>;
  }
  replaceCustomStatus<T extends KubeObject>(kind: CertKind, body: T): Promise<T> {
    return this.k8s.replaceStatus(
      KIND_TYPES[kind],
      nsOf(body),
      body.metadata.name,
      body as unknown as KObject,
    ) as unknown as Promise<T>;
  }
  deleteCustom(kind: CertKind, namespace: string, name: string): Promise<void> {
    return this.k8s.delete(KIND_TYPES[kind], namespace, name);
  }
  getSecret(namespace: string, name: string): Promise<Secret | undefined> {
    return this.k8s.findSecret(namespace, name) as Promise<Secret | undefined>;
  }
  listSecrets(namespace?: string): Promise<Secret[]> {
    return this.k8s.listSecrets(namespace) as Promise<Secret[]>;
  }
  createSecret(body: Secret): Promise<Secret> {
    return this.k8s.createSecret(nsOf(body), body as never) as Promise<Secret>;
  }
  replaceSecret(body: Secret): Promise<Secret> {
    return this.k8s.replaceSecret(nsOf(body), body.metadata.name, body as never) as Promise<Secret>;
  }
  deleteSecret(namespace: string, name: string): Promise<void> {
    return this.k8s.deleteSecret(namespace, name);
  }
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    return this.k8s.getConfigMap(namespace, name) as Promise<ConfigMap | undefined>;
  }

  async listPods(namespace: string, labels: Record<string, string>): Promise<Pod[]> {
    const labelSelector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return (await this.k8s.listPods(namespace, labelSelector || undefined)) as unknown as Pod[];
  }
  async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await this.k8s.deletePod(namespace, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /** This cluster with every call also ending by `deadline` (epoch ms; the earlier one wins). */
  withDeadline(deadline: number, flag?: string): K8sClusterApi {
    const k8s = this.k8s.withDeadline(deadline, flag);
    return k8s === this.k8s ? this : new K8sClusterApi(k8s);
  }
}

/** The engine's view of a cluster, for a plugin Cluster (lib/clusters.ts). */
export async function clusterApiOf(
  cluster: { client(): Promise<K8s> },
  opts: { deadline?: number; deadlineFlag?: string } = {},
): Promise<ClusterApi> {
  const api = new K8sClusterApi(await cluster.client());
  return opts.deadline === undefined ? api : api.withDeadline(opts.deadline, opts.deadlineFlag);
}
