// Dynamic admission as kube-apiserver does it: Mutating then Validating WebhookConfigurations
// (admissionregistration.k8s.io/v1), AdmissionReview v1 over HTTPS to clientConfig.url with the
// caBundle as the only trust root, rules/namespaceSelector/objectSelector matching, timeouts,
// failurePolicy, JSONPatch responses, warnings and denials in the apiserver's words.
import { request } from 'node:https';
import { randomUUID } from 'node:crypto';
import { parse as celParse } from '@marcbachmann/cel-js';
import { ApiError, badRequest, internal } from './errors.js';
import { jsonPatch, JsonPatchError, type Json } from './patch.js';
import { labelSelectorMatcher, type LabelSelector } from './selectors.js';
import type { ResourceType } from './resources.js';
import type { KObject } from './store.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

interface Rule {
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  operations?: string[];
  scope?: string;
}
export interface Webhook {
  name: string;
  clientConfig: {
    url?: string;
    caBundle?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
  };
  rules?: Rule[];
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: string;
  matchConditions?: Array<{ name: string; expression: string }>;
}

export interface AdmissionAttributes {
  resource: ResourceType;
  subResource: string;
  operation: Operation;
  name: string;
  namespace?: string;
  object: KObject | null;
  oldObject: KObject | null;
  dryRun: boolean;
  options: Record<string, unknown>;
  /** labels of the request's namespace (or of the Namespace object itself) */
  namespaceLabels?: Record<string, string>;
}

export interface AdmissionResult {
  object: KObject | null;
  warnings: string[];
}

const USER = {
  username: 'sandbox-admin',
  uid: 'sandbox-admin-uid',
  groups: ['system:masters', 'system:authenticated'],
};

const any = (list: string[] | undefined, v: string): boolean => !!list && (list.includes('*') || list.includes(v));

function ruleMatches(r: Rule, a: AdmissionAttributes): boolean {
  const res = a.resource;
  if (!any(r.operations, a.operation) || !any(r.apiGroups, res.group) || !any(r.apiVersions, res.version)) return false;
  const full = a.subResource ? `${res.plural}/${a.subResource}` : res.plural;
  const resources = r.resources ?? [];
  const resOk = resources.some(
    (x) =>
      x === full ||
      x === '*/*' ||
      (x === '*' && !a.subResource) ||
      (a.subResource && x === `*/${a.subResource}`) ||
      (!!a.subResource && x === `${res.plural}/*`),
  );
  if (!resOk) return false;
  const scope = r.scope ?? '*';
  return scope === '*' || (scope === 'Namespaced') === res.namespaced;
}

/** matchConditions: CEL over object, oldObject and request; all must hold. A failing expression follows failurePolicy. */
function conditionsHold(w: Webhook, a: AdmissionAttributes): boolean {
  if (!w.matchConditions?.length) return true;
  const res = a.resource;
  const ctx = {
    object: a.object,
    oldObject: a.oldObject,
    request: {
      kind: { group: res.group, version: res.version, kind: res.kind },
      resource: { group: res.group, version: res.version, resource: res.plural },
      subResource: a.subResource,
      name: a.name,
      namespace: a.namespace ?? '',
      operation: a.operation,
      userInfo: USER,
      dryRun: a.dryRun,
    },
  };
  for (const c of w.matchConditions) {
    try {
      if ((celParse(c.expression) as unknown as (x: object) => unknown)(ctx) !== true) return false;
    } catch (e) {
      if ((w.failurePolicy ?? 'Fail') === 'Ignore') return false;
      throw internal(`failed calling webhook "${w.name}": matchCondition "${c.name}": ${(e as Error).message}`);
    }
  }
  return true;
}

export function webhookMatches(w: Webhook, a: AdmissionAttributes): boolean {
  if (!(w.rules ?? []).some((r) => ruleMatches(r, a))) return false;
  // namespaceSelector applies to namespaced objects and to Namespace objects themselves
  const isNs = a.resource.group === '' && a.resource.plural === 'namespaces';
  if ((a.resource.namespaced || isNs) && !labelSelectorMatcher(w.namespaceSelector)(a.namespaceLabels)) return false;
  const objSel = labelSelectorMatcher(w.objectSelector);
  // a null object (the old one on CREATE, the new one on DELETE) matches nothing
  if (!((a.object && objSel(a.object.metadata.labels)) || (a.oldObject && objSel(a.oldObject.metadata.labels))))
    return false;
  return conditionsHold(w, a);
}

interface ReviewResponse {
  uid?: string;
  allowed?: boolean;
  patch?: string;
  patchType?: string | null;
  warnings?: string[];
  status?: { code?: number; message?: string; reason?: string; details?: unknown; status?: string };
}
interface ReviewEnvelope {
  apiVersion?: unknown;
  kind?: unknown;
  response?: ReviewResponse;
}

/** Node's connection errors in the words of Go's net/http client, as kube-apiserver reports them. */
function goNetError(e: NodeJS.ErrnoException & { address?: string; port?: number }, url: URL): string {
  const hostPort = `${url.hostname}:${url.port || 443}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${e.address ?? url.hostname}:${e.port ?? (url.port || 443)}: connect: connection refused`;
    case 'ECONNRESET':
      return `read tcp ${hostPort}: read: connection reset by peer`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    default:
      return e.message;
  }
}

