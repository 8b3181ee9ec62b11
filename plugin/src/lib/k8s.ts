// A small typed face over @kubernetes/client-node for one cluster (one context). Everything here
// is loaded lazily: importing this module costs nothing until a client is created.
// client-node 1.4's patch calls send JSON Patch unless told otherwise, so every merge patch sets
// its Content-Type through a request middleware.
// Every call is bounded (deadline.ts): a request middleware gives client-node's fetch an
// AbortSignal that fires at the command's deadline or after the per-request timeout, whichever
// comes first, so a connection that never answers, or stalls in the middle of a response, is
// cut off; the call then throws DeadlineError (the command's deadline: exit 124) or
// RequestTimeoutError (an UnreachableError), naming the call and the cluster.
// Connections are kept alive: one client (forKubeConfig) and every copy of it (withDeadline,
// withLimits) share one ConnectionPool (client-node.ts), a keep-alive agent the same middleware
// hands to every request in place of the new agent client-node would connect with, and one
// instance of each API client. An aborted call's socket is destroyed, not pooled; idle sockets do
// not keep the process alive, and close() ends them.
// Every write goes through one method (write()), which follows the command's --dry-run
// (request-mode.ts): server-side every write carries dryRun=All, client-side none is sent (a
// patch is applied to the object read, as kubectl does); both record what was judged.
// The same request middleware adds the --as / --as-group headers and, at -v=6 and above, logs
// each request as kubectl does (method, URL, status, duration; never a header or a body).
import { STATUS_CODES } from 'node:http';
import type {
  ConfigurationOptions,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RequestContext,
  ResponseContext,
  VersionApi,
} from '@kubernetes/client-node';
import type { ConnectionPool } from './client-node.js';
import {
  ApiError,
  CrdMissingError,
  DeadlineError,
  InterruptedError,
  RequestTimeoutError,
  UnreachableError,
  WebhookUnreachableError,
} from './errors.js';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  MAX_TIMER_MS,
  earlier,
  noteDeadlineHit,
  requestTimeoutOf,
  type CallLimits,
} from './deadline.js';
import {
  REQUEST_LOG_VERBOSITY,
  recordWrite,
  requestMode,
  type Impersonation,
  type PlannedWrite,
  type RequestMode,
} from './request-mode.js';
import { mergePatched } from './merge-patch.js';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

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
const NAMESPACE: ResourceType = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
const POD: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod' };

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}
export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

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

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

// kube-apiserver's RBAC denial (403): `secrets "x" is forbidden: User "alice" cannot get resource
// "secrets" in API group "" in the namespace "istio-system"` (or `at the cluster scope`).
const RBAC_DENIAL =
  /User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/;

/**
 * A 403 from the authorizer as one sentence naming the missing permission the way `kubectl auth
 * can-i` takes it: `cannot create secrets in namespace istio-system on cluster "c1": user "alice"
 * lacks this RBAC permission (forbidden)`. Other 403s (an admission webhook's, a terminating
 * namespace's) are not about RBAC: undefined.
 */
export function forbiddenSentence(message: string, cluster: string): string | undefined {
  const m = RBAC_DENIAL.exec(message);
  if (!m) return undefined;
  const [, user, verb, resource, group, namespace] = m;
  const [plural, sub] = resource!.split('/');
  const what = `${plural}${group ? `.${group}` : ''}${sub ? `/${sub}` : ''}`;
  const where = namespace ? `in namespace ${namespace}` : 'at cluster scope';
  return `cannot ${verb} ${what} ${where} on cluster "${cluster}": user "${user}" lacks this RBAC permission (forbidden)`;
}

/** Turns whatever client-node threw into an ApiError or UnreachableError with one sentence. */
/** client-go's limit for retrying 429 answers. */
const MAX_TOO_MANY_REQUESTS_TRIES = 10;
const PREMATURE_CLOSE = /Premature close/;
const MAX_PREMATURE_CLOSE_TRIES = 3;

