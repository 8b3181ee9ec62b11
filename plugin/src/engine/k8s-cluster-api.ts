// The engine's ClusterApi on the plugin's K8s client (plugin/src/lib/k8s.ts): one KubeConfig
// per context, merge patches with the merge-patch content type, errors as ApiError or
// UnreachableError naming the cluster. Pods are not in K8s yet, so they go through CoreV1Api here
// with the same error translation.
import type { ClusterApi } from './cluster-api.js';
import { CERT_GROUP, CERT_VERSION, PLURAL, type CertKind } from './resources.js';
import type { ConfigMap, KubeObject, Pod, Secret } from './objects.js';
import { K8s, loadClientNode, translateError, type KObject, type ResourceType } from '../lib/k8s.js';

const KIND_TYPES = Object.fromEntries(
  (Object.keys(PLURAL) as CertKind[]).map((kind) => [kind, { group: CERT_GROUP, version: CERT_VERSION, plural: PLURAL[kind], kind }]),
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
    return this.k8s.replace(KIND_TYPES[kind], nsOf(body), body.metadata.name, body as unknown as KObject) as unknown as Promise<T>;
  }
  mergePatchCustom<T extends KubeObject>(kind: CertKind, namespace: string, name: string, patch: object): Promise<T> {
    return this.k8s.mergePatch(KIND_TYPES[kind], namespace, name, patch) as unknown as Promise<T>;
  }
  replaceCustomStatus<T extends KubeObject>(kind: CertKind, body: T): Promise<T> {
    return this.k8s.replaceStatus(KIND_TYPES[kind], nsOf(body), body.metadata.name, body as unknown as KObject) as unknown as Promise<T>;
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
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    return this.k8s.getConfigMap(namespace, name) as Promise<ConfigMap | undefined>;
  }

  private async core() {
    const cn = await loadClientNode();
    return this.k8s.kubeConfig.makeApiClient(cn.CoreV1Api);
  }
  async listPods(namespace: string, labels: Record<string, string>): Promise<Pod[]> {
    const labelSelector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
    try {
      const res = await (await this.core()).listNamespacedPod(labelSelector ? { namespace, labelSelector } : { namespace });
      return (res.items ?? []) as unknown as Pod[];
    } catch (err) {
      throw translateError(err, this.name, `list Pods in ${namespace}`);
    }
  }
  async deletePod(namespace: string, name: string): Promise<void> {
    try {
      await (await this.core()).deleteNamespacedPod({ namespace, name });
    } catch (err) {
      const e = translateError(err, this.name, `delete Pod ${namespace}/${name}`);
      if ((e as { status?: number }).status === 404) return;
      throw e;
    }
  }
}

/** The engine's view of a cluster, for a plugin Cluster (lib/clusters.ts). */
export async function clusterApiOf(cluster: { client(): Promise<K8s> }): Promise<ClusterApi> {
  return new K8sClusterApi(await cluster.client());
}
