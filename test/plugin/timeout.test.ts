// --timeout bounds every API call (issue 13, item 4): a call the server stalls, a response that
// stops in the middle of its body, and a connection that never answers all end the command
// within --timeout + 2 s, exit 124, naming the cluster and the call. Without a command deadline
// a single call is still bounded (--request-timeout, default 30 s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { makeServingCert } from '../sandbox/tls.js';
import { kubeconfigYaml } from '../sandbox/kubeconfig.js';
import { buildPlugin, kubectl, kubectlMeshCert, tempDir, type RunResult } from './helpers.js';
import { loadKubeconfig, kubeConfigFor } from '../../plugin/src/lib/kubeconfig.js';
import { K8s } from '../../plugin/src/lib/k8s.js';
import { DeadlineError, RequestTimeoutError, UnreachableError } from '../../plugin/src/lib/errors.js';
import { K8sClusterApi } from '../../plugin/src/engine/k8s-cluster-api.js';
import { isTransient, retrying } from '../../plugin/src/engine/cluster-api.js';
import { limitsOf } from '../../plugin/src/lib/base.js';

const IC_TYPE = {
  group: 'certificates.mesh.gloo.solo.io',
  version: 'v1',
  plural: 'issuedcertificates',
  kind: 'IssuedCertificate',
};

let sandbox: Sandbox;
let kubeconfig: string;
let proxy: HttpsServer;
let dead: NetServer;
const deadSockets = new Set<Socket>();
const stalled = new Set<import('node:http').ServerResponse>();
/** Which requests the proxy answers with headers and half a body, then nothing. */
let stallMatch: ((method: string, path: string) => boolean) | undefined;
let proxyClosedStalls = 0;

/**
 * A TLS-terminating proxy in front of the sandbox cluster c2 ("c2-proxied" in the kubeconfig):
 * requests pass through, except those stallMatch picks, which get the real status and headers
 * and the first half of the real body, then nothing (the connection stays open).
 */
async function startProxy(target: {
  url: string;
  caPem: string;
}): Promise<{ server: HttpsServer; url: string; caPem: string }> {
  const tls = await makeServingCert('mesh-cert-stall-proxy');
  const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const up = new URL(req.url ?? '/', target.url);
    const fwd = httpsRequest(
      up,
      { method: req.method, headers: { ...req.headers, host: up.host }, ca: target.caPem },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers = { ...upRes.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(body.length);
          res.writeHead(upRes.statusCode ?? 502, headers);
          if (stallMatch?.(req.method ?? 'GET', req.url ?? '')) {
            res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
            stalled.add(res);
            res.on('close', () => {
              proxyClosedStalls++;
              stalled.delete(res);
            });
            return; // never end: the client has headers and half a body
          }
          res.end(body);
        });
      },
    );
    fwd.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { server, url: `https://127.0.0.1:${port}`, caPem: tls.caPem };
}

