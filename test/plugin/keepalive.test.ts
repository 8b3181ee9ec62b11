// One cluster client keeps its connections alive (issue 13): a K8s client and every copy of it
// (withDeadline, withLimits) send their requests over one pool of keep-alive TLS connections, not
// one new connection (and TLS handshake) per request. A request cut off by its deadline, its
// --request-timeout or an interrupt destroys its own socket and leaves the pool working; a
// process whose calls are done exits with the connections still open.
// Against a local HTTPS server that counts TLS handshakes and answers the paths client-node asks
// for: GET /version and GET .../secrets/<name>, where the name picks the behaviour (ok: a chunked
// answer, as kube-apiserver sends a larger body; slow: the same after 60 ms; stall: headers and
// half the body, then nothing; hang: nothing at all).
// A pool opens INITIAL_SOCKETS_PER_CLUSTER connections for a burst of calls and grows (up to
// MAX_SOCKETS_PER_CLUSTER) only while calls keep waiting for one.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { makeServingCert, type ServingCert } from '../sandbox/tls.js';
import { KubeConfig } from '../../plugin/src/lib/client-node.js';
import { K8s } from '../../plugin/src/lib/k8s.js';
import { INITIAL_SOCKETS_PER_CLUSTER, MAX_SOCKETS_PER_CLUSTER } from '../../plugin/src/lib/client-node.js';
import { DeadlineError, InterruptedError, RequestTimeoutError } from '../../plugin/src/lib/errors.js';
import { REPO, tempDir } from './helpers.js';

const TOKEN = 'keepalive-token';
let tls: ServingCert;
let server: Server;
let url: string;
/** TLS handshakes the server completed (new connections); requests it was sent. */
let handshakes = 0;
let requests = 0;
const open = new Set<Socket>();
const pending = new Set<ServerResponse>();
/** The sockets each request came on, in order. */
let requestSockets: Socket[] = [];

function secretBody(name: string): string {
  // ~6 KiB: written in pieces, so the response is chunked (no Content-Length).
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'ns' },
    data: { filler: 'A'.repeat(6000), name: Buffer.from(name).toString('base64') },
  });
}

function writeChunked(res: ServerResponse, body: string, pieces = 4, end = true): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const size = Math.ceil(body.length / pieces);
  let i = 0;
  const next = () => {
    if (i >= body.length) {
      if (end) res.end();
      return;
    }
    res.write(body.slice(i, (i += size)));
    setImmediate(next);
  };
  next();
}

beforeAll(async () => {
  tls = await makeServingCert('mesh-cert-keepalive');
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    requests++;
    requestSockets.push(req.socket);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ kind: 'Status', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
      return;
    }
    const path = req.url ?? '';
    if (path.startsWith('/version')) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ major: '1', minor: '31', gitVersion: 'v1.31.0' }));
      return;
    }
    const m = /\/secrets\/([^/?]+)/.exec(path);
    const name = m?.[1] ?? '';
    if (name.startsWith('stall')) {
      const body = secretBody(name);
      pending.add(res);
      res.on('close', () => pending.delete(res));
      writeChunked(res, body.slice(0, body.length / 2), 2, false);
      return;
    }
    if (name.startsWith('hang')) {
      pending.add(res);
      res.on('close', () => pending.delete(res));
      return;
    }
    if (name.startsWith('ok')) {
      writeChunked(res, secretBody(name));
      return;
    }
    if (name.startsWith('slow')) {
      setTimeout(() => writeChunked(res, secretBody(name)), 60);
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: 'Status', message: `secrets "${name}" not found`, reason: 'NotFound', code: 404 }));
  });
  // Far longer than any test: the server never closes an idle connection itself.
  server.keepAliveTimeout = 120_000;
  server.on('secureConnection', () => handshakes++);
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const r of pending) r.destroy();
  for (const s of open) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  handshakes = 0;
  requests = 0;
  requestSockets = [];
});

function kubeConfig(opts: { clientCert?: { certPem: string; keyPem: string } } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: url, caData: Buffer.from(tls.caPem).toString('base64'), skipTLSVerify: false }],
    users: [
      {
        name: 'admin',
        token: TOKEN,
        ...(opts.clientCert
          ? {
              certData: Buffer.from(opts.clientCert.certPem).toString('base64'),
              keyData: Buffer.from(opts.clientCert.keyPem).toString('base64'),
            }
          : {}),
      },
    ],
    contexts: [{ name: 'local', cluster: 'local', user: 'admin' }],
    currentContext: 'local',
  });
  return kc;
}