export function translateError(err: unknown, cluster: string, what: string): Error {
  const e = err as {
    code?: unknown;
    body?: unknown;
    errno?: string;
    type?: string;
    cause?: { code?: string };
    message?: string;
  };
  if (typeof e?.code === 'number') {
    const status = parseBody(e.body);
    const msg = status.message ?? `HTTP ${e.code}`;
    const denied = e.code === 403 ? forbiddenSentence(msg, cluster) : undefined;
    if (denied) return new ApiError(denied, e.code, status.reason);
    const hook = e.code >= 500 ? webhookUnreachable(msg) : undefined;
    if (hook) return new WebhookUnreachableError(what, cluster, hook, msg);
    const apiErr = new ApiError(`${what} on cluster "${cluster}": ${msg}`, e.code, status.reason);
    apiErr.serverMessage = msg;
    const retryAfter = Number((e as { headers?: Record<string, string> }).headers?.['retry-after']);
    if (e.code === 429 && Number.isFinite(retryAfter)) apiErr.retryAfterMs = retryAfter * 1000;
    return apiErr;
  }
  const code = typeof e?.code === 'string' ? e.code : (e?.errno ?? e?.cause?.code);
  if ((code && NETWORK_CODES.has(code)) || e?.type === 'system' || e?.type === 'request-timeout') {
    return new UnreachableError(cluster, (e?.message ?? String(code)).replace(/^request to \S+ failed, reason: /, ''));
  }
  return err instanceof Error ? err : new Error(String(err));
}

// kube-apiserver (and the sandbox) when it cannot connect to an admission webhook at all:
// `failed calling webhook "NAME": failed to call webhook: Post "URL": dial tcp ...: connect:
// connection refused` (or no endpoints behind its Service, or a name that does not resolve).
// Not retried while that cluster has admitted no write in this run (WebhookUnreachableError
// .failFast): retrying for a whole --timeout would only hide it. A slow webhook is not this.
const WEBHOOK_UNREACHABLE =
  /failed calling webhook "([^"]+)".*(connection refused|no endpoints available for service|no such host)/;

/** The webhook's name when the message says the API server could not connect to it. */
export function webhookUnreachable(message: string): string | undefined {
  return WEBHOOK_UNREACHABLE.exec(message)?.[1];
}

// A 404 for the resource type itself, not for an object: the path is not served (no CRD). A
// group with no resource left answers with the Go mux's plain text instead of a Status.
const NO_SUCH_RESOURCE = /^(the server could not find the requested resource|404 page not found)/;

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409;
}

function errorText(err: unknown): string {
  return err instanceof ApiError ? (err.serverMessage ?? err.message) : String(err);
}

/** -v=6: one line per request on stderr, as kubectl's `GET URL 200 OK in 5 milliseconds`. */
function logRequest(cluster: string, trace: Trace, outcome: string): void {
  const ms = trace.start === undefined ? 0 : Math.round(performance.now() - trace.start);
  const status = /^\d+$/.test(outcome) ? `${outcome} ${STATUS_CODES[Number(outcome)] ?? ''}`.trimEnd() : outcome;
  const now = new Date();
  const stamp = `I${String(now.getMonth() + 1).padStart(2, '0')}${String(now.getDate()).padStart(2, '0')} ${now.toISOString().slice(11, 23)}`;
  process.stderr.write(
    `${stamp} [${cluster}] ${trace.method ?? '?'} ${trace.url ?? '?'} ${status} in ${ms} milliseconds\n`,
  );
}

/**
 * The impersonation headers on a request: Impersonate-User, and one Impersonate-Group line per
 * group (the API server reads each line as one group, never a comma list), so the headers are
 * handed to fetch as name/value pairs, which it sends as separate lines.
 */
function impersonateOn(ctx: RequestContext, who: Impersonation): void {
  if (who.groups.length <= 1) {
    if (who.user !== undefined) ctx.setHeaderParam('Impersonate-User', who.user);
    if (who.groups[0] !== undefined) ctx.setHeaderParam('Impersonate-Group', who.groups[0]);
    return;
  }
  const pairs: [string, string][] = Object.entries(ctx.getHeaders()).map(([k, v]) => [k, String(v)]);
  if (who.user !== undefined) pairs.push(['Impersonate-User', who.user]);
  for (const g of who.groups) pairs.push(['Impersonate-Group', g]);
  (ctx as unknown as { headers: unknown }).headers = pairs;
}

function ref(t: ResourceType, ns: string | undefined, name?: string): string {
  return `${t.kind} ${ns ? `${ns}/` : ''}${name ?? ''}`.trim();
}

