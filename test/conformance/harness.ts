// The differential harness: a case is a short script of requests (kubectl invocations and raw
// HTTP). It runs once against each server; every request's answer is normalised into an
// observation (status code, Status reason/message/causes, the fields of the object that matter,
// warnings; kubectl's exit code and output) and the two logs are compared.
//
// Verdicts: `match` (identical logs), `refused` (identical up to a request the sandbox answered
// with the refusal Status below, the plain "not served"), `diverges` (anything else: a silent
// divergence, which fails the suite).
import { createHash } from 'node:crypto';
import type { Hook } from './webhook.js';
import type { RawOptions, RawResponse, RunResult, Target, WatchEvent } from './targets.js';

/** The sandbox's plain refusal: HTTP 501, reason NotImplemented, message "the sandbox does not serve …". */
export const REFUSAL = { code: 501, reason: 'NotImplemented', prefix: 'the sandbox does not serve' } as const;

export type Obs = Record<string, unknown>;

export interface Case {
  id: string;
  area: string;
  title: string;
  /** the case's script; it gets its own namespace (ctx.ns), created beforehand */
  run(ctx: Ctx): Promise<void>;
  /** milliseconds (default 60 s) */
  timeoutMs?: number;
}

// ---- normalisation ----------------------------------------------------------------------------

const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;
const PORT = /127\.0\.0\.1:\d+/g;
const SKEW = /^WARNING: version difference between client .* exceeds the supported minor version skew.*$/gm;

/** What varies from run to run and server to server in any text: uids, times, ports, kubectl's skew warning. */
export function normText(s: string): string {
  return s
    .replace(SKEW, '')
    .replace(UID, '<uid>')
    .replace(TIME, '<time>')
    .replace(PORT, '127.0.0.1:<port>')
    .replace(/ResourceVersion in record \(\d+\)/g, 'ResourceVersion in record (<rv>)')
    .replace(/\/tmp\/(LIVE|MERGED)-\d+/g, '/tmp/$1-<n>')
    .replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g, '<certificate>')
    .replace(/\n{2,}/g, '\n')
    .trim();
}

/** Request paths: resourceVersions and continue tokens differ by server. */
export function normPath(p: string): string {
  return p.replace(/resourceVersion=\d+/g, 'resourceVersion=<rv>').replace(/continue=[^&]*/g, 'continue=<token>');
}

/** kubectl table ages ("5s", "2m3s", "<unknown>") */
export function normAges(s: string): string {
  return s.replace(/(?<=\s|^)(\d+[smhd])+(?=\s|$)/gm, '<age>');
}

/** Long strings (a 300 KB annotation) are compared by length and hash, and shown short. */
function shorten(s: string): string {
  return s.length <= 300
    ? s
    : `${s.slice(0, 60)}…<${s.length} chars, sha256 ${createHash('sha256').update(s).digest('hex').slice(0, 12)}>`;
}

function normDeep(v: unknown): unknown {
  if (typeof v === 'string') return shorten(normText(v));
  if (Array.isArray(v)) return v.map(normDeep);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normDeep(x)]));
  return v;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The metadata that matters: what clients set and what the server's semantics decide; not uid, resourceVersion, times, managedFields. */
export function pickMeta(m: any): Obs {
  if (!m || typeof m !== 'object') return {};
  const out: Obs = {};
  for (const k of [
    'name',
    'generateName',
    'namespace',
    'labels',
    'finalizers',
    'generation',
    'deletionGracePeriodSeconds',
  ] as const)
    if (m[k] !== undefined) out[k] = m[k];
  if (m.annotations) {
    const a = { ...m.annotations };
    delete a[LAST_APPLIED];
    if (Object.keys(a).length) out.annotations = a;
  }
  if (m.ownerReferences) out.ownerReferences = m.ownerReferences;
  if (m.deletionTimestamp) out.deletionTimestamp = '<set>';
  return normDeep(out) as Obs;
}

/** An object as compared: apiVersion, kind, pickMeta(metadata) and every other top-level field (normalised). */
export function pickObject(o: any): unknown {
  if (!o || typeof o !== 'object') return o;
  if (Array.isArray(o.items) && typeof o.kind === 'string' && o.kind.endsWith('List')) {
    return {
      kind: o.kind,
      apiVersion: o.apiVersion,
      ...(o.metadata?.continue ? { continue: '<set>' } : {}),
      ...(o.metadata?.remainingItemCount !== undefined ? { remainingItemCount: o.metadata.remainingItemCount } : {}),
      items: o.items.map(pickObject),
    };
  }
  const { metadata, ...rest } = o;
  if (o.kind === 'Namespace' && rest.status) rest.status = { phase: rest.status.phase };
  return { ...(normDeep(rest) as Obs), metadata: pickMeta(metadata) };
}