function review(_w: Webhook, a: AdmissionAttributes, obj: KObject | null): Record<string, unknown> {
  const res = a.resource;
  const gvk = { group: res.group, version: res.version, kind: res.kind };
  const gvr = { group: res.group, version: res.version, resource: res.plural };
  const optionsKind =
    a.operation === 'CREATE' ? 'CreateOptions' : a.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: gvk,
      resource: gvr,
      ...(a.subResource ? { subResource: a.subResource, requestSubResource: a.subResource } : {}),
      requestKind: gvk,
      requestResource: gvr,
      name: a.name,
      ...(a.namespace ? { namespace: a.namespace } : {}),
      operation: a.operation,
      userInfo: USER,
      object: obj,
      oldObject: a.oldObject,
      dryRun: a.dryRun,
      options: { kind: optionsKind, apiVersion: 'meta.k8s.io/v1', ...a.options },
    },
  };
}

class CallError extends Error {}

/** Where a webhook is reached: its url, or a Service routed to a loopback port (TLS name `<svc>.<ns>.svc`, as the apiserver dials it). */
function target(
  w: Webhook,
  src: WebhookSource,
): { url: URL; connect?: { hostname: string; port: number; servername: string } } {
  if (w.clientConfig.url) return { url: new URL(w.clientConfig.url) };
  const svc = w.clientConfig.service;
  if (!svc) throw new CallError('failed to call webhook: clientConfig has neither url nor service');
  const host = `${svc.name}.${svc.namespace}.svc`;
  const url = new URL(`https://${host}:${svc.port ?? 443}${svc.path ?? '/'}`);
  const port = src.servicePort(svc.namespace, svc.name, svc.port ?? 443);
  if (port === undefined)
    throw new CallError(
      `failed to call webhook: Post "${url.toString()}": service "${svc.namespace}/${svc.name}" is not routed in the sandbox (route it with --service ${svc.namespace}/${svc.name}=PORT)`,
    );
  return { url, connect: { hostname: '127.0.0.1', port, servername: host } };
}

function post(w: Webhook, src: WebhookSource, body: Record<string, unknown>): Promise<ReviewEnvelope> {
  const timeoutS = w.timeoutSeconds ?? 10;
  const { url, connect } = target(w, src);
  url.searchParams.set('timeout', `${timeoutS}s`);
  const shown = `Post "${url.toString()}"`;
  const payload = JSON.stringify(body);
  const ca = w.clientConfig.caBundle ? Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8') : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        timeout: timeoutS * 1000,
        ...(connect ?? {}),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, */*',
          'Content-Length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
            reject(
              new CallError(
                `failed to call webhook: the server responded with the status code ${res.statusCode}: ${text.slice(0, 200)}`,
              ),
            );
            return;
          }
          try {
            const parsed = JSON.parse(text) as ReviewEnvelope;
            if (!parsed || typeof parsed !== 'object') throw new Error('the body is not an object');
            resolve(parsed);
          } catch (e) {
            reject(new CallError(`failed to call webhook: ${(e as Error).message}`));
          }
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(new CallError(`failed to call webhook: ${e.message}`));
        });
      },
    );
    // a whole-call deadline, as the apiserver's context timeout (the socket timeout is only idle time)
    const timer = setTimeout(() => {
      req.destroy(new CallError(`failed to call webhook: ${shown}: context deadline exceeded`));
    }, timeoutS * 1000);
    req.on('timeout', () => req.destroy(new CallError(`failed to call webhook: ${shown}: context deadline exceeded`)));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e instanceof CallError ? e : new CallError(`failed to call webhook: ${shown}: ${goNetError(e, url)}`));
    });
    req.end(payload);
  });
}

/** webhookerrors.ToStatusErr */
function denial(name: string, st: ReviewResponse['status']): ApiError {
  const deniedBy = `admission webhook "${name}" denied the request`;
  const code = st?.code && st.code >= 400 ? st.code : 400;
  const msg = st?.message
    ? `${deniedBy}: ${st.message}`
    : st?.reason
      ? `${deniedBy}: ${st.reason}`
      : `${deniedBy} without explanation`;
  return new ApiError(code, st?.reason ?? '', msg, st?.details as never);
}

/** VerifyAdmissionResponse for v1 reviews. */
function verify(env: ReviewEnvelope, uid: string, mutating: boolean): ReviewResponse {
  // the answer is decoded into a v1 AdmissionReview: a v1beta1 one does not convert
  if (env.apiVersion === 'admission.k8s.io/v1beta1' && env.kind === 'AdmissionReview')
    throw new CallError(
      'failed to call webhook: converting (v1beta1.AdmissionReview) to (v1.AdmissionReview): unknown conversion',
    );
  const r = env.response;
  if (!r) throw new Error('webhook response was absent');
  if ((r.uid ?? '') !== uid)
    throw new Error(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(r.uid ?? '')}`);
  const [group, version] =
    typeof env.apiVersion === 'string' && env.apiVersion.includes('/')
      ? env.apiVersion.split('/')
      : ['', typeof env.apiVersion === 'string' ? env.apiVersion : ''];
  const kind = typeof env.kind === 'string' ? env.kind : '';
  if (env.apiVersion !== 'admission.k8s.io/v1' || kind !== 'AdmissionReview') {
    throw new Error(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${group}/${version}, Kind=${kind}`,
    );
  }
  const hasPatch = typeof r.patch === 'string' && r.patch.length > 0;
  const hasType = r.patchType !== undefined && r.patchType !== null;
  if (mutating) {
    if (hasPatch && !hasType) throw new Error('webhook returned response.patch but not response.patchType');
    if (!hasPatch && hasType) throw new Error('webhook returned response.patchType but not response.patch');
    if (hasType && r.patchType === '') throw new Error('webhook returned invalid response.patchType of ""');
  } else {
    if (hasPatch) throw new Error('validating webhook may not return response.patch');
    if (hasType) throw new Error('validating webhook may not return response.patchType');
  }
  return r;
}

