// The two servers every case runs against: the sandbox (test/sandbox) and the real control plane
// (test/kube), one cluster each, named "conf", with manifests/crds installed. A Target speaks to
// its server the two ways clients do: the machine's kubectl (a private discovery cache each) and
// raw HTTPS (a bearer token for the sandbox, the admin's client certificate for kube).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export type TargetKind = 'sandbox' | 'kube';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RawOptions {
  contentType?: string;
  accept?: string;
  /** extra request headers (e.g. Impersonate-User) */
  headers?: Record<string, string>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

export interface WatchEvent {
  type: string;
  object: any;
}

export interface Target {
  kind: TargetKind;
  kubeconfigPath: string;
  url: string;
  kubectl(args: string[], input?: string): Promise<RunResult>;
  raw(method: string, path: string, body?: unknown, opts?: RawOptions): Promise<RawResponse>;
  /** Reads a watch stream until `until` holds or timeoutMs passes. */
  watch(path: string, until: (events: WatchEvent[]) => boolean, timeoutMs: number): Promise<WatchEvent[]>;
  stop(): Promise<void>;
}

export const CLUSTER = 'conf';
const KUBECTL = '/usr/bin/kubectl';

interface Auth {
  caPem: string;
  token?: string;
  certPem?: string;
  keyPem?: string;
}

function tlsOptions(a: Auth): RequestOptions {
  return { ca: a.caPem, ...(a.certPem ? { cert: a.certPem, key: a.keyPem } : {}) };
}

function authHeaders(a: Auth): Record<string, string> {
  return a.token ? { Authorization: `Bearer ${a.token}` } : {};
}

export function makeTarget(
  kind: TargetKind,
  kubeconfigPath: string,
  url: string,
  auth: Auth,
  stop: () => Promise<void>,
): Target {
  const cache = mkdtempSync(join(tmpdir(), `conformance-${kind}-`));
  const kubectl = (args: string[], input?: string): Promise<RunResult> =>
    new Promise((resolve) => {
      const child = execFile(
        KUBECTL,
        ['--kubeconfig', kubeconfigPath, '--context', CLUSTER, '--cache-dir', join(cache, 'kube'), ...args],
        { env: { ...process.env, KUBECONFIG: kubeconfigPath, HOME: cache }, timeout: 60_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
          resolve({
            code: !e ? 0 : e.killed ? 124 : typeof e.code === 'number' ? e.code : 1,
            stdout: String(stdout),
            stderr: String(stderr),
          });
        },
      );
      child.stdin?.end(input ?? '');
    });
  const raw = (method: string, path: string, body?: unknown, opts: RawOptions = {}): Promise<RawResponse> => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = {
      Accept: opts.accept ?? 'application/json',
      ...authHeaders(auth),
      ...(opts.headers ?? {}),
    };
    if (payload !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      // Node sends a DELETE body neither chunked nor with a length unless told its length
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = request(`${url}${path}`, { method, headers, ...tlsOptions(auth), timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* keep the text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  };
  const watch = (path: string, until: (events: WatchEvent[]) => boolean, timeoutMs: number): Promise<WatchEvent[]> =>
    new Promise((resolve, reject) => {
      const events: WatchEvent[] = [];
      let buf = '';
      let done = false;
      const finish = (): void => {
        if (!done) {
          done = true;
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      };
      const req = request(
        `${url}${path}`,
        { method: 'GET', headers: { Accept: 'application/json', ...authHeaders(auth) }, ...tlsOptions(auth) },
        (res) => {
          if (res.statusCode !== 200) events.push({ type: `HTTP ${res.statusCode}`, object: null });
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            buf += d;
            let i: number;
            while ((i = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (!line.trim()) continue;
              try {
                events.push(JSON.parse(line) as WatchEvent);
              } catch {
                events.push({ type: 'UNPARSED', object: line.trim() });
              }
            }
            if (until(events)) finish();
          });
          res.on('end', finish);
          res.on('error', finish);
        },
      );
      const timer = setTimeout(finish, timeoutMs);
      req.on('error', (e) => {
        if (!done) {
          done = true;
          clearTimeout(timer);
          reject(e);
        }
      });
      req.end();
    });
  return { kind, kubeconfigPath, url, kubectl, raw, watch, stop };
}

export async function startSandboxTarget(): Promise<Target> {
  const { startSandbox } = await import('../sandbox/index.js');
  const sb = await startSandbox({ clusters: [CLUSTER] });
  const c = sb.clusters.get(CLUSTER)!;
  return makeTarget('sandbox', sb.kubeconfigPath, c.url, { caPem: c.caPem, token: c.token }, () => sb.stop());
}

export async function startKubeTarget(): Promise<Target> {
  const { startKube } = await import('../kube/index.js');
  const kube = await startKube({ clusters: [CLUSTER] });
  const c = kube.clusters.get(CLUSTER)!;
  return makeTarget('kube', kube.kubeconfigPath, c.url, { caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem }, () =>
    kube.stop(),
  );
}

/**
 * A running server given by a kubeconfig whose context "conf" exists (for quick local runs
 * against `npm run kube -- --clusters conf` or `npm run sandbox -- --clusters conf`).
 */
export function attachTarget(kind: TargetKind, kubeconfigPath: string): Target {
  const cfg = parseYaml(readFileSync(kubeconfigPath, 'utf8')) as {
    contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
    clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{
      name: string;
      user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string };
    }>;
  };
  const ctx = cfg.contexts.find((c) => c.name === CLUSTER);
  if (!ctx) throw new Error(`${kubeconfigPath}: no context "${CLUSTER}"`);
  const cl = cfg.clusters.find((c) => c.name === ctx.context.cluster)!.cluster;
  const u = cfg.users.find((x) => x.name === ctx.context.user)!.user;
  const dec = (s?: string): string | undefined => (s ? Buffer.from(s, 'base64').toString('utf8') : undefined);
  return makeTarget(
    kind,
    kubeconfigPath,
    cl.server,
    {
      caPem: dec(cl['certificate-authority-data'])!,
      token: u.token,
      certPem: dec(u['client-certificate-data']),
      keyPem: dec(u['client-key-data']),
    },
    async () => undefined,
  );
}
