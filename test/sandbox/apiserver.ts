// The REST semantics of one cluster, independent of HTTP: create/get/list/update/patch/delete with
// kube-apiserver's rules for resourceVersion, generation, the status subresource, namespaces,
// metadata, fieldValidation, admission, finalizers and deletion, server-side apply; CRDs written
// here start serving their kinds. The controllers kube-controller-manager and the apiextensions
// apiserver run for what clients observe (garbage collection, namespace and CRD deletion, the
// default ServiceAccount and kube-root-ca.crt of every namespace) are in controllers.ts.
import { randomUUID } from 'node:crypto';
import * as admission from './admission.js';
import type { Operation, Webhook } from './admission.js';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  invalid,
  notFound,
  notServed,
  type FieldProblem,
} from './errors.js';
import { clone, deepEqual, jsonPatch, JsonPatchError, mergePatch, strategicMergePatch, type Json } from './patch.js';
import { BUILTIN, gvKey, resKey, storeKey, type PrinterColumn, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { Store, type KObject } from './store.js';
import { celCompileProblems, compileSchema, structuralProblems } from './validation.js';
import { validateBuiltin, defaultBuiltin } from './builtin.js';
import { Controllers, PodReplacer } from './controllers.js';
import { now, randomSuffix } from './names.js';
import {
  finalizerWarnings,
  hasDeclaredFields,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  nameIsPathSegment,
  undeclaredBuiltinFields,
  undeclaredMetaFields,
  validateObjectMeta,
  validateObjectMetaUpdate,
  type MetaRules,
  type NameFn,
} from './meta.js';
import { leavesOf, Ownership, removeLeaf, setLeaf } from './managed.js';

export interface Result {
  code: number;
  body: unknown;
  warnings: string[];
}

export interface DeleteOptions {
  dryRun?: string[];
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WriteOptions {
  /** the dryRun values of the request (query, or DeleteOptions for a delete; validated here), or true/false for All/none */
  dryRun: boolean | string[];
  fieldManager?: string;
  subResource: string;
  /** the request's fieldValidation: Strict (kubectl's), Warn (the default) or Ignore */
  fieldValidation?: string;
  /** the field manager when the request names none (the User-Agent's program name, as kube-apiserver derives it) */
  defaultManager?: string;
  /** server-side apply's force */
  force?: boolean;
  /** a delete's options (body and query together) */
  deleteOptions?: DeleteOptions;
}

const dryValues = (o: WriteOptions): string[] => (Array.isArray(o.dryRun) ? o.dryRun : o.dryRun ? ['All'] : []);
const isDry = (o: WriteOptions): boolean => dryValues(o).includes('All');

const NS_KEY = '/namespaces';
const MWC_KEY = 'admissionregistration.k8s.io/mutatingwebhookconfigurations';
const VWC_KEY = 'admissionregistration.k8s.io/validatingwebhookconfigurations';
const CRD_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
/** NamespaceLifecycle's immortal namespaces */
const IMMORTAL = new Set(['default', 'kube-system', 'kube-public']);
/** Kinds whose DELETE answers the object (ReturnDeletedObject); the others answer a Success Status. */
const RETURNS_DELETED = new Set(['/namespaces', '/pods', '/services', '/serviceaccounts']);
/** Groups whose validation adds the core finalizer-name rule. */
const CORE_RULE_GROUPS = new Set(['', 'apps', 'policy', 'rbac.authorization.k8s.io']);

/** Everything but metadata (and status, when it is a subresource): what bumps generation. */
function specContent(o: KObject, statusIsSub: boolean): Record<string, unknown> {
  const { metadata: _m, status, ...rest } = o as Record<string, unknown>;
  return statusIsSub ? rest : { ...rest, status };
}

const is = (r: { group: string; plural: string }, group: string, plural: string): boolean =>
  r.group === group && r.plural === plural;

function nameFn(r: ResourceType): NameFn {
  if (is(r, '', 'namespaces')) return nameIsDNSLabel;
  if (r.group === 'rbac.authorization.k8s.io') return nameIsPathSegment;
  return nameIsDNSSubdomain;
}

function metaRules(r: ResourceType): MetaRules {
  return { namespaced: r.namespaced, nameFn: nameFn(r), core: !r.crd && CORE_RULE_GROUPS.has(r.group) };
}

/** `Kind.group`-style options errors: `DeleteOptions.meta.k8s.io "" is invalid: …` */
function optionsInvalid(kind: string, problems: FieldProblem[]): ApiError {
  return invalid(kind, 'meta.k8s.io', '', problems);
}

function validateDryRun(kind: string, values: string[]): void {
  if (values.some((v) => v !== 'All'))
    throw optionsInvalid(kind, [
      { type: 'NotSupported', field: 'dryRun', value: values, detail: 'supported values: "All"' },
    ]);
}

/** Thrown when the stored object changed under a write in flight; the write is retried. */
class Raced extends Error {}

export class ClusterApi {
  readonly store = new Store();
  private readonly types = new Map<string, ResourceType>();
  /** field ownership per object uid (server-side apply) */
  private readonly owners = new Map<string, Ownership>();

  constructor(
    readonly name: string,
    readonly caPem = '',
  ) {
    for (const r of BUILTIN) this.types.set(resKey(r), r);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.store.put(
        NS_KEY,
        this.newMeta({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
          spec: { finalizers: ['kubernetes'] },
          status: { phase: 'Active' },
        }),
        'ADDED',
      );
      this.controllers.namespaceAdded(ns);
    }
  }

  // ---- resource types -------------------------------------------------------------------
  resources(): ResourceType[] {
    return [...this.types.values()];
  }
  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(`${gvKey(group, version)}/${plural}`);
  }
  /** The served type of a kind (for ownerReferences). */
  lookupKind(group: string, version: string, kind: string): ResourceType | undefined {
    return [...this.types.values()].find(
      (t) => t.group === group && t.version === version && t.kind === kind && !t.review,
    );
  }

  private registerCrd(crd: KObject): void {
    this.unregisterCrd(crd.metadata.name!, false);
    const spec = crd.spec as unknown as {
      group: string;
      names: {
        kind: string;
        listKind?: string;
        plural: string;
        singular?: string;
        shortNames?: string[];
        categories?: string[];
      };
      scope: string;
      versions: Array<{
        name: string;
        served: boolean;
        storage: boolean;
        schema?: { openAPIV3Schema?: Record<string, unknown> };
        subresources?: { status?: object };
        additionalPrinterColumns?: PrinterColumn[];
      }>;
    };
    for (const v of spec.versions) {
      if (!v.served) continue;
      const r: ResourceType = {
        group: spec.group,
        version: v.name,
        kind: spec.names.kind,
        listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        plural: spec.names.plural,
        singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
        namespaced: spec.scope === 'Namespaced',
        shortNames: spec.names.shortNames ?? [],
        categories: spec.names.categories ?? [],
        statusSubresource: !!v.subresources?.status,
        generation: true,
        strategicMerge: false,
        crd: crd.metadata.name,
        columns: v.additionalPrinterColumns?.length
          ? v.additionalPrinterColumns
          : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
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
    servicePort: (namespace, name, port) =>
      this.services.get(`${namespace}/${name}:${port}`) ?? this.services.get(`${namespace}/${name}`),
  };

  /** The one controller the sandbox plays only when asked: ReplicaSet-like replacement of deleted Pods. */
  readonly pods = new PodReplacer(this.store, (ns) => this.namespaceExists(ns));

  /** What kube-controller-manager and the apiextensions controllers do that clients see. */
  readonly controllers: Controllers = new Controllers(this);

  /** Cancels pending simulated work. */
  shutdown(): void {
    this.pods.cancel();
    this.controllers.cancel();
  }

  /** Service → 127.0.0.1 port routes for webhooks configured with clientConfig.service. */
  readonly services = new Map<string, number>();

  private attrs(
    r: ResourceType,
    op: Operation,
    name: string,
    ns: string | undefined,
    object: KObject | null,
    oldObject: KObject | null,
    o: WriteOptions,
    options: Record<string, unknown>,
  ): admission.AdmissionAttributes {
    const isNs = is(r, '', 'namespaces');
    const namespaceLabels = isNs
      ? (object ?? oldObject)?.metadata.labels
      : ns
        ? this.store.get(NS_KEY, undefined, ns)?.metadata.labels
        : undefined;
    return {
      resource: r,
      subResource: o.subResource,
      operation: op,
      name,
      namespace: ns,
      object,
      oldObject,
      dryRun: isDry(o),
      namespaceLabels,
      options,
    };
  }

  /** The options object webhooks are sent: what the request said (CreateOptions/UpdateOptions/PatchOptions's fields, DeleteOptions). */
  private writeOptionsFor(op: Operation, o: WriteOptions): Record<string, unknown> {
    if (op === 'DELETE') {
      const d = o.deleteOptions ?? {};
      return Object.fromEntries(
        Object.entries({ ...d, dryRun: dryValues(o).length ? dryValues(o) : undefined }).filter(
          ([, v]) => v !== undefined,
        ),
      );
    }
    return {
      ...(dryValues(o).length ? { dryRun: dryValues(o) } : {}),
      ...(o.fieldManager ? { fieldManager: o.fieldManager } : {}),
      ...(o.fieldValidation ? { fieldValidation: o.fieldValidation } : {}),
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

  list(
    r: ResourceType,
    ns: string | undefined,
    q: URLSearchParams,
  ): { items: KObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number } {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'), r);
    let items = this.store.list(storeKey(r), ns).filter((o) => labels(o.metadata.labels) && fields(o));
    let rv = String(this.store.resourceVersion);
    const cont = q.get('continue');
    if (cont) {
      let tok: { rv: string; start: string };
      try {
        tok = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv: string; start: string };
        if (typeof tok !== 'object' || tok === null || typeof tok.start !== 'string') throw new Error('not a token');
      } catch {
        throw badRequest(
          `invalid continue token: continue key is not valid: ${jsonSyntaxError(Buffer.from(cont, 'base64url').toString('utf8'))}`,
        );
      }
      if (Number(tok.rv) < this.store.oldestWatchable - 1) {
        throw new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      rv = tok.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > tok.start);
    }
    const limit = Number(q.get('limit') ?? 0);
    if (limit > 0 && items.length > limit) {
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      const token = Buffer.from(
        JSON.stringify({
          v: 'meta.k8s.io/v1',
          rv: Number(rv),
          start: `${last.metadata.namespace ?? ''}/${last.metadata.name}`,
        }),
      ).toString('base64url');
      return {
        items: page.map((o) => this.present(r, o)),
        resourceVersion: rv,
        continue: token,
        remainingItemCount: items.length - limit,
      };
    }
    return { items: items.map((o) => this.present(r, o)), resourceVersion: rv };
  }

  namespaceExists(ns: string): boolean {
    return !!this.store.get(NS_KEY, undefined, ns);
  }

  /** NamespaceLifecycle: immortal namespaces, missing ones (404), terminating ones take no new content (403). */
  private namespaceLifecycle(r: ResourceType, op: Operation, ns: string | undefined, name: string): void {
    const isNs = is(r, '', 'namespaces');
    if (op === 'DELETE' && isNs && IMMORTAL.has(name)) throw forbidden(r, name, 'this namespace may not be deleted');
    if (!r.namespaced || !ns || isNs || op === 'DELETE' || r.review) return;
    const n = this.store.get(NS_KEY, undefined, ns);
    if (!n) throw notFound({ group: '', plural: 'namespaces' }, ns);
    if (op === 'CREATE' && (n.status as { phase?: string } | undefined)?.phase === 'Terminating') {
      throw forbidden(r, name, `unable to create new content in namespace ${ns} because it is being terminated`, [
        { reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' },
      ]);
    }
  }

  // ---- writes ---------------------------------------------------------------------------
  private newMeta(o: KObject): KObject {
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp = now();
    return o;
  }

  /** FillObjectMetaSystemFields + PrepareForCreate of the resource's strategy. */
  private prepareCreate(r: ResourceType, o: KObject): void {
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = now();
    delete o.metadata.deletionTimestamp;
    delete o.metadata.deletionGracePeriodSeconds;
    if (r.generation) o.metadata.generation = 1;
    else delete o.metadata.generation;
    if (r.statusSubresource && r.crd) delete o.status;
    defaultBuiltin(r, o, undefined);
  }

  private prepareUpdate(r: ResourceType, o: KObject, old: KObject, sub: string): KObject {
    let next: KObject;
    if (sub === 'status') {
      // a status write changes status only (and its metadata changes are dropped)
      next = clone(old);
      if (o.status === undefined) delete next.status;
      else next.status = o.status;
      next.metadata.resourceVersion = o.metadata.resourceVersion;
    } else {
      next = o;
      if (r.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      if (old.metadata.generation === undefined) delete next.metadata.generation;
      else next.metadata.generation = old.metadata.generation;
      if (!next.metadata.uid) next.metadata.uid = old.metadata.uid;
      next.metadata.creationTimestamp = old.metadata.creationTimestamp;
      if (old.metadata.deletionTimestamp) next.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      if (
        old.metadata.deletionGracePeriodSeconds !== undefined &&
        next.metadata.deletionGracePeriodSeconds === undefined
      )
        next.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      if (r.generation && !deepEqual(specContent(next, r.statusSubresource), specContent(old, r.statusSubresource))) {
        next.metadata.generation = (old.metadata.generation ?? 0) + 1;
      }
    }
    defaultBuiltin(r, next, old);
    return next;
  }

  /** What the sandbox would have to approximate is refused plainly (501) before it is stored. */
  private refuseUnserved(r: ResourceType, o: KObject): void {
    if (r.group !== 'admissionregistration.k8s.io') return;
    for (const w of (o.webhooks ?? []) as Array<{
      name?: string;
      reinvocationPolicy?: string;
      matchConditions?: Array<{ expression?: string }>;
    }>) {
      if (w.reinvocationPolicy === 'IfNeeded')
        throw notServed(`reinvocationPolicy: IfNeeded (webhook ${w.name}): mutating webhooks run once`);
      if ((w.matchConditions ?? []).some((c) => /\bauthorizer\b/.test(c.expression ?? '')))
        throw notServed(`the authorizer in matchConditions (webhook ${w.name}): there is no RBAC`);
    }
  }

  /** The strategy's Validate plus ValidateObjectMeta, in kube-apiserver's order; CRs: "some validation rules were not checked" when CEL could not run. */
  private validateObject(r: ResourceType, o: KObject, old: KObject | undefined): void {
    this.refuseUnserved(r, o);
    const problems: FieldProblem[] = [];
    if (old)
      problems.push(
        ...validateObjectMeta(o, { ...metaRules(r), nameFn: nameIsPathSegment }),
        ...validateObjectMetaUpdate(o, old, metaRules(r).core),
      );
    if (r.crd) {
      if (!old) problems.push(...validateObjectMeta(o, metaRules(r)));
      if (r.schema) {
        const { problems: schemaProblems, celSkipped } = r.schema.validateAll(
          o as unknown as Record<string, unknown>,
          old as Record<string, unknown> | undefined,
          problems,
        );
        problems.push(...schemaProblems);
        if (celSkipped)
          problems.push({
            type: 'Invalid',
            field: '<nil>',
            value: null,
            detail:
              'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
          });
      }
    } else {
      if (!old) problems.push(...validateObjectMeta(o, metaRules(r)));
      problems.push(...validateBuiltin(r, o, old));
    }
    if (is(r, 'apiextensions.k8s.io', 'customresourcedefinitions')) {
      const versions =
        (o.spec as { versions?: Array<{ schema?: { openAPIV3Schema?: Record<string, unknown> } }> } | undefined)
          ?.versions ?? [];
      versions.forEach((v) => {
        if (!v.schema?.openAPIV3Schema) return;
        const structural = structuralProblems(v.schema.openAPIV3Schema, 'spec.validation.openAPIV3Schema');
        problems.push(...structural);
        if (!structural.length)
          problems.push(...celCompileProblems(v.schema.openAPIV3Schema, 'spec.validation.openAPIV3Schema'));
      });
    }
    if (problems.length) throw invalid(r.kind, r.group, o.metadata.name ?? '', problems);
  }

  private decode(r: ResourceType, body: unknown, ns: string | undefined): KObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest(
        `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: the body must be a JSON object`,
      );
    const o = clone(body) as KObject;
    const want = gvKey(r.group, r.version);
    // another version of the same group is taken as this one (the sandbox converts nothing)
    if (
      o.apiVersion !== undefined &&
      o.apiVersion !== want &&
      (typeof o.apiVersion !== 'string' || o.apiVersion.split('/').slice(0, -1).join('/') !== r.group)
    ) {
      throw badRequest(
        `the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${want})`,
      );
    }
    if (o.kind !== undefined && o.kind !== r.kind)
      throw badRequest(
        `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: the kind in the data (${String(o.kind)}) does not match the expected kind (${r.kind})`,
      );
    o.apiVersion = want;
    o.kind = r.kind;
    if (typeof o.metadata !== 'object' || o.metadata === null) o.metadata = {};
    omitEmpty(r, o);
    if (r.namespaced) {
      if (o.metadata.namespace && ns && o.metadata.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = ns;
    } else if (o.metadata.namespace) {
      // cluster-scoped kinds drop a namespace in the body
      delete o.metadata.namespace;
    }
    if (r.schema) r.schema.applyDefaults(o as unknown as Record<string, unknown>);
    return o;
  }

  /**
   * Undeclared fields, per fieldValidation (Warn when absent, as kube-apiserver): Strict is the 400
   * strict decoding error, Warn prunes with a warning each, Ignore prunes. Custom resources: metadata's
   * first, then the schema's sorted; built-in kinds: in document order.
   */
  private unknownFieldPolicy(r: ResourceType, obj: KObject, o: WriteOptions): string[] {
    let unknown: string[];
    if (r.crd) {
      unknown = [
        ...undeclaredMetaFields(obj.metadata, false),
        ...(r.schema?.unknownFields(obj as unknown as Record<string, unknown>) ?? []),
      ];
    } else if (hasDeclaredFields(r.group, r.version, r.kind)) {
      unknown = undeclaredBuiltinFields(r.group, r.version, r.kind, obj as unknown as Record<string, unknown>, false);
    } else unknown = [];
    if (!unknown.length) return [];
    const mode = o.fieldValidation ?? 'Warn';
    if (mode === 'Strict')
      throw badRequest(
        `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
      );
    if (r.crd) {
      undeclaredMetaFields(obj.metadata, true);
      r.schema?.prune(obj as unknown as Record<string, unknown>);
    } else undeclaredBuiltinFields(r.group, r.version, r.kind, obj as unknown as Record<string, unknown>, true);
    return mode === 'Warn' ? unknown.map((f) => `unknown field "${f}"`) : [];
  }

  private validateFieldValidation(o: WriteOptions, kind: string): void {
    const v = o.fieldValidation;
    if (v !== undefined && !['Strict', 'Warn', 'Ignore', ''].includes(v)) {
      throw optionsInvalid(kind, [
        {
          type: 'NotSupported',
          field: 'fieldValidation',
          value: v,
          detail: 'supported values: "", "Ignore", "Strict", "Warn"',
        },
      ]);
    }
  }

  private managerOf(o: WriteOptions): string {
    return o.fieldManager ?? o.defaultManager ?? 'unknown';
  }

  private ownership(uid: string | undefined): Ownership | undefined {
    if (!uid) return undefined;
    let w = this.owners.get(uid);
    if (!w) {
      w = new Ownership();
      this.owners.set(uid, w);
    }
    return w;
  }

  async create(r: ResourceType, ns: string | undefined, body: unknown, o: WriteOptions): Promise<Result> {
    validateDryRun('CreateOptions', dryValues(o));
    this.validateFieldValidation(o, 'CreateOptions');
    if (r.review) {
      const review = this.decode(r, body, ns);
      return {
        code: 201,
        body: {
          ...review,
          status: { allowed: true, reason: 'the sandbox grants every request to its bearer token (cluster-admin)' },
        },
        warnings: [],
      };
    }
    let obj = this.decode(r, body, ns);
    const fieldWarnings = this.unknownFieldPolicy(r, obj, o);
    const requestedRv = obj.metadata.resourceVersion;
    this.namespaceLifecycle(r, 'CREATE', ns, obj.metadata.name ?? '');
    const opts = this.writeOptionsFor('CREATE', o);
    const m = await admission.mutate(
      this.hooks,
      this.attrs(r, 'CREATE', obj.metadata.name ?? '', ns, obj, null, o, opts),
    );
    obj = m.object!;
    if (r.namespaced && obj.metadata.namespace !== ns)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    const name = obj.metadata.name ?? '';
    this.prepareCreate(r, obj);
    // what mutating webhooks add beyond the schema is pruned silently, as in kube-apiserver
    r.schema?.prune(obj as unknown as Record<string, unknown>);
    this.validateObject(r, obj, undefined);
    const strategyWarnings = r.crd ? finalizerWarnings(obj, undefined) : [];
    const warnings = [
      ...fieldWarnings,
      ...m.warnings,
      ...strategyWarnings,
      ...(await admission.validate(this.hooks, this.attrs(r, 'CREATE', name, ns, obj, null, o, opts))),
    ];
    if (requestedRv) throw new ApiError(500, '', 'resourceVersion should not be set on objects to be created');
    if (this.store.get(storeKey(r), ns, name)) throw alreadyExists(r, name);
    if (isDry(o)) return { code: 201, body: this.present(r, obj), warnings };
    const stored = this.store.put(storeKey(r), obj, 'ADDED');
    this.ownership(stored.metadata.uid)!.recordUpdate(
      this.managerOf(o),
      gvKey(r.group, r.version),
      o.subResource,
      undefined,
      leavesOf(stored, r.statusSubresource ? false : undefined),
    );
    this.afterWrite(r, stored, undefined);
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
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof Raced)) throw e;
        if (i >= 10) throw conflict(r, name);
      }
    }
  }

  async update(r: ResourceType, ns: string | undefined, name: string, body: unknown, o: WriteOptions): Promise<Result> {
    validateDryRun('UpdateOptions', dryValues(o));
    this.validateFieldValidation(o, 'UpdateOptions');
    return this.retrying(r, name, () => this.updateOnce(r, ns, name, body, o));
  }

  private async updateOnce(
    r: ResourceType,
    ns: string | undefined,
    name: string,
    body: unknown,
    o: WriteOptions,
  ): Promise<Result> {
    const obj = this.decode(r, body, ns);
    if (obj.metadata.name && obj.metadata.name !== name)
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    obj.metadata.name = name;
    const fieldWarnings = this.unknownFieldPolicy(r, obj, o);
    const old = this.existing(r, ns, name);
    return this.commitUpdate(r, ns, name, obj, old, o, fieldWarnings);
  }

  async patch(
    r: ResourceType,
    ns: string | undefined,
    name: string,
    patchBody: unknown,
    contentType: string,
    o: WriteOptions,
  ): Promise<Result> {
    const ct = contentType.split(';')[0].trim();
    validateDryRun('PatchOptions', dryValues(o));
    if (ct === 'application/apply-patch+yaml') {
      if (!o.fieldManager)
        throw optionsInvalid('PatchOptions', [
          { type: 'Required', field: 'fieldManager', detail: 'is required for apply patch' },
        ]);
    } else if (o.force !== undefined)
      throw optionsInvalid('PatchOptions', [
        { type: 'Forbidden', field: 'force', detail: 'may not be specified for non-apply patch' },
      ]);
    this.validateFieldValidation(o, 'PatchOptions');
    return this.retrying(r, name, () => this.patchOnce(r, ns, name, patchBody, ct, o));
  }

  private async patchOnce(
    r: ResourceType,
    ns: string | undefined,
    name: string,
    patchBody: unknown,
    ct: string,
    o: WriteOptions,
  ): Promise<Result> {
    const accepted = [
      'application/json-patch+json',
      'application/merge-patch+json',
      ...(r.strategicMerge ? ['application/strategic-merge-patch+json'] : []),
      'application/apply-patch+yaml',
    ];
    // a media type that is no patch type at all fails content negotiation; a patch type the kind does not take is named
    if (
      ![
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
        'application/apply-patch+yaml',
        'application/apply-patch+cbor',
      ].includes(ct)
    ) {
      throw new ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type');
    }
    if (!accepted.includes(ct))
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
      );
    if (ct === 'application/apply-patch+yaml') return this.apply(r, ns, name, patchBody, o);
    const old = this.existing(r, ns, name);
    const base = this.present(r, old) as unknown as Json;
    let patched: Json;
    if (ct === 'application/json-patch+json') {
      if (!Array.isArray(patchBody))
        throw badRequest(
          'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp',
        );
      try {
        patched = jsonPatch(base, patchBody);
      } catch (e) {
        if (e instanceof JsonPatchError)
          throw new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
        throw e;
      }
    } else {
      if (typeof patchBody !== 'object' || patchBody === null || Array.isArray(patchBody))
        throw badRequest(
          'the server rejected our request due to an error in our request: json: cannot unmarshal array into Go value of type map[string]interface {}',
        );
      patched =
        ct === 'application/merge-patch+json'
          ? mergePatch(base, patchBody as Json)
          : strategicMergePatch(base, patchBody as Json);
    }
    const obj = this.decode(r, patched, ns);
    if (obj.metadata.name !== name)
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    const fieldWarnings = this.unknownFieldPolicy(r, obj, o);
    // a patch carries the live resourceVersion unless it set its own (then a precondition)
    return this.commitUpdate(r, ns, name, obj, old, o, fieldWarnings);
  }

  /**
   * Server-side apply with field ownership (managed.ts): creates when absent; the applier's fields
   * are set, the ones it stopped applying removed when no other manager owns them; changing a field
   * another manager owns is a 409 conflict unless forced. Refused plainly: associative lists
   * (per-item ownership), subresources.
   */
  private async apply(
    r: ResourceType,
    ns: string | undefined,
    name: string,
    patchBody: unknown,
    o: WriteOptions,
  ): Promise<Result> {
    if (typeof patchBody !== 'object' || patchBody === null || Array.isArray(patchBody))
      throw badRequest('error decoding YAML: the applied configuration must be an object');
    if (o.subResource) throw notServed(`server-side apply to a subresource (${r.plural}/${o.subResource})`);
    const cfg = clone(patchBody) as KObject;
    const assoc = associativeLists(cfg as unknown as Json, r);
    if (assoc.length)
      throw notServed(`server-side apply of associative lists (per-item field ownership): ${assoc.join(', ')}`);
    const manager = o.fieldManager!;
    const apiVersion = gvKey(r.group, r.version);
    const old = this.store.get(storeKey(r), ns, name);
    if (!old) {
      const res = await this.create(
        r,
        ns,
        { ...cfg, metadata: { ...(cfg.metadata ?? {}), name } },
        { ...o, fieldValidation: o.fieldValidation ?? 'Strict' },
      );
      const stored = res.body as KObject;
      if (!isDry(o)) {
        const w = this.ownership(stored.metadata.uid)!;
        w.managers.length = 0;
        const after = leavesOf(stored, r.statusSubresource ? false : undefined);
        w.recordApply(
          manager,
          apiVersion,
          '',
          new Set(
            [...leavesOf(cfg as KObject, r.statusSubresource ? false : undefined).keys()].filter((k) => after.has(k)),
          ),
          true,
          after,
        );
      }
      return res;
    }
    const live = this.present(r, old);
    const w = this.ownership(old.metadata.uid)!;
    const wanted = leavesOf(cfg, r.statusSubresource ? false : undefined);
    const liveLeaves = leavesOf(live, r.statusSubresource ? false : undefined);
    const conflicts = new Map<string, string[]>();
    for (const [k, v] of wanted) {
      if (liveLeaves.get(k) === v) continue;
      for (const m of w.ownersOf(k, manager, '')) {
        const l = conflicts.get(m.name) ?? [];
        l.push(k);
        conflicts.set(m.name, l);
      }
    }
    if (conflicts.size && !o.force) throw applyConflict(conflicts, w, r);
    const next = clone(live) as unknown as Record<string, unknown>;
    for (const k of w.applied(manager, '')) {
      if (wanted.has(k)) continue;
      if (w.ownersOf(k, manager, '').length === 0) removeLeaf(next, k);
    }
    for (const [k, v] of wanted) setLeaf(next, k, JSON.parse(v) as Json);
    const obj = this.decode(r, next, ns);
    const res = await this.commitUpdate(
      r,
      ns,
      name,
      obj,
      old,
      { ...o, fieldValidation: o.fieldValidation ?? 'Strict' },
      [],
      { apply: { manager, applied: new Set(wanted.keys()) } },
    );
    return res;
  }

  private async commitUpdate(
    r: ResourceType,
    ns: string | undefined,
    name: string,
    input: KObject,
    old: KObject,
    o: WriteOptions,
    fieldWarnings: string[],
    extra: { apply?: { manager: string; applied: Set<string> } } = {},
  ): Promise<Result> {
    const oldPresented = this.present(r, old);
    this.namespaceLifecycle(r, 'UPDATE', ns, name);
    const opts = this.writeOptionsFor('UPDATE', o);
    const m = await admission.mutate(this.hooks, this.attrs(r, 'UPDATE', name, ns, input, oldPresented, o, opts));
    const mutated = m.object!;
    const rv = mutated.metadata.resourceVersion;
    if (!rv && r.crd)
      throw invalid(r.plural, r.group, name, [
        { type: 'Invalid', field: 'metadata.resourceVersion', value: 0, detail: 'must be specified for an update' },
      ]);
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(r, name);
    mutated.metadata.resourceVersion = old.metadata.resourceVersion;
    const next = this.prepareUpdate(r, mutated, oldPresented, o.subResource);
    // what mutating webhooks add beyond the schema is pruned silently, as in kube-apiserver
    r.schema?.prune(next as unknown as Record<string, unknown>);
    this.validateObject(r, next, oldPresented);
    const strategyWarnings = r.crd ? finalizerWarnings(next, oldPresented) : [];
    const warnings = [
      ...fieldWarnings,
      ...m.warnings,
      ...strategyWarnings,
      ...(await admission.validate(this.hooks, this.attrs(r, 'UPDATE', name, ns, next, oldPresented, o, opts))),
    ];
    const current = this.store.get(storeKey(r), ns, name);
    if (!current) throw notFound(r, name);
    if (current.metadata.resourceVersion !== old.metadata.resourceVersion) throw new Raced();
    // the last finalizer of an object being deleted gone: it is deleted now (the stored state is the one watches see go)
    if (
      old.metadata.deletionTimestamp &&
      !(next.metadata.finalizers as string[] | undefined)?.length &&
      !o.subResource
    ) {
      if (isDry(o)) return { code: 200, body: this.present(r, next), warnings };
      this.removeNow(r, old);
      return { code: 200, body: this.present(r, next), warnings };
    }
    // an update that changes nothing is not written: no new resourceVersion, no watch event
    if (deepEqual(this.present(r, next), oldPresented) || isDry(o))
      return { code: 200, body: this.present(r, next), warnings };
    const stored = this.store.put(storeKey(r), next, 'MODIFIED');
    const statusOnly = r.statusSubresource ? o.subResource === 'status' : undefined;
    const w = this.ownership(stored.metadata.uid)!;
    if (extra.apply)
      w.recordApply(
        extra.apply.manager,
        gvKey(r.group, r.version),
        '',
        extra.apply.applied,
        !!o.force,
        leavesOf(stored, r.statusSubresource ? false : undefined),
      );
    else
      w.recordUpdate(
        this.managerOf(o),
        gvKey(r.group, r.version),
        o.subResource,
        leavesOf(oldPresented, statusOnly),
        leavesOf(stored, statusOnly),
      );
    this.afterWrite(r, stored, old);
    return { code: 200, body: this.present(r, stored), warnings };
  }

  /** DeleteOptions validation as rest.BeforeDelete does it (422 DeleteOptions.meta.k8s.io). */
  private validateDeleteOptions(o: WriteOptions): void {
    const d = o.deleteOptions ?? {};
    const problems: FieldProblem[] = [];
    if (d.orphanDependents !== undefined && d.propagationPolicy !== undefined)
      problems.push({
        type: 'Invalid',
        field: 'propagationPolicy',
        value: d.propagationPolicy,
        detail: 'orphanDependents and deletionPropagation cannot be both set',
      });
    if (d.propagationPolicy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(d.propagationPolicy)) {
      problems.push({
        type: 'NotSupported',
        field: 'propagationPolicy',
        value: d.propagationPolicy,
        detail: 'supported values: "Foreground", "Background", "Orphan", "nil"',
      });
    }
    if (dryValues(o).some((v) => v !== 'All'))
      problems.push({ type: 'NotSupported', field: 'dryRun', value: dryValues(o), detail: 'supported values: "All"' });
    if (problems.length) throw optionsInvalid('DeleteOptions', problems);
  }

  /** The garbage collector's finalizers a delete asks for (deletionFinalizersForGarbageCollection). */
  private gcFinalizers(old: KObject, d: DeleteOptions): string[] {
    const current = (old.metadata.finalizers ?? []) as string[];
    let orphan = false;
    let foreground = false;
    if (d.orphanDependents !== undefined) orphan = d.orphanDependents;
    else if (d.propagationPolicy) {
      orphan = d.propagationPolicy === 'Orphan';
      foreground = d.propagationPolicy === 'Foreground';
    } else {
      orphan = current.includes('orphan') && !current.includes('foregroundDeletion');
      foreground = current.includes('foregroundDeletion');
    }
    const next = current.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion');
    if (orphan) next.push('orphan');
    if (foreground) next.push('foregroundDeletion');
    return next;
  }

  async delete(r: ResourceType, ns: string | undefined, name: string, o: WriteOptions): Promise<Result> {
    const old = this.existing(r, ns, name);
    this.validateDeleteOptions(o);
    const d = o.deleteOptions ?? {};
    if (is(r, '', 'pods') && (old.spec as { nodeName?: string } | undefined)?.nodeName && d.gracePeriodSeconds !== 0) {
      throw notServed(
        `graceful deletion of a Pod bound to a node (pods "${name}" on ${(old.spec as { nodeName: string }).nodeName}): there is no kubelet; delete with gracePeriodSeconds=0`,
      );
    }
    const pre = d.preconditions;
    const isCrd = is(r, 'apiextensions.k8s.io', 'customresourcedefinitions');
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw isCrd
        ? conflict(
            r,
            name,
            `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
          )
        : conflict(
            { group: r.group, plural: r.kind },
            name,
            `the UID in the precondition (${pre.uid}) does not match the UID in record (${old.metadata.uid}). The object might have been deleted and then recreated`,
          );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw isCrd
        ? conflict(
            r,
            name,
            `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
          )
        : conflict(
            { group: r.group, plural: r.kind },
            name,
            `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${old.metadata.resourceVersion}). The object might have been modified`,
          );
    }
    const presented = this.present(r, old);
    this.namespaceLifecycle(r, 'DELETE', ns, name);
    const opts = this.writeOptionsFor('DELETE', o);
    const m = await admission.mutate(this.hooks, this.attrs(r, 'DELETE', name, ns, null, presented, o, opts));
    const warnings = [
      ...m.warnings,
      ...(await admission.validate(this.hooks, this.attrs(r, 'DELETE', name, ns, null, presented, o, opts))),
    ];
    const out = this.deleteAdmitted(r, old, d, isDry(o));
    return { code: 200, body: out, warnings };
  }

  /**
   * A delete past admission (also the controllers' deletes): namespaces and CRDs go Terminating;
   * an object with finalizers (its own, or the garbage collector's for orphan/foreground) gets
   * deletionTimestamp and stays; anything else is removed now.
   */
  deleteAdmitted(r: ResourceType, old: KObject, d: DeleteOptions, dryRun: boolean): unknown {
    const isNs = is(r, '', 'namespaces');
    const isCrd = is(r, 'apiextensions.k8s.io', 'customresourcedefinitions');
    const current = this.present(r, old);
    if (old.metadata.deletionTimestamp && !isNs && !isCrd) {
      // already being deleted: finalizers cannot change through DeleteOptions any more
      return (old.metadata.finalizers as string[] | undefined)?.length ? current : this.finalizeDelete(r, current);
    }
    const next = clone(current);
    if (isNs) {
      next.metadata.deletionTimestamp ??= now();
      next.status = { ...((next.status ?? {}) as object), phase: 'Terminating' } as Json;
    } else if (isCrd) {
      next.metadata.deletionTimestamp ??= now();
      if (!((next.metadata.finalizers ?? []) as string[]).includes(CRD_FINALIZER))
        next.metadata.finalizers = [...((next.metadata.finalizers ?? []) as string[]), CRD_FINALIZER];
      const st = (next.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
      st.conditions = [
        ...(st.conditions ?? []).filter((c) => c.type !== 'Terminating'),
        {
          type: 'Terminating',
          status: 'True',
          lastTransitionTime: now(),
          reason: 'InstanceDeletionPending',
          message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon',
        },
      ];
      next.status = st as Json;
    } else {
      const fins = this.gcFinalizers(old, d);
      if (!fins.length) {
        if (dryRun) return this.finalizeDelete(r, current);
        return this.finalizeDelete(r, this.removeNow(r, old));
      }
      next.metadata.finalizers = fins;
      if (typeof next.metadata.generation === 'number' && next.metadata.generation > 0) next.metadata.generation += 1;
      next.metadata.deletionTimestamp = now();
      next.metadata.deletionGracePeriodSeconds = 0;
    }
    if (
      isNs &&
      !(next.spec as { finalizers?: string[] } | undefined)?.finalizers?.length &&
      !(next.metadata.finalizers as string[] | undefined)?.length
    ) {
      if (dryRun) return current;
      return this.present(r, this.removeNow(r, old));
    }
    if (dryRun) return next;
    // a second delete of what is already being deleted changes nothing
    if (deepEqual(next, current)) return current;
    const stored = this.store.put(storeKey(r), next, 'MODIFIED');
    this.afterWrite(r, stored, old);
    return this.present(r, stored);
  }

  private finalizeDelete(r: ResourceType, o: KObject): unknown {
    if (RETURNS_DELETED.has(storeKey(r))) return this.present(r, o);
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: o.metadata.name, ...(r.group ? { group: r.group } : {}), kind: r.plural, uid: o.metadata.uid },
    };
  }

  /** Removes an object from storage now, with what follows (CRD types, Pod replacement, controllers). */
  removeNow(r: ResourceType, o: KObject): KObject {
    const gone = this.store.remove(storeKey(r), o.metadata.namespace, o.metadata.name!)!;
    if (o.metadata.uid) this.owners.delete(o.metadata.uid);
    if (is(r, 'apiextensions.k8s.io', 'customresourcedefinitions')) this.unregisterCrd(o.metadata.name!, true);
    if (is(r, '', 'pods')) this.pods.replace(gone);
    this.controllers.removed(r, gone);
    return gone;
  }

  async deleteCollection(
    r: ResourceType,
    ns: string | undefined,
    q: URLSearchParams,
    o: WriteOptions,
  ): Promise<Result> {
    this.validateDeleteOptions(o);
    const { items, resourceVersion } = this.list(r, ns, q);
    const warnings: string[] = [];
    for (const it of items) {
      try {
        warnings.push(...(await this.delete(r, it.metadata.namespace, it.metadata.name!, o)).warnings);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return {
      code: 200,
      body: { apiVersion: gvKey(r.group, r.version), kind: r.listKind, metadata: { resourceVersion }, items },
      warnings,
    };
  }

  /** A write by the sandbox's controllers: no admission, no validation (they write what the server made). */
  controllerUpdate(r: ResourceType, next: KObject, manager: string): void {
    const old = this.store.get(storeKey(r), next.metadata.namespace, next.metadata.name!);
    if (!old || old.metadata.uid !== next.metadata.uid) return;
    if (
      old.metadata.deletionTimestamp &&
      !(next.metadata.finalizers as string[] | undefined)?.length &&
      !(is(r, '', 'namespaces') && (next.spec as { finalizers?: string[] } | undefined)?.finalizers?.length)
    ) {
      this.removeNow(r, old);
      return;
    }
    if (deepEqual(next, old)) return;
    const stored = this.store.put(storeKey(r), next, 'MODIFIED');
    this.ownership(stored.metadata.uid)?.recordUpdate(
      manager,
      gvKey(r.group, r.version),
      '',
      leavesOf(old),
      leavesOf(stored),
    );
    this.afterWrite(r, stored, old);
  }

  /** A create by the sandbox's controllers (a namespace's default ServiceAccount and kube-root-ca.crt). */
  controllerCreate(r: ResourceType, obj: KObject, manager: string): void {
    if (this.store.get(storeKey(r), obj.metadata.namespace, obj.metadata.name!)) return;
    this.prepareCreate(r, obj);
    const stored = this.store.put(storeKey(r), obj, 'ADDED');
    this.ownership(stored.metadata.uid)!.recordUpdate(
      manager,
      gvKey(r.group, r.version),
      '',
      undefined,
      leavesOf(stored),
    );
    this.afterWrite(r, stored, undefined);
  }

  private afterWrite(r: ResourceType, stored: KObject, old: KObject | undefined): void {
    if (is(r, 'apiextensions.k8s.io', 'customresourcedefinitions') && !stored.metadata.deletionTimestamp)
      this.registerCrd(stored);
    this.controllers.written(r, stored, old);
  }

  /** Installs a CRD straight into storage (start-up), bypassing admission. */
  async installCrd(crd: unknown): Promise<void> {
    const r = this.types.get('apiextensions.k8s.io/v1/customresourcedefinitions')!;
    await this.create(r, undefined, crd, { dryRun: [], subResource: '', defaultManager: 'sandbox' });
  }
}

/**
 * What Go's omitempty drops when an object is decoded into its type and written back: empty
 * strings, maps and lists in metadata (any kind), empty data maps of ConfigMaps and Secrets.
 */
function omitEmpty(r: ResourceType, o: KObject): void {
  const m = o.metadata as Record<string, unknown>;
  for (const [k, v] of Object.entries(m)) {
    if (
      v === '' ||
      v === null ||
      (Array.isArray(v) && !v.length) ||
      (v && typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length)
    )
      delete m[k];
  }
  if (!r.crd && r.group === '') {
    for (const k of ['data', 'binaryData', 'stringData']) {
      const v = (o as Record<string, unknown>)[k];
      if (v === null || (v && typeof v === 'object' && !Object.keys(v).length))
        delete (o as Record<string, unknown>)[k];
    }
  }
}

/** `{"a": 1}` parse errors as Go's encoding/json words the first one (for continue tokens). */
function jsonSyntaxError(text: string): string {
  try {
    JSON.parse(text);
    return 'invalid token';
  } catch {
    const c = text.trimStart()[0];
    if (c === undefined) return 'unexpected end of JSON input';
    if (c === 'n' && !text.trimStart().startsWith('null'))
      return `invalid character '${text.trimStart()[1] ?? ''}' in literal null (expecting 'u')`;
    return `invalid character '${c}' looking for beginning of value`;
  }
}

/** Lists of objects (associative in built-in kinds) and x-kubernetes-list-type map/set lists in an applied configuration. */
function associativeLists(cfg: Json, r: ResourceType, path = ''): string[] {
  if (Array.isArray(cfg)) {
    const out: string[] = [];
    if (!r.crd && cfg.some((x) => x && typeof x === 'object' && !Array.isArray(x))) out.push(path || '.');
    if (r.crd && r.schema?.listType(path.slice(1)) && r.schema.listType(path.slice(1)) !== 'atomic') out.push(path);
    return out;
  }
  if (!cfg || typeof cfg !== 'object') return [];
  return Object.entries(cfg).flatMap(([k, v]) =>
    path === '' && (k === 'metadata' || k === 'apiVersion' || k === 'kind')
      ? []
      : associativeLists(v, r, `${path}.${k}`),
  );
}

/** The 409 of a server-side apply that changes fields other managers own. */
function applyConflict(conflicts: Map<string, string[]>, w: Ownership, r: ResourceType): ApiError {
  const entries = [...conflicts].flatMap(([m, fields]) => fields.map((f) => ({ manager: m, field: f })));
  const using = (m: string): string =>
    `conflict with ${JSON.stringify(m)}${w.managers.find((x) => x.name === m)?.operation === 'Apply' ? '' : ` using ${gvKey(r.group, r.version)}`}`;
  let msg: string;
  if (entries.length === 1) msg = `Apply failed with 1 conflict: ${using(entries[0].manager)}: ${entries[0].field}`;
  else
    msg = `Apply failed with ${entries.length} conflicts: ${[...conflicts].map(([m, fields]) => `${using(m).replace(/^conflict/, 'conflicts')}:\n${fields.map((f) => `- ${f}`).join('\n')}`).join('\n')}`;
  return new ApiError(409, 'Conflict', msg, {
    causes: entries.map((e) => ({ reason: 'FieldManagerConflict', message: using(e.manager), field: e.field })),
  });
}