const client = (opts: Parameters<typeof K8s.forKubeConfig>[2] = {}) => K8s.forKubeConfig('local', kubeConfig(), opts);
const until = async (cond: () => boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('keep-alive connections of one cluster client', () => {
  it('20 calls of one client and its copies go over 1 TLS connection, not 20', async () => {
    const k = await client();
    for (let i = 0; i < 20; i++) {
      const view =
        i % 4 === 0
          ? k
          : i % 4 === 1
            ? k.withDeadline(Date.now() + 60_000, '--timeout 1m')
            : i % 4 === 2
              ? k.withLimits({ requestTimeoutMs: 10_000 })
              : k;
      if (i % 5 === 4) expect(await view.version()).toBe('v1.31.0');
      else expect((await view.getSecret('ns', `ok-${i}`)).metadata.name).toBe(`ok-${i}`);
    }
    expect(requests).toBe(20);
    expect(handshakes).toBe(1);
    expect(new Set(requestSockets).size).toBe(1);
    // A not-found answer (an ApiError) keeps the connection too.
    expect(await k.findSecret('ns', 'missing')).toBeUndefined();
    expect(handshakes).toBe(1);
    k.close();
  });

  it('a separate client of the same context has its own pool', async () => {
    const a = await client();
    const b = await client();
    for (let i = 0; i < 5; i++) {
      await a.getSecret('ns', 'ok-a');
      await b.getSecret('ns', 'ok-b');
    }
    expect(handshakes).toBe(2);
    a.close();
    b.close();
  });

  it(`a burst of concurrent calls shares ${INITIAL_SOCKETS_PER_CLUSTER} connections and reads every chunked body whole`, async () => {
    const k = await client();
    const names = Array.from({ length: 80 }, (_, i) => `ok-c${i}`);
    const got = await Promise.all(names.map((n) => k.getSecret('ns', n)));
    expect(got.map((s) => s.metadata.name)).toEqual(names);
    expect(got.every((s) => s.data?.filler?.length === 6000)).toBe(true);
    expect(handshakes).toBe(INITIAL_SOCKETS_PER_CLUSTER);
    // And again, on the warm pool (which may have grown a little meanwhile).
    await Promise.all(names.map((n) => k.getSecret('ns', n)));
    expect(handshakes).toBeLessThanOrEqual(MAX_SOCKETS_PER_CLUSTER);
    k.close();
  });

  it(`grows while calls keep waiting for a connection, up to ${MAX_SOCKETS_PER_CLUSTER}`, async () => {
    const k = await client();
    // A call every 5 ms, each answered after 60 ms: about 12 in flight at a time.
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      calls.push(k.getSecret('ns', `slow-${i}`));
      await new Promise((r) => setTimeout(r, 5));
    }
    const got = await Promise.all(calls);
    expect(got).toHaveLength(120);
    expect(handshakes).toBeGreaterThan(INITIAL_SOCKETS_PER_CLUSTER);
    expect(handshakes).toBeLessThanOrEqual(MAX_SOCKETS_PER_CLUSTER);
    k.close();
  });

  it('a call cut off in the middle of its body does not break the next one (its socket is destroyed, not pooled)', async () => {
    const k = await client();
    await k.getSecret('ns', 'ok-warm');
    expect(handshakes).toBe(1);
    // The pooled connection carries the stalled call: cut off by --request-timeout.
    await expect(k.withLimits({ requestTimeoutMs: 300 }).getSecret('ns', 'stall-1')).rejects.toBeInstanceOf(
      RequestTimeoutError,
    );
    await until(() => pending.size === 0); // the server saw that connection closed
    for (let i = 0; i < 10; i++) expect((await k.getSecret('ns', `ok-after-${i}`)).metadata.name).toBe(`ok-after-${i}`);
    // One new connection for the ten calls after the cut: the dead one was not handed out again.
    expect(handshakes).toBe(2);
    expect(new Set(requestSockets.slice(2)).size).toBe(1);
    k.close();
  });

  it('a call that never gets an answer, one cut by the deadline and one interrupted leave the pool working', async () => {
    const k = await client();
    await expect(k.withLimits({ requestTimeoutMs: 200 }).getSecret('ns', 'hang-1')).rejects.toBeInstanceOf(
      RequestTimeoutError,
    );
    expect((await k.getSecret('ns', 'ok-1')).metadata.name).toBe('ok-1');
    await expect(k.withDeadline(Date.now() + 200, '--timeout 200ms').getSecret('ns', 'stall-2')).rejects.toBeInstanceOf(
      DeadlineError,
    );
    expect((await k.getSecret('ns', 'ok-2')).metadata.name).toBe('ok-2');
    const ctl = new AbortController();
    const interrupted = k.withLimits({ signal: ctl.signal }).getSecret('ns', 'hang-2');
    setTimeout(() => ctl.abort(), 100);
    await expect(interrupted).rejects.toBeInstanceOf(InterruptedError);
    expect((await k.getSecret('ns', 'ok-3')).metadata.name).toBe('ok-3');
    await until(() => pending.size === 0);
    // Each cut-off call took its connection down with it; the good calls reused what was left.
    expect(handshakes).toBeLessThanOrEqual(4);
    k.close();
  });

  it('a call cut off while waiting for a free connection (all busy) does not leak one', async () => {
    const k = await client();
    const busy = Array.from({ length: INITIAL_SOCKETS_PER_CLUSTER }, (_, i) =>
      k
        .withLimits({ requestTimeoutMs: 1500 })
        .getSecret('ns', `hang-q${i}`)
        .catch((e: unknown) => e),
    );
    await until(() => pending.size === INITIAL_SOCKETS_PER_CLUSTER);
    // No socket is free: this one waits in the agent's queue and is cut off there.
    await expect(k.withLimits({ requestTimeoutMs: 300 }).getSecret('ns', 'ok-queued')).rejects.toBeInstanceOf(
      RequestTimeoutError,
    );
    for (const e of await Promise.all(busy)) expect(e).toBeInstanceOf(RequestTimeoutError);
    await until(() => pending.size === 0);
    const before = handshakes;
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => k.getSecret('ns', `ok-q${i}`)));
    expect(got).toHaveLength(20);
    expect(handshakes - before).toBeLessThanOrEqual(MAX_SOCKETS_PER_CLUSTER);
    k.close();
  });

  it('a new client certificate (an exec credential plugin rotating it) gets a new pool', async () => {
    // The server does not ask for client certificates: only the pooling is under test.
    const certA = await makeServingCert('client-a');
    const certB = await makeServingCert('client-b');
    const kc = kubeConfig({ clientCert: { certPem: certA.certPem, keyPem: certA.keyPem } });
    const k = await K8s.forKubeConfig('local', kc);
    await k.getSecret('ns', 'ok-1');
    await k.getSecret('ns', 'ok-2');
    expect(handshakes).toBe(1);
    const user = kc.getCurrentUser() as { certData?: string; keyData?: string };
    user.certData = Buffer.from(certB.certPem).toString('base64');
    user.keyData = Buffer.from(certB.keyPem).toString('base64');
    await k.getSecret('ns', 'ok-3');
    await k.getSecret('ns', 'ok-4');
    expect(handshakes).toBe(2);
    k.close();
  });

  it('a process whose calls are done exits promptly with its connections still pooled', async () => {
    const dir = tempDir('mesh-cert-keepalive-');
    const script = join(dir, 'client.mts');
    writeFileSync(
      script,
      [
        `import { KubeConfig } from ${JSON.stringify(join(REPO, 'plugin/src/lib/client-node.ts'))};`,
        `import { K8s } from ${JSON.stringify(join(REPO, 'plugin/src/lib/k8s.ts'))};`,
        'const kc = new KubeConfig();',
        `kc.loadFromOptions({ clusters: [{ name: 'l', server: process.env.URL!, caData: process.env.CA!, skipTLSVerify: false }], users: [{ name: 'u', token: ${JSON.stringify(TOKEN)} }], contexts: [{ name: 'l', cluster: 'l', user: 'u' }], currentContext: 'l' });`,
        "const k = await K8s.forKubeConfig('l', kc);",
        "await Promise.all([1, 2, 3, 4].map((i) => k.getSecret('ns', `ok-${i}`)));",
        'await k.version();',
        "process.stdout.write('done\\n');",
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO,
      env: { ...process.env, URL: url, CA: Buffer.from(tls.caPem).toString('base64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let doneAt = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('done')) doneAt = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(code, stderr).toBe(0);
    expect(doneAt).toBeGreaterThan(0);
    const lingered = Date.now() - doneAt;
    // The server keeps idle connections for 2 minutes: only unreferenced sockets let it go now.
    expect(lingered).toBeLessThan(3000);
    expect(handshakes).toBeGreaterThanOrEqual(1);
    expect(handshakes).toBeLessThanOrEqual(4);
  });
});