function warningsOf(h: RawResponse['headers']): string[] {
  const raw = h.warning;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  // "299 - \"text\"" (several may be joined by ", " in one header line)
  const out: string[] = [];
  for (const line of list)
    for (const m of line.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)) out.push(m[1].replace(/\\(.)/g, '$1'));
  return out.map(normText);
}

/**
 * A Status as compared: reason, message, details (name, group, kind, causes). Causes are compared
 * as a set (kube-apiserver repeats some and lists map-derived ones in random order); a 422
 * message listing them is put in the same order when it lists exactly them.
 */
export function statusObs(body: any): Obs {
  let message: string = typeof body.message === 'string' ? body.message : body.message;
  const out: Obs = { reason: body.reason };
  const d = body.details;
  let causes: Array<{ reason?: string; field?: string; message?: string }> = [];
  if (d?.causes?.length) {
    const seen = new Set<string>();
    for (const c of d.causes as any[]) {
      const x = { reason: c.reason, field: c.field, message: c.message };
      const k = JSON.stringify(x);
      if (!seen.has(k)) {
        seen.add(k);
        causes.push(x);
      }
    }
    causes = causes.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  if (typeof message === 'string' && causes.length > 1) {
    const m = /^([\s\S]* is invalid: )\[([\s\S]*)\]$/.exec(message);
    const items = [...new Set(causes.map((c) => `${c.field}: ${c.message}`))].sort();
    if (m && m[2].length === items.join(', ').length && items.every((it) => m[2].includes(it)))
      message = `${m[1]}[${items.join(', ')}]`;
  }
  out.message = message;
  if (d) {
    const det: Obs = {};
    for (const k of ['name', 'group', 'kind'] as const) if (d[k]) det[k] = d[k];
    if (causes.length) det.causes = causes;
    if (Object.keys(det).length) out.details = det;
  }
  return normDeep(out) as Obs;
}

export interface HttpOptions extends RawOptions {
  /** do not log this request (setup the case does not compare) */
  quiet?: boolean;
  /** how the answer's object is compared (default pickObject) */
  pick?: (body: any) => unknown;
}

export interface KubectlOptions {
  quiet?: boolean;
  /** normalise kubectl table ages */
  ages?: boolean;
  /** further normalisation of stdout+stderr */
  fix?: (s: string) => string;
  /** stdout is JSON (-o json): compare pickObject of it */
  json?: boolean;
}

// ---- the case context ---------------------------------------------------------------------

export class Ctx {
  readonly log: Obs[] = [];
  private readonly hooks: string[] = [];

  constructor(
    readonly t: Target,
    readonly hook: Hook,
    readonly ns: string,
  ) {}

  note(label: string, value: unknown): void {
    this.log.push({ note: label, value: normDeep(value) });
  }

  async kubectl(args: string[], input?: string, o: KubectlOptions = {}): Promise<RunResult> {
    const r = await this.t.kubectl(args, input);
    if (!o.quiet) {
      const fix = (s: string): string => {
        let x = normText(s);
        if (o.ages) x = normAges(x);
        return o.fix ? o.fix(x) : x;
      };
      let stdout: unknown = fix(r.stdout);
      if (o.json && r.code === 0) {
        try {
          stdout = pickObject(JSON.parse(r.stdout));
        } catch {
          /* keep the text */
        }
      }
      this.log.push({ kubectl: args.join(' '), exit: r.code, stdout, stderr: fix(r.stderr) });
    }
    return r;
  }

  /** kubectl in the case's namespace */
  k(args: string[], input?: string, o: KubectlOptions = {}): Promise<RunResult> {
    return this.kubectl(['-n', this.ns, ...args], input, o);
  }

  async http(method: string, path: string, body?: unknown, o: HttpOptions = {}): Promise<RawResponse> {
    const r = await this.t.raw(method, path, body, o);
    if (!o.quiet) this.log.push(httpObs(method, path, r, o.pick));
    return r;
  }

  /** Polls `probe` until it holds (or timeoutMs), then logs whether it did. */
  async eventually(label: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    let ok = false;
    for (;;) {
      ok = await probe();
      if (ok || Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    this.log.push({ eventually: label, value: ok });
    return ok;
  }

  async watch(
    path: string,
    until: (events: WatchEvent[]) => boolean,
    timeoutMs: number,
    pick: (e: WatchEvent) => unknown,
  ): Promise<WatchEvent[]> {
    const events = await this.t.watch(path, until, timeoutMs);
    this.log.push({ watch: normPath(path), events: events.map(pick) });
    return events;
  }

  /** Starts a watch now and returns a function that waits for its result (the events are logged then). */
  watchFrom(
    path: string,
    until: (events: WatchEvent[]) => boolean,
    timeoutMs: number,
    pick: (e: WatchEvent) => unknown,
  ): () => Promise<WatchEvent[]> {
    const p = this.t.watch(path, until, timeoutMs);
    return async () => {
      const events = await p;
      this.log.push({ watch: normPath(path), events: events.map(pick) });
      return events;
    };
  }

  /**
   * Registers the case's webhook (the target's test webhook, by URL), limited to the case's
   * namespace, plus configmaps CREATE so a dry-run probe shows when the server calls it.
   */
  async webhook(
    kind: 'Mutating' | 'Validating',
    rules: Array<Record<string, unknown>>,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const name = `${this.ns}.${kind.toLowerCase()}.conformance.test`;
    const plural = `${kind.toLowerCase()}webhookconfigurations`;
    const cfg = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: `${kind}WebhookConfiguration`,
      metadata: { name },
      webhooks: [
        {
          name,
          clientConfig: { url: `${this.hook.url}/${this.ns}`, caBundle: this.hook.caBundle },
          rules: [
            ...rules,
            { apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE'] },
          ],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': this.ns } },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 5,
          failurePolicy: 'Fail',
          ...extra,
        },
      ],
    };
    const r = await this.t.raw('POST', `/apis/admissionregistration.k8s.io/v1/${plural}`, cfg);
    if (r.status !== 201) throw new Error(`registering the webhook: ${r.status} ${r.text}`);
    this.hooks.push(`/apis/admissionregistration.k8s.io/v1/${plural}/${name}`);
    // the apiserver picks configurations up from an informer: wait until a probe reaches the webhook
    const end = Date.now() + 20_000;
    for (let i = 0; ; i++) {
      const before = this.hook.calls.length;
      await this.t.raw('POST', `/api/v1/namespaces/${this.ns}/configmaps?dryRun=All`, {
        metadata: { name: `probe-${i}` },
      });
      if (
        this.hook.calls.slice(before).some((c) => c.name === `probe-${i}` || c.object?.metadata?.name === `probe-${i}`)
      )
        break;
      if (Date.now() > end) throw new Error('the webhook configuration did not take effect in 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    this.hook.calls.length = 0;
  }

  /** The calls the webhook got since registration, probes left out. */
  hookCalls(): any[] {
    return this.hook.calls.filter(
      (c) =>
        !(
          c.resource?.resource === 'configmaps' && String(c.name ?? c.object?.metadata?.name ?? '').startsWith('probe-')
        ),
    );
  }

  async cleanup(): Promise<void> {
    for (const p of this.hooks.splice(0)) await this.t.raw('DELETE', p);
    this.hook.respond = () => ({ response: { allowed: true } });
    this.hook.calls.length = 0;
  }
}

export function httpObs(method: string, path: string, r: RawResponse, pick: (body: any) => unknown = pickObject): Obs {
  const out: Obs = { http: `${method} ${normPath(path)}`, status: r.status };
  const w = warningsOf(r.headers);
  if (w.length) out.warnings = w;
  if (r.body && typeof r.body === 'object' && r.body.kind === 'Status') Object.assign(out, statusObs(r.body));
  else if (r.body && typeof r.body === 'object') out.object = pick(r.body);
  else if (r.text) out.text = normText(r.text).slice(0, 500);
  return out;
}

// ---- verdicts -----------------------------------------------------------------------------

export type Verdict = 'match' | 'refused' | 'diverges';

export interface CaseResult {
  id: string;
  area: string;
  title: string;
  verdict: Verdict;
  /** for refused: the refusal message; for diverges: the first differing observation of each */
  detail?: string;
  sandbox: Obs[];
  kube: Obs[];
  ms: { sandbox: number; kube: number };
}

const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );

export function isRefusal(o: Obs): boolean {
  if (o.status === REFUSAL.code && o.reason === REFUSAL.reason && String(o.message ?? '').startsWith(REFUSAL.prefix))
    return true;
  if (typeof o.kubectl === 'string' && o.exit !== 0 && String(o.stderr).includes(REFUSAL.prefix)) return true;
  return false;
}

export function verdict(sandbox: Obs[], kube: Obs[]): { verdict: Verdict; detail?: string } {
  const n = Math.max(sandbox.length, kube.length);
  for (let i = 0; i < n; i++) {
    const a = sandbox[i];
    const b = kube[i];
    if (a !== undefined && b !== undefined && stable(a) === stable(b)) continue;
    if (a !== undefined && isRefusal(a)) return { verdict: 'refused', detail: String(a.message ?? a.stderr) };
    return {
      verdict: 'diverges',
      detail: `step ${i + 1}\n  sandbox: ${a === undefined ? '(none)' : stable(a)}\n  kube:    ${b === undefined ? '(none)' : stable(b)}`,
    };
  }
  return { verdict: 'match' };
}

/** Runs a case on one server. `suffix` makes its namespace unique on a server reused across runs. */
export async function runOn(c: Case, t: Target, hook: Hook, suffix = ''): Promise<{ log: Obs[]; ms: number }> {
  const t0 = Date.now();
  const ns = `c-${c.id}`.slice(0, 50).replace(/-+$/, '') + suffix;
  const ctx = new Ctx(t, hook, ns);
  try {
    const r = await t.raw('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    if (r.status !== 201) throw new Error(`creating namespace ${ns}: ${r.status} ${r.text}`);
    // kube-controller-manager fills a new namespace a moment later: start from the filled state
    for (const p of [
      `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`,
      `/api/v1/namespaces/${ns}/serviceaccounts/default`,
    ]) {
      const end = Date.now() + 30_000;
      while ((await t.raw('GET', p)).status !== 200) {
        if (Date.now() > end) throw new Error(`${p} did not appear in 30 s`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const limit = c.timeoutMs ?? 60_000;
    await Promise.race([
      c.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`case did not finish in ${limit} ms`)), limit);
      }),
    ]).finally(() => clearTimeout(timer));
  } catch (e) {
    ctx.log.push({ error: normText((e as Error).message) });
  } finally {
    await ctx.cleanup().catch(() => undefined);
  }
  return { log: ctx.log, ms: Date.now() - t0 };
}

export async function runCase(
  c: Case,
  sb: { t: Target; hook: Hook },
  kube: { t: Target; hook: Hook },
  suffix = '',
): Promise<CaseResult> {
  const [a, b] = await Promise.all([runOn(c, sb.t, sb.hook, suffix), runOn(c, kube.t, kube.hook, suffix)]);
  return {
    id: c.id,
    area: c.area,
    title: c.title,
    ...verdict(a.log, b.log),
    sandbox: a.log,
    kube: b.log,
    ms: { sandbox: a.ms, kube: b.ms },
  };
}

// ---- the report ---------------------------------------------------------------------------

export function score(results: CaseResult[]): {
  total: number;
  match: number;
  refused: number;
  diverges: number;
  pct: number;
} {
  const match = results.filter((r) => r.verdict === 'match').length;
  const refused = results.filter((r) => r.verdict === 'refused').length;
  const diverges = results.filter((r) => r.verdict === 'diverges').length;
  return { total: results.length, match, refused, diverges, pct: results.length ? (100 * match) / results.length : 0 };
}

export function table(results: CaseResult[]): string {
  const rows = results.map((r, i) => [
    String(i + 1),
    r.area,
    r.id,
    r.verdict === 'match' ? 'match' : r.verdict === 'refused' ? 'refused' : 'DIVERGES',
    r.verdict === 'refused'
      ? (r.detail ?? '').slice(0, 110)
      : r.verdict === 'diverges'
        ? (r.detail ?? '').split('\n')[0]
        : '',
  ]);
  const head = ['#', 'area', 'case', 'verdict', 'note'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd();
  const s = score(results);
  return [
    line(head),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
    '',
    `score: ${s.match}/${s.total} match (${s.pct.toFixed(1)}%), ${s.refused} refused by the sandbox, ${s.diverges} silent divergence(s)`,
  ].join('\n');
}
