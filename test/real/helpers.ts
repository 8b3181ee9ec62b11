// Shared by test/real/*.test.ts: the machine's kubectl and the plugin against a real control
// plane (test/kube), and kube-apiserver's own audit log as the record of which requests a user
// made and whether RBAC allowed them.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import type { Agent } from 'node:https';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { findBinaries, startKube, type Kube, type KubeOptions } from '../kube/index.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const KUBECTL = '/usr/bin/kubectl';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A command with its exit code, never rejecting (a timeout is code 124 with a note on stderr). */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd ?? REPO, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 << 20 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
        const code = !e ? 0 : e.killed ? 124 : typeof e.code === 'number' ? e.code : 1;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) + (e?.killed ? `\n(killed after ${opts.timeoutMs ?? 60_000} ms)` : ''),
          ms: Date.now() - t0,
        });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** kubectl with a kubeconfig (and optionally a context). */
export function kubectl(
  kubeconfig: string,
  args: string[],
  opts: { context?: string; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return run(
    KUBECTL,
    ['--kubeconfig', kubeconfig, ...(opts.context ? ['--context', opts.context] : []), ...args],
    opts,
  );
}

/** kubectl that must succeed: its stdout. */
export async function kubectlOk(
  kubeconfig: string,
  args: string[],
  opts: { context?: string; input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await kubectl(kubeconfig, args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Objects (JSON is YAML) applied through `kubectl apply -f -`. */
export function applyObjects(kubeconfig: string, context: string, objects: object[]): Promise<string> {
  return kubectlOk(kubeconfig, ['apply', '-f', '-'], {
    context,
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });
}

/** Every document of a YAML manifest file. */
export async function readManifest(path: string): Promise<Record<string, any>[]> {
  const text = await readFile(join(REPO, path), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter(Boolean);
}

/** startKube, timed: the figure the report gives for "time to start the real cluster". */
export async function startTimed(opts: KubeOptions): Promise<{ kube: Kube; startMs: number }> {
  findBinaries(); // fails first, naming `npx tsx test/kube/ensure.ts`
  const t0 = Date.now();
  const kube = await startKube({ timeoutMs: 120_000, ...opts });
  const startMs = Date.now() - t0;
  process.stdout.write(
    `[real] ${opts.clusters.length} cluster(s) ${opts.clusters.join(',')} ready in ${(startMs / 1000).toFixed(1)} s\n`,
  );
  return { kube, startMs };
}

// ---- audit: which requests a user made, and RBAC's decision on each ----------------------------

/**
 * kube-apiserver flags that write, to its log (stdout), one audit event per request of `users`
 * (Metadata level: no bodies). The policy file goes into `dir`.
 */
export async function auditArgs(dir: string, users: string[]): Promise<string[]> {
  const policy = join(dir, 'audit-policy.yaml');
  await writeFile(
    policy,
    JSON.stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [{ level: 'Metadata', users }, { level: 'None' }],
    }),
  );
  return [`--audit-policy-file=${policy}`, '--audit-log-path=-', '--audit-log-format=json'];
}

export interface AuditedRequest {
  user: string;
  verb: string;
  /** resource[/subresource] */
  resource: string;
  apiGroup: string;
  namespace?: string;
  name?: string;
  nonResourceURL?: string;
  code?: number;
  /** RBAC's decision: allow or forbid */
  decision?: string;
  dryRun: boolean;
  userAgent: string;
}

/** The audit events in a kube-apiserver log (test/kube's apiserverLog). */
export async function auditedRequests(logFile: string, user?: string): Promise<AuditedRequest[]> {
  const out: AuditedRequest[] = [];
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.startsWith('{') || !line.includes('"audit.k8s.io/v1"')) continue;
    let e: any;
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.kind !== 'Event' || (user && e.user?.username !== user)) continue;
    const o = e.objectRef ?? {};
    out.push({
      user: e.user?.username,
      verb: e.verb,
      resource: o.resource ? `${o.resource}${o.subresource ? `/${o.subresource}` : ''}` : '',
      apiGroup: o.apiGroup ?? '',
      namespace: o.namespace,
      name: o.name,
      nonResourceURL: o.resource ? undefined : e.requestURI,
      code: e.responseStatus?.code,
      decision: e.annotations?.['authorization.k8s.io/decision'],
      dryRun: /[?&]dryRun=All/.test(e.requestURI ?? ''),
      userAgent: e.userAgent ?? '',
    });
  }
  return out;
}

/** "group resource verb" keys, as RBAC rules are read. */
export const ruleKey = (group: string, resource: string, verb: string): string =>
  `${group || 'core'} ${resource} ${verb}`;

/** Every (group, resource, verb) a ClusterRole grants (no wildcards in ours). */
export function grants(role: { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }): Set<string> {
  const s = new Set<string>();
  for (const r of role.rules)
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) s.add(ruleKey(g, res, v));
  return s;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}

// ---- kube-apiserver by HTTPS, without kubectl: streams of writes --------------------------------

export interface ApiReply {
  status: number;
  text: string;
  message: string;
}

/** One call to the API server at `base` through `agent` (its client certificate); never rejects (a transport failure is status 0). */
export function apiCall(agent: Agent, base: string, method: string, path: string, body?: unknown): Promise<ApiReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      new URL(path, base),
      {
        method,
        agent,
        timeout: 30_000,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let message = '';
          try {
            message = String((JSON.parse(text) as { message?: string }).message ?? '');
          } catch {
            message = text.slice(0, 300);
          }
          resolve({ status: res.statusCode ?? 0, text, message });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', (e) => resolve({ status: 0, text: '', message: e.message }));
    req.end(payload);
  });
}

/** A TCP port free on 127.0.0.1 now, to register a webhook's URL before it listens there. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