/**
 * How a K8s client bounds its calls (CallLimits, deadline.ts) and talks to the server
 * (RequestMode, request-mode.ts: --dry-run, -v, --as). A client takes the running command's
 * request mode unless given one.
 */
export type K8sOptions = CallLimits & RequestMode;

/** The parts of a write the dry-run record and the client-side result need. */
interface WriteTarget {
  t: ResourceType;
  operation: PlannedWrite['operation'];
  subresource?: 'status';
  namespace?: string;
  name: string;
  /** The object sent (create, replace), or the merge patch. */
  body?: object;
}

/**
 * The client-node method of one write, called with the parameters write() builds from the
 * WriteTarget (coordinates, body, dryRun, field manager). client-node types each method's
 * parameters apart; they are built in one place, so a method takes them as they come.
 */
type WriteCall = (params: never, o: ConfigurationOptions) => Promise<unknown>;

/** What a request's middleware saw, for the -v log line of a call that got no answer. */
interface Trace {
  method?: string;
  url?: string;
  start?: number;
}

/** What a client and its copies share: the cluster's connections and the API clients. */
interface Connection {
  pool: ConnectionPool;
  /** A write of a custom resource went through admission: the cluster's webhooks answer. */
  admitted?: boolean;
  custom?: CustomObjectsApi;
  core?: CoreV1Api;
  version?: VersionApi;
}

function describeMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A client for one cluster. */
export class K8s {
  private constructor(
    readonly cluster: string,
    readonly kubeConfig: KubeConfig,
    private readonly cn: ClientNode,
    /** The bounds of every call this client makes. */
    readonly limits: Readonly<K8sOptions>,
    /** The first call the deadline cut off (shared by the views with the same deadline). */
    private readonly cut: { call?: string },
    /** The cluster's connections, shared by every copy of this client. */
    private readonly conn: Connection,
  ) {}

  /**
   * A client for one context. opts.deadline (epoch ms) bounds every call, opts.requestTimeoutMs
   * (default 30s, 0: none) each single one, opts.signal aborts them all.
   */
  static async forKubeConfig(cluster: string, kubeConfig: KubeConfig, opts: K8sOptions = {}): Promise<K8s> {
    const cn = await loadClientNode();
    return new K8s(cluster, kubeConfig, cn, { ...requestMode(), ...opts }, {}, { pool: new cn.ConnectionPool() });
  }

  /** The same client with every call also bounded by `deadline` (epoch ms); the earlier one wins. */
  withDeadline(deadline: number, flag?: string): K8s {
    const mine = this.limits.deadline;
    if (mine !== undefined && mine <= deadline) return this;
    return new K8s(
      this.cluster,
      this.kubeConfig,
      this.cn,
      { ...this.limits, deadline: earlier(mine, deadline), deadlineFlag: flag ?? 'the deadline' },
      {},
      this.conn,
    );
  }

  /** The same client with other limits (merged over the current ones). */
  withLimits(limits: K8sOptions): K8s {
    return new K8s(
      this.cluster,
      this.kubeConfig,
      this.cn,
      { ...this.limits, ...limits },
      limits.deadline === undefined ? this.cut : {},
      this.conn,
    );
  }

  /**
   * Closes the cluster's pooled connections now, for this client and every copy of it (a call
   * in flight fails). Not needed before exit: idle connections do not keep a process alive.
   */
  close(): void {
    this.conn.pool.close();
  }

  private custom() {
    return (this.conn.custom ??= this.kubeConfig.makeApiClient(this.cn.CustomObjectsApi));
  }
  private core() {
    return (this.conn.core ??= this.kubeConfig.makeApiClient(this.cn.CoreV1Api));
  }
  /** The merge-patch Content-Type, set first: the call's own middleware (impersonation) runs last. */
  private mergePatchOptions(opts: ConfigurationOptions): ConfigurationOptions {
    const { Observable, PatchStrategy } = this.cn;
    const contentType = {
      pre: (ctx: RequestContext) => {
        ctx.setHeaderParam('Content-Type', PatchStrategy.MergePatch);
        return new Observable(Promise.resolve(ctx));
      },
      post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
    };
    return { ...opts, middleware: [contentType, ...(opts.middleware ?? [])], middlewareMergeStrategy: 'append' };
  }

