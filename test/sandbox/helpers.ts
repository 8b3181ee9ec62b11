// Shared by the sandbox tests: the real kubectl, raw HTTPS requests with the cluster's token, and
// a tiny HTTPS admission webhook (Fastify) whose answers each test chooses.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { SandboxCluster } from './index.js';
import { makeServingCert, type ServingCert } from './tls.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** /usr/bin/kubectl with the sandbox's kubeconfig and a private discovery cache. */
export function kubectlFor(kubeconfig: string): (args: string[], input?: string) => Promise<RunResult> {
  const cache = mkdtempSync(join(tmpdir(), 'sandbox-kcache-'));
  return (args, input) =>
    new Promise((resolve) => {
      const child = execFile(
        '/usr/bin/kubectl',
        ['--kubeconfig', kubeconfig, '--cache-dir', cache, ...args],
        { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: cache }, timeout: 30_000 },
        (err, stdout, stderr) => {
          resolve({
            code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0,
            stdout,
            stderr,
          });
        },
      );
      if (input !== undefined) child.stdin?.end(input);
      else child.stdin?.end();
    });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

/** One HTTPS request to a sandbox cluster, trusting only its CA. */
export function raw(
  c: SandboxCluster,
  method: string,
  path: string,
  body?: unknown,
  opts: { contentType?: string; token?: string | null; accept?: string } = {},
): Promise<RawResponse> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
  if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? c.token}`;
  if (payload !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(`${c.url}${path}`, { method, ca: c.caPem, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* keep text */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Reads a watch stream until `until` says stop (or the timeout); returns the events seen. */
export function watchEvents(
  c: SandboxCluster,
  path: string,
  until: (events: Array<{ type: string; object: any }>) => boolean,
  timeoutMs = 10_000,
): Promise<Array<{ type: string; object: any }>> {
  return new Promise((resolve, reject) => {
    const events: Array<{ type: string; object: any }> = [];
    let buf = '';
    const req = request(
      `${c.url}${path}`,
      { method: 'GET', ca: c.caPem, headers: { Authorization: `Bearer ${c.token}`, Accept: 'application/json' } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim()) events.push(JSON.parse(line));
          }
          if (until(events)) {
            clearTimeout(timer);
            req.destroy();
            resolve(events);
          }
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve(events);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      resolve(events);
    }, timeoutMs);
    req.on('error', (e) => {
      if (!until(events)) reject(e);
    });
    req.end();
  });
}

export interface AdmissionCall {
  request: any;
}
export interface TestWebhook {
  url: string;
  caBundle: string;
  calls: AdmissionCall[];
  /** what the webhook answers (uid is filled in); a function returning `'hang'` never answers */
  respond: (req: any) => Record<string, unknown> | 'hang' | Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

let certs: Promise<ServingCert> | undefined;

/** The test webhooks' certificate also names the Service `hooks.webhooks.svc`, for Service-routed configurations. */
export const TEST_WEBHOOK_SERVICE = { namespace: 'webhooks', name: 'hooks' };

/** An HTTPS admission webhook on 127.0.0.1 (Fastify) that records every AdmissionReview. */
export async function startWebhook(respond: TestWebhook['respond'] = () => ({ allowed: true })): Promise<TestWebhook> {
  certs ??= makeServingCert('sandbox-test-webhook', [
    `DNS:${TEST_WEBHOOK_SERVICE.name}.${TEST_WEBHOOK_SERVICE.namespace}.svc`,
  ]);
  const tls = await certs;
  const app: FastifyInstance = Fastify({ https: { cert: tls.certPem, key: tls.keyPem } });
  const hook: TestWebhook = {
    url: '',
    caBundle: Buffer.from(tls.caPem).toString('base64'),
    calls: [],
    respond,
    close: async () => {
      await app.close();
    },
  };
  const hanging = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const h of hanging) h();
  });
  app.post('/*', async (req, reply) => {
    const review = req.body as { request: any };
    hook.calls.push({ request: review.request });
    const answer = await hook.respond(review.request);
    if (answer === 'hang') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 60_000);
        hanging.add(() => {
          clearTimeout(t);
          resolve();
        });
      });
      return reply.code(500).send();
    }
    return {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, ...answer },
    };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  hook.url = `https://127.0.0.1:${port}/admit`;
  return hook;
}

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
