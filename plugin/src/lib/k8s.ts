// A small typed face over @kubernetes/client-node for one cluster (one context). Everything here
// is loaded lazily: importing this module costs nothing until a client is created.
// client-node 1.4's patch calls send JSON Patch unless told otherwise, so every merge patch sets
// its Content-Type through a request middleware.
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, UnreachableError } from './errors.js';

export interface ResourceType { group: string; version: string; plural: string; kind: string }

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}

export interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  immutable?: boolean;
}

export const SECRET: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };

export interface ListOptions { labelSelector?: string; fieldSelector?: string }
export interface WriteOptions { dryRun?: boolean; fieldManager?: string }

const FIELD_MANAGER = 'kubectl-mesh-cert';

type ClientNode = typeof import('./client-node.js');

let clientNode: Promise<ClientNode> | undefined;
export function loadClientNode(): Promise<ClientNode> {
  clientNode ??= import('./client-node.js');
  return clientNode;
}

function parseBody(body: unknown): { message?: string; reason?: string } {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { message?: string; reason?: string };
    } catch {
      return { message: body.slice(0, 200) };
    }
  }
  return (body as { message?: string; reason?: string }) ?? {};
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** Turns whatever client-node threw into an ApiError or UnreachableError with one sentence. */
export function translateError(err: unknown, cluster: string, what: string): Error {
  const e = err as { code?: unknown; body?: unknown; errno?: string; type?: string; cause?: { code?: string }; message?: string };
  if (typeof e?.code === 'number') {
    const status = parseBody(e.body);
    const msg = status.message ?? `HTTP ${e.code}`;
    return new ApiError(`${what} on cluster "${cluster}": ${msg}`, e.code, status.reason);
  }
  const code = typeof e?.code === 'string' ? e.code : e?.errno ?? e?.cause?.code;
  if ((code && NETWORK_CODES.has(code)) || e?.type === 'system' || e?.type === 'request-timeout') {
    return new UnreachableError(cluster, (e?.message ?? String(code)).replace(/^request to \S+ failed, reason: /, ''));
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409;
}

function ref(t: ResourceType, ns: string | undefined, name?: string): string {
  return `${t.kind} ${ns ? `${ns}/` : ''}${name ?? ''}`.trim();
}

/** A client for one cluster. */
export class K8s {
  private constructor(
    readonly cluster: string,
    readonly kubeConfig: KubeConfig,
    private readonly cn: ClientNode,
  ) {}

  static async forKubeConfig(cluster: string, kubeConfig: KubeConfig): Promise<K8s> {
    return new K8s(cluster, kubeConfig, await loadClientNode());
  }

  private custom() {
    return this.kubeConfig.makeApiClient(this.cn.CustomObjectsApi);
  }
  private core() {
    return this.kubeConfig.makeApiClient(this.cn.CoreV1Api);
  }
  private mergePatchOptions() {
    return this.cn.setHeaderOptions('Content-Type', this.cn.PatchStrategy.MergePatch);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translateError(err, this.cluster, what);
    }
  }

  // ---- custom objects ----

  async get<T extends KObject = KObject>(t: ResourceType, ns: string, name: string): Promise<T> {
    return this.call(`get ${ref(t, ns, name)}`, () =>
      this.custom().getNamespacedCustomObject({ group: t.group, version: t.version, plural: t.plural, namespace: ns, name }) as Promise<T>,
    );
  }

  /** The object, or undefined when it does not exist. */
  async find<T extends KObject = KObject>(t: ResourceType, ns: string, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(t, ns, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Lists in one namespace, or in all namespaces when ns is undefined. */
  async list<T extends KObject = KObject>(t: ResourceType, ns: string | undefined, opts: ListOptions = {}): Promise<T[]> {
    const res = (await this.call(`list ${t.plural}${ns ? ` in namespace ${ns}` : ''}`, () =>
      ns
        ? this.custom().listNamespacedCustomObject({ group: t.group, version: t.version, plural: t.plural, namespace: ns, ...opts })
        : this.custom().listClusterCustomObject({ group: t.group, version: t.version, plural: t.plural, ...opts }),
    )) as { items?: T[] };
    const items = res.items ?? [];
    // List items omit apiVersion/kind on some servers; fill them in so printers can rely on them.
    for (const it of items) {
      it.apiVersion ??= `${t.group}/${t.version}`;
      it.kind ??= t.kind;
    }
    return items;
  }

  async create<T extends KObject = KObject>(t: ResourceType, ns: string, body: KObject, opts: WriteOptions = {}): Promise<T> {
    return this.call(`create ${ref(t, ns, body.metadata?.name)}`, () =>
      this.custom().createNamespacedCustomObject({
        group: t.group, version: t.version, plural: t.plural, namespace: ns, body,
        dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER,
      }) as Promise<T>,
    );
  }

  async replace<T extends KObject = KObject>(t: ResourceType, ns: string, name: string, body: KObject, opts: WriteOptions = {}): Promise<T> {
    return this.call(`replace ${ref(t, ns, name)}`, () =>
      this.custom().replaceNamespacedCustomObject({
        group: t.group, version: t.version, plural: t.plural, namespace: ns, name, body,
        dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER,
      }) as Promise<T>,
    );
  }

  /** RFC 7386 merge patch of the object (spec/metadata). */
  async mergePatch<T extends KObject = KObject>(t: ResourceType, ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<T> {
    return this.call(`patch ${ref(t, ns, name)}`, () =>
      this.custom().patchNamespacedCustomObject(
        { group: t.group, version: t.version, plural: t.plural, namespace: ns, name, body: patch, dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER },
        this.mergePatchOptions(),
      ) as Promise<T>,
    );
  }

  /** RFC 7386 merge patch through the status subresource: `patch` is e.g. {status: {...}}. */
  async patchStatus<T extends KObject = KObject>(t: ResourceType, ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<T> {
    return this.call(`patch status of ${ref(t, ns, name)}`, () =>
      this.custom().patchNamespacedCustomObjectStatus(
        { group: t.group, version: t.version, plural: t.plural, namespace: ns, name, body: patch, fieldManager: opts.fieldManager ?? FIELD_MANAGER },
        this.mergePatchOptions(),
      ) as Promise<T>,
    );
  }

  /** PUT of the status subresource; body carries metadata.resourceVersion for optimistic locking. */
  async replaceStatus<T extends KObject = KObject>(t: ResourceType, ns: string, name: string, body: KObject): Promise<T> {
    return this.call(`replace status of ${ref(t, ns, name)}`, () =>
      this.custom().replaceNamespacedCustomObjectStatus({ group: t.group, version: t.version, plural: t.plural, namespace: ns, name, body, fieldManager: FIELD_MANAGER }) as Promise<T>,
    );
  }

  async delete(t: ResourceType, ns: string, name: string): Promise<void> {
    await this.call(`delete ${ref(t, ns, name)}`, () =>
      this.custom().deleteNamespacedCustomObject({ group: t.group, version: t.version, plural: t.plural, namespace: ns, name }),
    );
  }

  // ---- secrets ----

  async getSecret(ns: string, name: string): Promise<Secret> {
    return this.call(`get Secret ${ns}/${name}`, () => this.core().readNamespacedSecret({ namespace: ns, name }) as Promise<Secret>);
  }

  async findSecret(ns: string, name: string): Promise<Secret | undefined> {
    try {
      return await this.getSecret(ns, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async listSecrets(ns: string | undefined, opts: ListOptions = {}): Promise<Secret[]> {
    const res = await this.call('list Secrets', () =>
      ns ? this.core().listNamespacedSecret({ namespace: ns, ...opts }) : this.core().listSecretForAllNamespaces({ ...opts }),
    );
    return (res.items ?? []) as Secret[];
  }

  async createSecret(ns: string, body: Secret, opts: WriteOptions = {}): Promise<Secret> {
    return this.call(`create Secret ${ns}/${body.metadata.name}`, () =>
      this.core().createNamespacedSecret({ namespace: ns, body: body as never, dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER }) as Promise<Secret>,
    );
  }

  async replaceSecret(ns: string, name: string, body: Secret, opts: WriteOptions = {}): Promise<Secret> {
    return this.call(`replace Secret ${ns}/${name}`, () =>
      this.core().replaceNamespacedSecret({ namespace: ns, name, body: body as never, dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER }) as Promise<Secret>,
    );
  }

  async mergePatchSecret(ns: string, name: string, patch: object): Promise<Secret> {
    return this.call(`patch Secret ${ns}/${name}`, () =>
      this.core().patchNamespacedSecret({ namespace: ns, name, body: patch, fieldManager: FIELD_MANAGER }, this.mergePatchOptions()) as Promise<Secret>,
    );
  }

  async deleteSecret(ns: string, name: string): Promise<void> {
    await this.call(`delete Secret ${ns}/${name}`, () => this.core().deleteNamespacedSecret({ namespace: ns, name }));
  }

  // ---- other core and cluster objects ----

  async listNamespaces(): Promise<string[]> {
    const res = await this.call('list Namespaces', () => this.core().listNamespace({}));
    return (res.items ?? []).map((n) => n.metadata?.name ?? '').filter(Boolean);
  }

  async createNamespace(name: string): Promise<void> {
    await this.call(`create Namespace ${name}`, () => this.core().createNamespace({ body: { metadata: { name } } }));
  }

  /** Creates the namespace unless it exists already. */
  async ensureNamespace(name: string): Promise<void> {
    try {
      await this.call(`get Namespace ${name}`, () => this.core().readNamespace({ name }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.createNamespace(name);
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
  }

  async getConfigMap(ns: string, name: string): Promise<{ metadata: ObjectMeta; data?: Record<string, string> } | undefined> {
    try {
      return (await this.call(`get ConfigMap ${ns}/${name}`, () => this.core().readNamespacedConfigMap({ namespace: ns, name }))) as { metadata: ObjectMeta; data?: Record<string, string> };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Cluster-scoped objects of any group, as the server sent them. The typed client-node APIs
   * rename and drop fields (x-kubernetes-*), which would make CRDs compare unequal.
   */
  async listClusterScoped(group: string, version: string, plural: string): Promise<KObject[]> {
    const res = (await this.call(`list ${plural}.${group}`, () => this.custom().listClusterCustomObject({ group, version, plural }))) as { items?: KObject[] };
    return res.items ?? [];
  }

  async listCrds(): Promise<KObject[]> {
    return this.listClusterScoped('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  }

  async listWebhookConfigurations(kind: 'Validating' | 'Mutating'): Promise<KObject[]> {
    return this.listClusterScoped('admissionregistration.k8s.io', 'v1', `${kind.toLowerCase()}webhookconfigurations`);
  }

  /** The API server's version: a cheap reachability probe. */
  async version(): Promise<string> {
    const api = this.kubeConfig.makeApiClient(this.cn.VersionApi);
    const v = await this.call('get version', () => api.getCode());
    return v.gitVersion;
  }
}