async function call(
  w: Webhook,
  src: WebhookSource,
  a: AdmissionAttributes,
  obj: KObject | null,
  mutating: boolean,
): Promise<{ patched?: KObject; warnings: string[] } | undefined> {
  if (a.dryRun && !['None', 'NoneOnDryRun'].includes(w.sideEffects ?? 'Unknown')) {
    throw badRequest(`admission webhook "${w.name}" does not support dry run`);
  }
  const body = review(w, a, obj);
  const uid = (body.request as { uid: string }).uid;
  let resp: ReviewResponse;
  try {
    const env = await post(w, src, body);
    try {
      resp = verify(env, uid, mutating);
    } catch (e) {
      if (e instanceof CallError) throw e;
      throw new CallError(`received invalid webhook response: ${(e as Error).message}`);
    }
  } catch (e) {
    if ((w.failurePolicy ?? 'Fail') === 'Ignore') return undefined;
    throw internal(`failed calling webhook "${w.name}": ${(e as Error).message}`);
  }
  const warnings = resp.warnings ?? [];
  if (!resp.allowed) throw Object.assign(denial(w.name, resp.status), { warnings });
  if (resp.patch && mutating) {
    let ops: unknown;
    try {
      ops = JSON.parse(Buffer.from(resp.patch, 'base64').toString('utf8'));
    } catch (e) {
      if ((w.failurePolicy ?? 'Fail') === 'Ignore') return { warnings };
      throw Object.assign(
        internal(
          `failed calling webhook "${w.name}": received undecodable patch in webhook response: ${(e as Error).message}`,
        ),
        { warnings },
      );
    }
    if (!Array.isArray(ops) || !ops.length) return { warnings };
    if (!obj)
      throw Object.assign(
        internal(
          `admission webhook "${w.name}" attempted to modify the object, which is not supported for this operation`,
        ),
        { warnings },
      );
    if (resp.patchType !== 'JSONPatch') {
      if ((w.failurePolicy ?? 'Fail') === 'Ignore') return { warnings };
      throw Object.assign(internal(`failed calling webhook "${w.name}": unsupported patch type "${resp.patchType}"`), {
        warnings,
      });
    }
    try {
      return { patched: jsonPatch(obj as unknown as Json, ops) as unknown as KObject, warnings };
    } catch (e) {
      if (e instanceof JsonPatchError) throw Object.assign(internalPlain(e.message), { warnings });
      throw e;
    }
  }
  return { warnings };
}

/** apierrors.NewInternalError(err): "Internal error occurred: <err>", the error as the one cause. */
function internalPlain(msg: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${msg}`, { causes: [{ message: msg }] });
}

export interface WebhookSource {
  mutating(): Webhook[];
  validating(): Webhook[];
  /** the 127.0.0.1 port a Service's port is routed to, if any */
  servicePort(namespace: string, name: string, port: number): number | undefined;
}

/** Mutating webhooks, one after another, each seeing the previous one's patch. */
export async function mutate(src: WebhookSource, a: AdmissionAttributes): Promise<AdmissionResult> {
  let obj = a.object;
  const warnings: string[] = [];
  for (const w of src.mutating()) {
    if (!webhookMatches(w, { ...a, object: obj })) continue;
    const r = await call(w, src, a, obj, true);
    if (!r) continue;
    warnings.push(...r.warnings);
    if (r.patched) obj = r.patched;
  }
  return { object: obj, warnings };
}

/** Validating webhooks, in parallel; the first denial (in configuration order) wins. */
export async function validate(src: WebhookSource, a: AdmissionAttributes): Promise<string[]> {
  const hooks = src.validating().filter((w) => webhookMatches(w, a));
  const results = await Promise.allSettled(hooks.map((w) => call(w, src, a, a.object, false)));
  const warnings: string[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') warnings.push(...(r.value?.warnings ?? []));
    else warnings.push(...((r.reason as { warnings?: string[] }).warnings ?? []));
  }
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw Object.assign(failed.reason as Error, { warnings });
  return warnings;
}