/** A server that accepts TCP connections and never says a word (no TLS handshake either). */
async function startDeadServer(): Promise<{ server: NetServer; url: string }> {
  const server = createNetServer((s) => {
    deadSockets.add(s);
    s.on('close', () => deadSockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `https://127.0.0.1:${(server.address() as { port: number }).port}` };
}

async function mc(args: string[], timeoutMs = 25_000): Promise<RunResult & { ms: number }> {
  const t0 = Date.now();
  const r = await kubectlMeshCert(args, { env: { KUBECONFIG: kubeconfig }, timeoutMs });
  return { ...r, ms: Date.now() - t0 };
}

const issueArgs = (name: string, clusters: string, timeout: string) => [
  'issue',
  name,
  '--mgmt-context',
  'mgmt',
  '--managed-clusters',
  clusters,
  '-n',
  'istio-system',
  '--host',
  `spiffe://mesh.local/ns/istio-system/sa/${name}`,
  '--signing-secret',
  'gloo-mesh/root-ca',
  '--key-size',
  '2048',
  '--issued-secret',
  `istio-system/${name}-cacerts`,
  '--timeout',
  timeout,
  '-o',
  'json',
];

beforeAll(async () => {
  buildPlugin();
  sandbox = await startSandbox({ clusters: ['mgmt', 'c1', 'c2'] });
  const c2 = sandbox.clusters.get('c2')!;
  const p = await startProxy(c2);
  proxy = p.server;
  const d = await startDeadServer();
  dead = d.server;
  const entries = [...sandbox.clusters.values()].map((c) => ({
    name: c.name,
    url: c.url,
    caPem: c.caPem,
    token: c.token,
  }));
  entries.push({ name: 'c2-proxied', url: p.url, caPem: p.caPem, token: c2.token });
  entries.push({ name: 'dead', url: d.url, caPem: sandbox.caPem, token: 'none' });
  kubeconfig = join(tempDir('mesh-cert-timeout-'), 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(entries), { mode: 0o600 });
  for (const c of ['mgmt', 'c1', 'c2']) {
    await kubectl(kubeconfig, c, ['create', 'namespace', 'istio-system']);
    await kubectl(kubeconfig, c, ['create', 'namespace', 'gloo-mesh']);
  }
  const r = await mc(['root', 'create', 'gloo-mesh/root-ca', '--mgmt-context', 'mgmt', '--key-size', '2048']);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const res of stalled) res.destroy();
  for (const s of deadSockets) s.destroy();
  proxy?.closeAllConnections?.();
  await Promise.all([
    new Promise((r) => (proxy ? proxy.close(r) : r(undefined))),
    new Promise((r) => (dead ? dead.close(r) : r(undefined))),
  ]);
  for (const c of sandbox?.clusters.values() ?? []) c.clearFaults();
  await sandbox?.stop();
});

describe('issue --timeout bounds every API call', () => {
  it('a call the server stalls for 45 s: ends within --timeout + 2 s, exit 124, naming the cluster and the call', async () => {
    const c2 = sandbox.clusters.get('c2')!;
    c2.setFaults([{ delayMs: 45_000, fraction: 1, match: { method: 'POST', pathIncludes: '/certificaterequests' } }]);
    let r: RunResult & { ms: number };
    try {
      r = await mc(issueArgs('stalled-ca', 'c1,c2', '5s'));
    } finally {
      c2.clearFaults();
    }
    expect(r.ms, r.stderr).toBeLessThan(7_000);
    expect(r.code, r.stderr).toBe(124);
    expect(r.stderr).toMatch(/c2/);
    expect(r.stderr).toMatch(
      /create CertificateRequest istio-system\/stalled-ca on cluster "c2" did not answer within --timeout 5s/,
    );
    // the cluster that answered is done all the same
    const items = JSON.parse(r.stdout).items as { cluster: string; state: string; outcome: string }[];
    expect(items.find((i) => i.cluster === 'c1')?.state).toBe('FINISHED');
    expect(items.find((i) => i.cluster === 'c2')?.outcome).toBe('timeout');
  }, 60_000);

  it('a response that stops in the middle of its body: same bound, exit 124, naming the cluster', async () => {
    stallMatch = (method, path) => method === 'GET' && path.includes('/issuedcertificates/midbody-ca');
    const closedBefore = proxyClosedStalls;
    let r: RunResult & { ms: number };
    try {
      r = await mc(issueArgs('midbody-ca', 'c1,c2-proxied', '5s'));
    } finally {
      stallMatch = undefined;
    }
    expect(r.ms, r.stderr).toBeLessThan(7_000);
    expect(r.code, r.stderr).toBe(124);
    expect(r.stderr).toMatch(
      /get IssuedCertificate istio-system\/midbody-ca on cluster "c2-proxied" did not answer within --timeout 5s/,
    );
    const items = JSON.parse(r.stdout).items as { cluster: string; state: string }[];
    expect(items.find((i) => i.cluster === 'c1')?.state).toBe('FINISHED');
    // the client hung up the stalled response (the process exited, or the abort closed it)
    await new Promise((res) => setTimeout(res, 200));
    expect(proxyClosedStalls).toBeGreaterThan(closedBefore);
  }, 60_000);

  it('a connection that never answers (no TLS handshake): same bound, exit 124', async () => {
    const r = await mc(issueArgs('dead-ca', 'dead', '3s'));
    expect(r.ms, r.stderr).toBeLessThan(5_000);
    expect(r.code, r.stderr).toBe(124);
    expect(r.stderr).toMatch(/on cluster "dead" did not answer within --timeout 3s/);
  }, 60_000);
});

describe('a single call is bounded without a command deadline', () => {
  it('status: --request-timeout ends a call to a silent cluster; the cluster is UNREACHABLE, the others are shown', async () => {
    const r = await mc([
      'status',
      '--mgmt-context',
      'mgmt',
      '--managed-clusters',
      'c1,dead',
      '--request-timeout',
      '1500ms',
      '-o',
      'json',
    ]);
    expect(r.ms, r.stderr).toBeLessThan(5_000);
    expect(r.code).toBe(1);
    // -o json is a List of real objects: the unreachable cluster is named on stderr, and has no items
    expect(r.stderr).toMatch(
      /problem: cluster "dead" is unreachable: .* did not answer within --request-timeout 1500ms/,
    );
    const items = JSON.parse(r.stdout).items as { metadata?: { annotations?: Record<string, string> } }[];
    expect(items.some((o) => o.metadata?.annotations?.['mesh-cert.solo.io/cluster'] === 'dead')).toBe(false);
  }, 30_000);

  it('rejects a bad --request-timeout naming the flag', async () => {
    const r = await mc(['status', '--mgmt-context', 'mgmt', '--request-timeout', 'soon']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--request-timeout expects a duration/);
  });
});

describe('which --timeout bounds what', () => {
  it('issue (waitFlags): the whole command; rotate (per step): each call; --request-timeout: each call', async () => {
    const [{ default: Issue }, { default: Rotate }, { default: Status }] = await Promise.all([
      import('../../plugin/src/commands/issue.js'),
      import('../../plugin/src/commands/rotate.js'),
      import('../../plugin/src/commands/status.js'),
    ]);
    expect(limitsOf(Issue.flags, { timeout: '5s' }, 1_000)).toEqual({ deadline: 6_000, deadlineFlag: '--timeout 5s' });
    expect(limitsOf(Rotate.flags, { timeout: '10s' }, 1_000)).toEqual({
      requestTimeoutMs: 10_000,
      requestTimeoutFlag: '--timeout 10s',
    });
    expect(limitsOf(Rotate.flags, { timeout: '5m' }, 1_000)).toEqual({});
    expect(limitsOf(Status.flags, { 'request-timeout': '0' })).toEqual({
      requestTimeoutMs: 0,
      requestTimeoutFlag: '--request-timeout 0',
    });
    expect(() => limitsOf(Issue.flags, { timeout: 'later' })).toThrow(/--timeout expects a duration/);
  });
});

describe('K8s client limits (library)', () => {
  async function client(context: string, opts: Parameters<typeof K8s.forKubeConfig>[2] = {}): Promise<K8s> {
    return K8s.forKubeConfig(context, await kubeConfigFor(await loadKubeconfig(kubeconfig), context), opts);
  }

  it('a deadline cuts off a stalled call (headers sent, body stalled) and names the call and the cluster', async () => {
    stallMatch = (method, path) => method === 'GET' && path.includes('/issuedcertificates/lib-stall');
    try {
      await kubectl(
        kubeconfig,
        'c2',
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'certificates.mesh.gloo.solo.io/v1',
          kind: 'IssuedCertificate',
          metadata: { name: 'lib-stall', namespace: 'istio-system' },
          spec: {
            hosts: ['spiffe://x/y'],
            glooMeshCa: { signingCertificateSecret: { name: 'root-ca', namespace: 'gloo-mesh' } },
          },
        }),
      );
      const k8s = (await client('c2-proxied')).withDeadline(Date.now() + 800, '--timeout 800ms');
      const t0 = Date.now();
      const err = await k8s.get(IC_TYPE, 'istio-system', 'lib-stall').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - t0).toBeLessThan(1_500);
      expect(err).toBeInstanceOf(DeadlineError);
      expect((err as DeadlineError).exitCode).toBe(124);
      expect((err as DeadlineError).message).toBe(
        'get IssuedCertificate istio-system/lib-stall on cluster "c2-proxied" did not answer within --timeout 800ms',
      );
      // past the deadline nothing more is sent, and retrying() does not loop on it
      const t1 = Date.now();
      const again = await retrying(Date.now() + 10_000, () => k8s.get(IC_TYPE, 'istio-system', 'lib-stall')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(again).toBeInstanceOf(DeadlineError);
      // the message still names the call that did not answer
      expect((again as Error).message).toBe(
        'get IssuedCertificate istio-system/lib-stall on cluster "c2-proxied" did not answer within --timeout 800ms; get IssuedCertificate istio-system/lib-stall was not sent',
      );
      expect(Date.now() - t1).toBeLessThan(100);
      expect(isTransient(again)).toBe(true); // "no answer": never written as FAILED
    } finally {
      stallMatch = undefined;
    }
  });

  it('the per-request timeout ends a call to a silent server as an unreachable cluster', async () => {
    const k8s = await client('dead', { requestTimeoutMs: 400 });
    const t0 = Date.now();
    const err = await k8s.getSecret('default', 'x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(1_200);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(
      /^cluster "dead" is unreachable: get Secret default\/x did not answer within 400ms/,
    );
  });

  it('ClusterApi.withDeadline bounds the engine view; the earlier deadline wins', async () => {
    const api = new K8sClusterApi(
      await client('dead', { requestTimeoutMs: 20_000, deadline: Date.now() + 120_000, deadlineFlag: '--timeout 2m' }),
    );
    const bounded = api.withDeadline(Date.now() + 300, 'the step deadline');
    expect(bounded.withDeadline(Date.now() + 60_000)).toBe(bounded);
    const t0 = Date.now();
    const err = await bounded.getSecret('istio-system', 'cacerts').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(DeadlineError);
    expect((err as Error).message).toBe(
      'get Secret istio-system/cacerts on cluster "dead" did not answer within the step deadline',
    );
  });

  it('a healthy call within the limits is unaffected (merge patch content type kept)', async () => {
    const k8s = await client('c1', { deadline: Date.now() + 10_000, requestTimeoutMs: 5_000 });
    await k8s.createSecret('gloo-mesh', { metadata: { name: 'lib-ok', namespace: 'gloo-mesh' }, data: { a: 'YQ==' } });
    const s = await k8s.mergePatchSecret('gloo-mesh', 'lib-ok', { metadata: { labels: { x: 'y' } } });
    expect(s.metadata.labels?.x).toBe('y');
  });
});
