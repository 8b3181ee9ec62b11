// The REST semantics of one cluster, independent of HTTP: create/get/list/update/patch/delete with
// kube-apiserver's rules for resourceVersion, generation, the status subresource, namespaces,
// admission and validation. CRDs written here start serving their kinds.
import { randomUUID } from 'node:crypto';
import * as admission from './admission.js';
import type { Operation, Webhook } from './admission.js';
import {
  ApiError, alreadyExists, badRequest, conflict, invalid, notFound, unsupportedMediaType, type FieldProblem,
} from './errors.js';
import { clone, deepEqual, jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch.js';
import { BUILTIN, gvKey, resKey, storeKey, type PrinterColumn, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { Store, type KObject } from './store.js';
import { celCompileProblems, compileSchema } from './validation.js';
import { validateBuiltin, defaultBuiltin } from './builtin.js';
import { PodReplacer } from './controllers.js';
import { now, randomSuffix } from './names.js';

export interface Result { code: number; body: unknown; warnings: string[] }
export interface WriteOptions {
  dryRun: boolean; fieldManager?: string; subResource: string;
  /** the request's fieldValidation: Strict (kubectl's), Warn, Ignore, or absent (the sandbox then answers 422 naming the field) */
  fieldValidation?: string;
}

const NS_KEY = '/namespaces';
const CRD_KEY = 'apiextensions.k8s.io/customresourcedefinitions';
const MWC_KEY = 'admissionregistration.k8s.io/mutatingwebhookconfigurations';
const VWC_KEY = 'admissionregistration.k8s.io/validatingwebhookconfigurations';


/** Everything but metadata (and status, when it is a subresource): what bumps generation. */
function specContent(o: KObject, statusIsSub: boolean): Record<string, unknown> {
  const { metadata: _m, status, ...rest } = o as Record<string, unknown>;
  return statusIsSub ? rest : { ...rest, status };
}

/** Thrown when the stored object changed under a write in flight; the write is retried. */
class Raced extends Error {}

export class ClusterApi {
  readonly store = new Store();
  private readonly types = new Map<string, ResourceType>();

  constructor(readonly name: string) {
    for (const r of BUILTIN) this.types.set(resKey(r), r);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.store.put(NS_KEY, this.newMeta({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }), 'ADDED');
    }
  }

  // ---- resource types -------------------------------------------------------------------
  resources(): ResourceType[] { return [...this.types.values()]; }
  lookup(group: string, version: string, plural: string): ResourceType | undefined { return this.types.get(`${gvKey(group, version)}/${plural}`); }

  private registerCrd(crd: KObject): void {
    this.unregisterCrd(crd.metadata.name!, false);
    const spec = crd.spec as unknown as { group: string; names: { kind: string; listKind?: string; plural: string; singular?: string; shortNames?: string[]; categories?: string[] }; scope: string; versions: Array<{ name: string; served: boolean; storage: boolean; schema?: { openAPIV3Schema?: Record<string, unknown> }; subresources?: { status?: object }; additionalPrinterColumns?: PrinterColumn[] }> };
    for (const v of spec.versions) {
      if (!v.served) continue;
      const r: ResourceType = {
        group: spec.group, version: v.name, kind: spec.names.kind, listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        plural: spec.names.plural, singular: spec.names.singular ?? spec.names.kind.toLowerCase(), namespaced: spec.scope === 'Namespaced',
        shortNames: spec.names.shortNames ?? [], categories: spec.names.categories ?? [], statusSubresource: !!v.subresources?.status,
        generation: true, strategicMerge: false, crd: crd.metadata.name,
        columns: v.additionalPrinterColumns?.length ? v.additionalPrinterColumns : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
        schema: v.schema?.openAPIV3Schema ? compileSchema(v.schema.openAPIV3Schema) : undefined,
      };
      this.types.set(resKey(r), r);
    }
  }

  private unregisterCrd(name: string, dropObjects: boolean): void {
    for (const [k, r] of this.types) {
      if (r.crd !== name) continue;
      this.types.delete(k);
      if (dropObjects) this.store.dropResource(storeKey(r));
    }
  }

  // ---- webhooks -------------------------------------------------------------------------
  private readonly hooks: admission.WebhookSource = {
    mutating: () => this.store.list(MWC_KEY).flatMap((c) => (c.webhooks ?? []) as unknown as Webhook[]),
    validating: () => this.store.list(VWC_KEY).flatMap((c) => (c.webhooks ?? []) as unknown as Webhook[]),
    servicePort: (namespace, name, port) => this.services.get(`${namespace}/${name}:${port}`) ?? this.services.get(`${namespace}/${name}`),
  };

  /** The one controller the sandbox plays, when asked: ReplicaSet-like replacement of deleted Pods. */
  readonly pods = new PodReplacer(this.store, (ns) => this.namespaceExists(ns));

  /** Cancels pending simulated work. */
  shutdown(): void { this.pods.cancel(); }

  /** Service → 127.0.0.1 port routes for webhooks configured with clientConfig.service. */
  readonly services = new Map<string, number>();

  private attrs(r: ResourceType, op: Operation, name: string, ns: string | undefined, object: KObject | null, oldObject: KObject | null, o: WriteOptions): admission.AdmissionAttributes {
    const isNs = r.group === '' && r.plural === 'namespaces';
    const namespaceLabels = isNs ? (object ?? oldObject)?.metadata.labels : ns ? this.store.get(NS_KEY, undefined, ns)?.metadata.labels : undefined;
    return {
      resource: r, subResource: o.subResource, operation: op, name, namespace: ns, object, oldObject, dryRun: o.dryRun, namespaceLabels,
      options: { ...(o.dryRun ? { dryRun: ['All'] } : {}), ...(o.fieldManager && op !== 'DELETE' ? { fieldManager: o.fieldManager } : {}) },
    };
  }

  // ---- reads ----------------------------------------------------------------------------
  get(r: ResourceType, ns: string | undefined, name: string): KObject {
    const o = this.store.get(storeKey(r), ns, name);
    if (!o) throw notFound(r, name);
    return this.present(r, o);
  }

  /** Objects as served: the requested version's apiVersion and kind. */
  present(r: ResourceType, o: KObject): KObject {
    const { apiVersion: _a, kind: _k, ...rest } = o;
    return { apiVersion: gvKey(r.group, r.version), kind: r.kind, ...rest } as KObject;
  }

  list(r: ResourceType, ns: string | undefined, q: URLSearchParams): { items: KObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number } {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    let items = this.store.list(storeKey(r), ns).filter((o) => labels(o.metadata.labels) && fields(o));
    let rv = String(this.store.resourceVersion);
    const cont = q.get('continue');
    if (cont) {
      let tok: { rv: string; start: string };
      try { tok = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv: string; start: string }; } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (Number(tok.rv) < this.store.oldestWatchable - 1) {
        throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      }
      rv = tok.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > tok.start);
    }
    const limit = Number(q.get('limit') ?? 0);
    if (limit > 0 && items.length > limit) {
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      const token = Buffer.from(JSON.stringify({ rv, start: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64url');
      return { items: page.map((o) => this.present(r, o)), resourceVersion: rv, continue: token, remainingItemCount: items.length - limit };
    }
    return { items: items.map((o) => this.present(r, o)), resourceVersion: rv };
  }

  namespaceExists(ns: string): boolean { return !!this.store.get(NS_KEY, undefined, ns); }

  private requireNamespace(r: ResourceType, ns: string | undefined): void {
    if (r.namespaced && ns && !this.namespaceExists(ns)) throw notFound({ group: '', plural: 'namespaces' }, ns);
  }

  // ---- writes ---------------------------------------------------------------------------
  private newMeta(o: KObject): KObject {
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp = now();
    return o;
  }

  /** PrepareForCreate of the resource's strategy. */
  private prepareCreate(r: ResourceType, o: KObject): void {
    delete o.metadata.resourceVersion;
    delete o.metadata.deletionTimestamp;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = now();
    if (r.generation) o.metadata.generation = 1; else delete o.metadata.generation;
    if (r.statusSubresource && r.crd) delete o.status;
    defaultBuiltin(r, o, undefined);
  }

  private prepareUpdate(r: ResourceType, o: KObject, old: KObject, sub: string): KObject {
    let next: KObject;
    if (sub === 'status') {
      // a status write changes status only
      next = clone(old);
      if (o.status === undefined) delete next.status; else next.status = o.status;
    } else {
      next = o;
      if (r.statusSubresource) { if (old.status === undefined) delete next.status; else next.status = clone(old.status); }
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'generation'] as const) {
        if (old.metadata[k] === undefined) delete next.metadata[k]; else (next.metadata as Record<string, unknown>)[k] = old.metadata[k];
      }
      if (r.generation && !deepEqual(specContent(next, r.statusSubresource), specContent(old, r.statusSubresource))) {
        next.metadata.generation = (old.metadata.generation ?? 0) + 1;
      }
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    defaultBuiltin(r, next, old);
    return next;
  }

  private validateObject(r: ResourceType, o: KObject, old: KObject | undefined): void {
    const problems: FieldProblem[] = validateBuiltin(r, o, old);
    if (r.schema) {
      const body = { ...o } as Record<string, unknown>;
      problems.push(...r.schema.validate(body, old as Record<string, unknown> | undefined));
    }
    if (r.group === 'apiextensions.k8s.io' && r.plural === 'customresourcedefinitions') {
      const versions = ((o.spec as { versions?: Array<{ schema?: { openAPIV3Schema?: Record<string, unknown> } }> } | undefined)?.versions ?? []);
      versions.forEach((v, i) => { if (v.schema?.openAPIV3Schema) problems.push(...celCompileProblems(v.schema.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`)); });
    }
    if (problems.length) throw invalid(r.kind, r.group, o.metadata.name ?? '', problems);
  }

  private decode(r: ResourceType, body: unknown, ns: string | undefined): KObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: the body must be a JSON object`);
    const o = clone(body) as KObject;
    const want = gvKey(r.group, r.version);
    // another version of the same group is taken as this one (the sandbox converts nothing)
    if (o.apiVersion !== undefined && o.apiVersion !== want && (typeof o.apiVersion !== 'string' || o.apiVersion.split('/').slice(0, -1).join('/') !== r.group)) {
      throw badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${want})`);
    }
    if (o.kind !== undefined && o.kind !== r.kind) throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: the kind in the data (${String(o.kind)}) does not match the expected kind (${r.kind})`);
    o.apiVersion = want; o.kind = r.kind;
    if (typeof o.metadata !== 'object' || o.metadata === null) o.metadata = {};
    if (r.namespaced) {
      if (o.metadata.namespace && ns && o.metadata.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = ns;
    } else delete o.metadata.namespace;
    if (r.schema) r.schema.applyDefaults(o as unknown as Record<string, unknown>);
    return o;
  }

  /**
   * Undeclared fields of a custom resource, per fieldValidation: Strict is kube's 400 strict
   * decoding error, Warn and Ignore prune (Warn with a warning each); without the parameter the
   * sandbox refuses them with 422 Invalid naming each field, so a typo never passes silently.
   */
  private unknownFieldPolicy(r: ResourceType, obj: KObject, o: WriteOptions): string[] {
    const unknown = r.schema?.unknownFields(obj as unknown as Record<string, unknown>) ?? [];
    if (!unknown.length) return [];
    const mode = o.fieldValidation;
    if (mode === 'Strict') throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    if (mode === 'Warn' || mode === 'Ignore') {
      r.schema!.prune(obj as unknown as Record<string, unknown>);
      return mode === 'Warn' ? unknown.map((f) => `unknown field "${f}"`) : [];
    }
    throw invalid(r.kind, r.group, obj.metadata.name ?? '', unknown.map((f) => ({ type: 'Invalid', field: f, value: f.split(/[.[]/).pop()?.replace(/]$/, ''), detail: 'field not declared in schema' })));
  }

  async create(r: ResourceType, ns: string | undefined, body: unknown, o: WriteOptions): Promise<Result> {
    if (r.review) {
      const review = this.decode(r, body, ns);
      return { code: 201, body: { ...review, status: { allowed: true, reason: 'the sandbox grants every request to its bearer token (cluster-admin)' } }, warnings: [] };
    }
    let obj = this.decode(r, body, ns);
    const fieldWarnings = this.unknownFieldPolicy(r, obj, o);
    this.requireNamespace(r, ns);
    if (!obj.metadata.name) {
      if (!obj.metadata.generateName) throw invalid(r.kind, r.group, '', [{ type: 'Required', field: 'metadata.name', detail: 'name or generateName is required' }]);
      obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    }
    const name = obj.metadata.name;
    const m = await admission.mutate(this.hooks, this.attrs(r, 'CREATE', name, ns, obj, null, o));
    obj = m.object!;
    this.prepareCreate(r, obj);
    r.schema?.prune(obj as unknown as Record<string, unknown>);
    this.validateObject(r, obj, undefined);
    const warnings = [...fieldWarnings, ...m.warnings, ...await admission.validate(this.hooks, this.attrs(r, 'CREATE', name, ns, obj, null, o))];
    if (this.store.get(storeKey(r), ns, name)) throw alreadyExists(r, name);
    if (o.dryRun) return { code: 201, body: this.present(r, obj), warnings };
    const stored = this.store.put(storeKey(r), obj, 'ADDED');
    this.afterWrite(r, stored);
    return { code: 201, body: this.present(r, stored), warnings };
  }

  private existing(r: ResourceType, ns: string | undefined, name: string): KObject {
    const old = this.store.get(storeKey(r), ns, name);
    if (!old) throw notFound(r, name);
    return old;
  }

  /**
   * Another write landed while this one was in admission: like GuaranteedUpdate, start again
   * from the new object. A write that named a resourceVersion then fails its precondition (409);
   * a patch or an unconditional update simply applies to the new object.
   */
  private async retrying(r: ResourceType, name: string, attempt: () => Promise<Result>): Promise<Result> {
    for (let i = 0; ; i++) {
      try { return await attempt(); } catch (e) {
        if (!(e instanceof Raced)) throw e;
        if (i >= 10) throw conflict(r, name);
      }
    }
  }

  async update(r: ResourceType, ns: string | undefined, name: string, body: unknown, o: WriteOptions): Promise<Result> {
    return this.retrying(r, name, () => this.updateOnce(r, ns, name, body, o));
  }

  private async updateOnce(r: ResourceType, ns: string | undefined, name: string, body: unknown, o: WriteOptions): Promise<Result> {
    const obj = this.decode(r, body, ns);
    if (obj.metadata.name && obj.metadata.name !== name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    obj.metadata.name = name;
    const old = this.existing(r, ns, name);
    const rv = obj.metadata.resourceVersion;
    if (!rv && r.crd) throw invalid(r.kind, r.group, name, [{ type: 'Invalid', field: 'metadata.resourceVersion', value: 0, detail: 'must be specified for an update' }]);
    return this.commitUpdate(r, ns, name, obj, old, rv, o);
  }

  async patch(r: ResourceType, ns: string | undefined, name: string, patchBody: unknown, contentType: string, o: WriteOptions): Promise<Result> {
    return this.retrying(r, name, () => this.patchOnce(r, ns, name, patchBody, contentType, o));
  }

  private async patchOnce(r: ResourceType, ns: string | undefined, name: string, patchBody: unknown, contentType: string, o: WriteOptions): Promise<Result> {
    const ct = contentType.split(';')[0].trim();
    const accepted = ['application/json-patch+json', 'application/merge-patch+json', ...(r.strategicMerge ? ['application/strategic-merge-patch+json'] : []), 'application/apply-patch+yaml'];
    if (!accepted.includes(ct)) throw unsupportedMediaType(ct, accepted);
    if (ct === 'application/apply-patch+yaml') return this.apply(r, ns, name, patchBody, o);
    const old = this.existing(r, ns, name);
    const base = this.present(r, old) as unknown as Json;
    let patched: Json;
    if (ct === 'application/json-patch+json') patched = jsonPatch(base, patchBody);
    else {
      if (typeof patchBody !== 'object' || patchBody === null || Array.isArray(patchBody)) throw badRequest('the server rejected our request due to an error in our request: json: cannot unmarshal array into Go value of type map[string]interface {}');
      patched = ct === 'application/merge-patch+json' ? mergePatch(base, patchBody as Json) : strategicMergePatch(base, patchBody as Json);
    }
    const obj = this.decode(r, patched, ns);
    if (obj.metadata.name !== name) throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    return this.commitUpdate(r, ns, name, obj, old, obj.metadata.resourceVersion, o);
  }

  /** Server-side apply, simplified: the applied configuration is merged over the live object (created when absent); no field ownership. */
  private async apply(r: ResourceType, ns: string | undefined, name: string, patchBody: unknown, o: WriteOptions): Promise<Result> {
    const old = this.store.get(storeKey(r), ns, name);
    if (!old) {
      if (o.subResource) throw notFound(r, name);
      const res = await this.create(r, ns, { ...(patchBody as object), metadata: { ...((patchBody as { metadata?: object }).metadata ?? {}), name } }, o);
      return res;
    }
    const merged = r.strategicMerge ? strategicMergePatch(this.present(r, old) as unknown as Json, patchBody as Json) : mergePatch(this.present(r, old) as unknown as Json, patchBody as Json);
    const obj = this.decode(r, merged, ns);
    return this.commitUpdate(r, ns, name, obj, old, (patchBody as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion, o);
  }

  private async commitUpdate(r: ResourceType, ns: string | undefined, name: string, input: KObject, old: KObject, rv: string | undefined, o: WriteOptions): Promise<Result> {
    const fieldWarnings = this.unknownFieldPolicy(r, input, o);
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(r, name);
    const oldPresented = this.present(r, old);
    const m = await admission.mutate(this.hooks, this.attrs(r, 'UPDATE', name, ns, input, oldPresented, o));
    const next = this.prepareUpdate(r, m.object!, oldPresented, o.subResource);
    // what mutating webhooks add beyond the schema is pruned silently, as in kube-apiserver
    r.schema?.prune(next as unknown as Record<string, unknown>);
    this.validateObject(r, next, oldPresented);
    const warnings = [...fieldWarnings, ...m.warnings, ...await admission.validate(this.hooks, this.attrs(r, 'UPDATE', name, ns, next, oldPresented, o))];
    const current = this.store.get(storeKey(r), ns, name);
    if (!current) throw notFound(r, name);
    if (current.metadata.resourceVersion !== old.metadata.resourceVersion) throw new Raced();
    // an update that changes nothing is not written: no new resourceVersion, no watch event
    if (deepEqual(this.present(r, next), oldPresented) || o.dryRun) return { code: 200, body: this.present(r, next), warnings };
    const stored = this.store.put(storeKey(r), next, 'MODIFIED');
    this.afterWrite(r, stored);
    return { code: 200, body: this.present(r, stored), warnings };
  }

  async delete(r: ResourceType, ns: string | undefined, name: string, body: unknown, o: WriteOptions): Promise<Result> {
    const old = this.existing(r, ns, name);
    const pre = (body as { preconditions?: { resourceVersion?: string; uid?: string } } | undefined)?.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) throw conflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(r, name, `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${old.metadata.resourceVersion}). The object might have been modified`);
    }
    const presented = this.present(r, old);
    const m = await admission.mutate(this.hooks, this.attrs(r, 'DELETE', name, ns, null, presented, o));
    const warnings = [...m.warnings, ...await admission.validate(this.hooks, this.attrs(r, 'DELETE', name, ns, null, presented, o))];
    if (o.dryRun) return { code: 200, body: presented, warnings };
    if (r.group === '' && r.plural === 'namespaces') {
      // the namespace controller's job, done at once: everything in it goes first
      for (const t of this.types.values()) if (t.namespaced && this.lookup(t.group, t.version, t.plural) === t) for (const x of this.store.list(storeKey(t), name)) this.store.remove(storeKey(t), name, x.metadata.name!);
    }
    const gone = this.store.remove(storeKey(r), ns, name)!;
    if (r.group === 'apiextensions.k8s.io' && r.plural === 'customresourcedefinitions') this.unregisterCrd(name, true);
    if (r.group === '' && r.plural === 'pods') this.pods.replace(gone);
    return { code: 200, body: this.present(r, gone), warnings };
  }

  async deleteCollection(r: ResourceType, ns: string | undefined, q: URLSearchParams, o: WriteOptions): Promise<Result> {
    const { items, resourceVersion } = this.list(r, ns, q);
    const warnings: string[] = [];
    for (const it of items) warnings.push(...(await this.delete(r, it.metadata.namespace, it.metadata.name!, undefined, o)).warnings);
    return { code: 200, body: { apiVersion: gvKey(r.group, r.version), kind: r.listKind, metadata: { resourceVersion }, items }, warnings };
  }

  private afterWrite(r: ResourceType, stored: KObject): void {
    if (r.group === 'apiextensions.k8s.io' && r.plural === 'customresourcedefinitions') this.registerCrd(stored);
  }

  /** Installs a CRD straight into storage (start-up), bypassing admission. */
  async installCrd(crd: unknown): Promise<void> {
    const r = this.types.get('apiextensions.k8s.io/v1/customresourcedefinitions')!;
    await this.create(r, undefined, crd, { dryRun: false, subResource: '' });
  }
}