  /**
   * Per-call options: a middleware that hands the request's fetch the call's AbortSignal and the
   * cluster's pooled agent (in place of the one client-node made for this request).
   */
  private signalOptions(signal: AbortSignal, trace: Trace): ConfigurationOptions {
    const { Observable } = this.cn;
    const { pool } = this.conn;
    const { impersonate, verbosity } = this.limits;
    const logging = (verbosity ?? 0) >= REQUEST_LOG_VERBOSITY;
    return {
      middleware: [
        {
          pre: (ctx) => {
            ctx.setSignal(signal as never);
            const agent = pool.agentFor(ctx.getAgent());
            if (agent) ctx.setAgent(agent);
            if (impersonate) impersonateOn(ctx, impersonate);
            if (logging) {
              trace.method = String(ctx.getHttpMethod());
              trace.url = ctx.getUrl();
              trace.start = performance.now();
            }
            return new Observable(Promise.resolve(ctx));
          },
          post: (rsp) => {
            pool.responded();
            if (logging) logRequest(this.cluster, trace, String(rsp.httpStatusCode));
            return new Observable(Promise.resolve(rsp));
          },
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  /**
   * Runs one API call within the limits. Past them the request is aborted (the socket is
   * destroyed, whether the server has not answered or stopped in the middle of the body) and the
   * call throws DeadlineError / RequestTimeoutError; anything else becomes ApiError or
   * UnreachableError (translateError).
   */
  /**
   * One API call, answered 429 (Too Many Requests) retried as client-go retries it: a
   * kube-apiserver answers the first list of a CRD just installed with 429 "storage is
   * (re)initializing" and Retry-After while its cache fills. Up to 10 tries, each bounded as one.
   */
  private async call<T>(what: string, fn: (opts: ConfigurationOptions) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce(what, fn);
      } catch (err) {
        // node-fetch 2 can lose a response on a reused keep-alive connection ("Premature close"):
        // the request is sent again on a fresh one, as an HTTP client does on a stale connection.
        if (err instanceof UnreachableError && PREMATURE_CLOSE.test(err.message) && attempt < MAX_PREMATURE_CLOSE_TRIES)
          continue;
        if (!(err instanceof ApiError && err.status === 429) || attempt >= MAX_TOO_MANY_REQUESTS_TRIES) throw err;
        const wait = Math.min(err.retryAfterMs ?? 1000, 5000);
        const { deadline } = this.limits;
        if (deadline !== undefined && Date.now() + wait >= deadline) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async callOnce<T>(what: string, fn: (opts: ConfigurationOptions) => Promise<T>): Promise<T> {
    const { deadline, signal } = this.limits;
    const deadlineFlag = this.limits.deadlineFlag ?? 'the deadline';
    if (signal?.aborted) throw new InterruptedError();
    const now = Date.now();
    if (deadline !== undefined && deadline <= now) {
      const err = new DeadlineError(what, this.cluster, deadline, deadlineFlag, {
        notSent: true,
        after: this.cut.call,
      });
      noteDeadlineHit(err);
      throw err;
    }
    const perRequest = requestTimeoutOf(this.limits);
    const remaining = deadline === undefined ? Infinity : deadline - now;
    const byDeadline = remaining <= (perRequest || Infinity);
    const limit = Math.min(remaining, perRequest || Infinity);

    const ctl = new AbortController();
    const trace: Trace = {};
    let timer: NodeJS.Timeout | undefined;
    let cutOff: Error | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      if (limit < MAX_TIMER_MS) {
        timer = setTimeout(() => {
          if (byDeadline) {
            const err = new DeadlineError(what, this.cluster, deadline!, deadlineFlag);
            this.cut.call ??= what;
            noteDeadlineHit(err);
            cutOff = err;
          } else {
            const flag =
              this.limits.requestTimeoutFlag ??
              `${describeMs(perRequest)} (--request-timeout${perRequest === DEFAULT_REQUEST_TIMEOUT_MS ? ', the default' : ''})`;
            cutOff = new RequestTimeoutError(what, this.cluster, flag);
          }
          ctl.abort(cutOff);
          reject(cutOff);
        }, limit);
      }
      if (signal) {
        onAbort = () => {
          cutOff = new InterruptedError();
          ctl.abort(cutOff);
          reject(cutOff);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    stop.catch(() => undefined);
    try {
      // The race also bounds what happens before the request is sent (credential plugins).
      return await Promise.race([fn(this.signalOptions(ctl.signal, trace)), stop]);
    } catch (err) {
      const failed = cutOff ?? translateError(err, this.cluster, what);
      // A call with an HTTP answer was logged by the middleware; this one got none.
      if (trace.start !== undefined && !(failed instanceof ApiError))
        logRequest(this.cluster, trace, `(no response: ${failed.message})`);
      throw failed;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A call on a custom resource: a 404 for the resource type itself (the path is not served)
   * becomes CrdMissingError, naming the CRD to install.
   */
  private custCall<T>(t: ResourceType, what: string, fn: (opts: ConfigurationOptions) => Promise<T>): Promise<T> {
    return this.call(what, fn).catch((err: unknown) => {
      if (isNotFound(err) && NO_SUCH_RESOURCE.test(errorText(err)))
        throw new CrdMissingError(what, this.cluster, `${t.plural}.${t.group}`);
      throw err;
    });
  }

  /**
   * Every write: sent as it is, sent with dryRun=All (--dry-run=server, or opts.dryRun for one
   * call), or not sent at all (--dry-run=client: the result is the object as it would be
   * written; a patch is applied to the object read). A dry run records each write.
   * The write methods state only what differs (the target, the operation, the body, the
   * client-node method); the request's parameters are built here from the target, and a patch is
   * sent as a merge patch.
   */
  private async write<T>(w: WriteTarget, opts: WriteOptions, send: WriteCall): Promise<T> {
    const mode = this.limits.dryRun;
    const custom = w.t.group !== '';
    const what = `${w.operation}${w.subresource ? ` ${w.subresource} of` : ''} ${ref(w.t, w.namespace, w.name)}`;
    let result: T;
    if (mode === 'client') result = (await this.locally(w)) as T;
    else {
      const dryRun = mode === 'server' || opts.dryRun ? 'All' : undefined;
      const params = {
        ...(custom ? { group: w.t.group, version: w.t.version, plural: w.t.plural } : {}),
        ...(w.namespace ? { namespace: w.namespace } : {}),
        ...(w.operation === 'create' ? {} : { name: w.name }),
        ...(w.body ? { body: w.body } : {}),
        dryRun,
        ...(w.operation === 'delete' ? {} : { fieldManager: opts.fieldManager ?? FIELD_MANAGER }),
      };
      const fn = (o: ConfigurationOptions) =>
        send(params as never, w.operation === 'patch' ? this.mergePatchOptions(o) : o) as Promise<T>;
      try {
        result = await (custom ? this.custCall(w.t, what, fn) : this.call(what, fn));
      } catch (err) {
        if (err instanceof WebhookUnreachableError) err.failFast = !this.conn.admitted;
        throw err;
      }
      if (custom) this.conn.admitted = true;
    }
    if (mode) {
      const object = w.operation === 'delete' ? undefined : (result as Record<string, unknown> | undefined);
      recordWrite({
        cluster: this.cluster,
        operation: w.operation,
        ...(w.subresource ? { subresource: w.subresource } : {}),
        apiVersion: w.t.group ? `${w.t.group}/${w.t.version}` : w.t.version,
        kind: w.t.kind,
        ...(w.namespace ? { namespace: w.namespace } : {}),
        name: w.name,
        ...(object ? { object } : {}),
      });
    }
    return result;
  }

  /** --dry-run=client: what the write would leave, computed here (a patch needs the object: read). */
  private async locally(w: WriteTarget): Promise<unknown> {
    const apiVersion = w.t.group ? `${w.t.group}/${w.t.version}` : w.t.version;
    if (w.operation === 'delete') return undefined;
    if (w.operation === 'patch') {
      const current =
        w.t.kind === 'Secret' ? await this.getSecret(w.namespace!, w.name) : await this.get(w.t, w.namespace!, w.name);
      return mergePatched(current, w.body ?? {});
    }
    const body = structuredClone(w.body ?? {}) as { apiVersion?: string; kind?: string; metadata?: ObjectMeta };
    return {
      ...body,
      apiVersion: body.apiVersion ?? apiVersion,
      kind: body.kind ?? w.t.kind,
      metadata: { ...body.metadata, name: w.name, ...(w.namespace ? { namespace: w.namespace } : {}) },
    };
  }

  // ---- custom objects ----

  async get<T extends KObject = KObject>(t: ResourceType, ns: string, name: string): Promise<T> {
    return this.custCall(
      t,
      `get ${ref(t, ns, name)}`,
      (o) =>
        this.custom().getNamespacedCustomObject(
          { group: t.group, version: t.version, plural: t.plural, namespace: ns, name },
          o,
        ) as Promise<T>,
    );
  }

  /** The object, or undefined when it does not exist (a missing CRD is an error: CrdMissingError). */
  async find<T extends KObject = KObject>(t: ResourceType, ns: string, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(t, ns, name);
    } catch (err) {
      if (isNotFound(err) && !(err instanceof CrdMissingError)) return undefined;
      throw err;
    }
  }

  /** Lists in one namespace, or in all namespaces when ns is undefined. */
  async list<T extends KObject = KObject>(
    t: ResourceType,
    ns: string | undefined,
    opts: ListOptions = {},
  ): Promise<T[]> {
    const res = (await this.custCall(t, `list ${t.plural}${ns ? ` in namespace ${ns}` : ''}`, (o) =>
      ns
        ? this.custom().listNamespacedCustomObject(
            { group: t.group, version: t.version, plural: t.plural, namespace: ns, ...opts },
            o,
          )
        : this.custom().listClusterCustomObject({ group: t.group, version: t.version, plural: t.plural, ...opts }, o),
    )) as { items?: T[] };
    const items = res.items ?? [];
    // List items omit apiVersion/kind on some servers; fill them in so printers can rely on them.
    for (const it of items) {
      it.apiVersion ??= `${t.group}/${t.version}`;
      it.kind ??= t.kind;
    }
    return items;
  }

  async create<T extends KObject = KObject>(
    t: ResourceType,
    ns: string,
    body: KObject,
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.write({ t, operation: 'create', namespace: ns, name: body.metadata?.name, body }, opts, (p, o) =>
      this.custom().createNamespacedCustomObject(p, o),
    );
  }

  async replace<T extends KObject = KObject>(
    t: ResourceType,
    ns: string,
    name: string,
    body: KObject,
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.write({ t, operation: 'replace', namespace: ns, name, body }, opts, (p, o) =>
      this.custom().replaceNamespacedCustomObject(p, o),
    );
  }

  /** RFC 7386 merge patch of the object (spec/metadata). */
  async mergePatch<T extends KObject = KObject>(
    t: ResourceType,
    ns: string,
    name: string,
    patch: object,
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.write({ t, operation: 'patch', namespace: ns, name, body: patch }, opts, (p, o) =>
      this.custom().patchNamespacedCustomObject(p, o),
    );
  }

  /** RFC 7386 merge patch through the status subresource: `patch` is e.g. {status: {...}}. */
  async patchStatus<T extends KObject = KObject>(
    t: ResourceType,
    ns: string,
    name: string,
    patch: object,
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.write(
      { t, operation: 'patch', subresource: 'status', namespace: ns, name, body: patch },
      opts,
      (p, o) => this.custom().patchNamespacedCustomObjectStatus(p, o),
    );
  }

  /** PUT of the status subresource; body carries metadata.resourceVersion for optimistic locking. */
  async replaceStatus<T extends KObject = KObject>(
    t: ResourceType,
    ns: string,
    name: string,
    body: KObject,
    opts: WriteOptions = {},
  ): Promise<T> {
    return this.write({ t, operation: 'replace', subresource: 'status', namespace: ns, name, body }, opts, (p, o) =>
      this.custom().replaceNamespacedCustomObjectStatus(p, o),
    );
  }

  async delete(t: ResourceType, ns: string, name: string, opts: WriteOptions = {}): Promise<void> {
    await this.write({ t, operation: 'delete', namespace: ns, name }, opts, (p, o) =>
      this.custom().deleteNamespacedCustomObject(p, o),
    );
  }

  // ---- secrets ----

  async getSecret(ns: string, name: string): Promise<Secret> {
    return this.call(
      `get Secret ${ns}/${name}`,
      (o) => this.core().readNamespacedSecret({ namespace: ns, name }, o) as Promise<Secret>,
    );
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
    const res = await this.call('list Secrets', (o) =>
      ns
        ? this.core().listNamespacedSecret({ namespace: ns, ...opts }, o)
        : this.core().listSecretForAllNamespaces({ ...opts }, o),
    );
    return (res.items ?? []) as Secret[];
  }

  async createSecret(ns: string, body: Secret, opts: WriteOptions = {}): Promise<Secret> {
    return this.write({ t: SECRET, operation: 'create', namespace: ns, name: body.metadata.name, body }, opts, (p, o) =>
      this.core().createNamespacedSecret(p, o),
    );
  }

  async replaceSecret(ns: string, name: string, body: Secret, opts: WriteOptions = {}): Promise<Secret> {
    return this.write({ t: SECRET, operation: 'replace', namespace: ns, name, body }, opts, (p, o) =>
      this.core().replaceNamespacedSecret(p, o),
    );
  }

  async mergePatchSecret(ns: string, name: string, patch: object, opts: WriteOptions = {}): Promise<Secret> {
    return this.write({ t: SECRET, operation: 'patch', namespace: ns, name, body: patch }, opts, (p, o) =>
      this.core().patchNamespacedSecret(p, o),
    );
  }

  async deleteSecret(ns: string, name: string, opts: WriteOptions = {}): Promise<void> {
    await this.write({ t: SECRET, operation: 'delete', namespace: ns, name }, opts, (p, o) =>
      this.core().deleteNamespacedSecret(p, o),
    );
  }

  // ---- other core and cluster objects ----

  async listNamespaces(): Promise<string[]> {
    const res = await this.call('list Namespaces', (o) => this.core().listNamespace({}, o));
    return (res.items ?? []).map((n) => n.metadata?.name ?? '').filter(Boolean);
  }

  async createNamespace(name: string, opts: WriteOptions = {}): Promise<void> {
    await this.write({ t: NAMESPACE, operation: 'create', name, body: { metadata: { name } } }, opts, (p, o) =>
      this.core().createNamespace(p, o),
    );
  }

  /** Creates the namespace unless it exists already. */
  async ensureNamespace(name: string): Promise<void> {
    try {
      await this.call(`get Namespace ${name}`, (o) => this.core().readNamespace({ name }, o));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.createNamespace(name);
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
  }

  async getConfigMap(
    ns: string,
    name: string,
  ): Promise<{ metadata: ObjectMeta; data?: Record<string, string> } | undefined> {
    try {
      return (await this.call(`get ConfigMap ${ns}/${name}`, (o) =>
        this.core().readNamespacedConfigMap({ namespace: ns, name }, o),
      )) as { metadata: ObjectMeta; data?: Record<string, string> };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Pods of a namespace matching a label selector (e.g. `app=istiod`). */
  async listPods(ns: string, labelSelector?: string): Promise<KObject[]> {
    const res = await this.call(`list Pods in ${ns}`, (o) =>
      this.core().listNamespacedPod(labelSelector ? { namespace: ns, labelSelector } : { namespace: ns }, o),
    );
    return (res.items ?? []) as unknown as KObject[];
  }

  async deletePod(ns: string, name: string, opts: WriteOptions = {}): Promise<void> {
    await this.write({ t: POD, operation: 'delete', namespace: ns, name }, opts, (p, o) =>
      this.core().deleteNamespacedPod(p, o),
    );
  }

  /**
   * Cluster-scoped objects of any group, as the server sent them. The typed client-node APIs
   * rename and drop fields (x-kubernetes-*), which would make CRDs compare unequal.
   */
  async listClusterScoped(group: string, version: string, plural: string): Promise<KObject[]> {
    const res = (await this.call(`list ${plural}.${group}`, (o) =>
      this.custom().listClusterCustomObject({ group, version, plural }, o),
    )) as { items?: KObject[] };
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
    const api = (this.conn.version ??= this.kubeConfig.makeApiClient(this.cn.VersionApi));
    // getCode(param, options): the options (AbortSignal, pooled agent) are the second argument.
    const v = await this.call('get version', (o) => api.getCode({}, o));
    return v.gitVersion;
  }
}
