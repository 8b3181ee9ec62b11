// The CertificateRotation cache's list+watch (webhook/src/rotation-cache.ts, over kube-api.ts):
//   - against a scripted API server, what a real one does rarely or never on demand: a bookmark
//     moving the resourceVersion, 410 Gone, a 403 whose Status message is long, a watch that
//     keeps failing, a refused list;
//   - against the real kube-apiserver, RBAC that allows list but not watch (the sandbox
//     authorizes every request, so there is nothing to refuse there).
// The list-and-follow path and the restart of a sandbox cluster are in sandbox.test.ts.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { ClusterConfigError, startRotationInformer, type RotationCache } from '../../webhook/src/rotation-cache.js';
import { MAX_STATUS_MESSAGE_CHARS } from '../../webhook/src/kube-api.js';
import { certificateRotation } from './fixtures.js';
import { startHarness, tmp } from './helpers.js';

const PATH = '/apis/certificates.mesh.gloo.solo.io/v1/certificaterotations';
const FORBIDDEN_WATCH =
  'certificaterotations.certificates.mesh.gloo.solo.io is forbidden: User "system:serviceaccount:mesh-cert-system:mesh-cert-webhook" cannot watch resource "certificaterotations" in API group "certificates.mesh.gloo.solo.io" at the cluster scope';

const status = (code: number, reason: string, message: string): Record<string, unknown> => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});
const rotation = (name: string, rv: string): Record<string, unknown> => {
  const r = certificateRotation(name, `mesh-${name}`);
  return { ...r, metadata: { ...(r.metadata as object), resourceVersion: rv } };
};
const names = (c: RotationCache): string[] =>
  c
    .list()
    .map((r) => String((r as { metadata: { name: string } }).metadata.name))
    .sort();

interface Scripted {
  server: string;
  kubeconfig: string;
  lists: URL[];
  watches: URL[];
  list: (u: URL) => { code: number; body: unknown };
  /** Answers the watch: write events with `event`, end it, or leave it open. */
  watch: (u: URL, res: ServerResponse) => void;
  close(): Promise<void>;
}

const event = (res: ServerResponse, type: string, object: unknown): void => {
  if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/json' });
  res.write(`${JSON.stringify({ type, object })}\n`);
};
const answer = (res: ServerResponse, code: number, body: unknown): void => {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** An API server whose list and watch answers each test scripts; plain HTTP, a bearer token. */
async function scriptedApi(): Promise<Scripted> {
  const open = new Set<ServerResponse>();
  const s: Scripted = {
    server: '',
    kubeconfig: '',
    lists: [],
    watches: [],
    list: () => ({
      code: 200,
      body: { kind: 'CertificateRotationList', metadata: { resourceVersion: '1' }, items: [] },
    }),
    watch: (_u, res) => void res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders(),
    close: async () => {
      for (const r of open) r.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://api');
    if (u.pathname !== PATH || req.headers.authorization !== 'Bearer scripted-token')
      return answer(res, 404, status(404, 'NotFound', `${u.pathname}: not found`));
    if (u.searchParams.get('watch') === '1') {
      s.watches.push(u);
      open.add(res);
      res.on('close', () => open.delete(res));
      s.watch(u, res);
      return;
    }
    s.lists.push(u);
    const r = s.list(u);
    answer(res, r.code, r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  s.server = `http://127.0.0.1:${port}`;
  s.kubeconfig = join(tmp('rotation-cache-'), 'kubeconfig');
  writeFileSync(
    s.kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'scripted',
      clusters: [{ name: 'scripted', cluster: { server: s.server } }],
      users: [{ name: 'scripted', user: { token: 'scripted-token' } }],
      contexts: [{ name: 'scripted', context: { cluster: 'scripted', user: 'scripted' } }],
    }),
  );
  return s;
}

describe('CertificateRotation cache against a scripted API server', () => {
  let api: Scripted;
  let cache: RotationCache | undefined;
  const errors: string[] = [];
  beforeAll(async () => {
    api = await scriptedApi();
  });
  afterEach(async () => {
    await cache?.stop();
    cache = undefined;
    errors.length = 0;
    api.lists.length = 0;
    api.watches.length = 0;
  });
  afterAll(async () => {
    await api.close();
  });
  const start = async (extra: { staleAfterMs?: number } = {}): Promise<RotationCache> =>
    (cache = await startRotationInformer({
      kubeconfig: api.kubeconfig,
      onError: (m) => errors.push(m),
      retryMs: 50,
      watchTimeoutSeconds: 60,
      ...extra,
    }));

  it('watches from the list resourceVersion with bookmarks, moves on with each bookmark, and lists again on 410 Gone', async () => {
    api.list = () =>
      api.lists.length === 1
        ? { code: 200, body: { metadata: { resourceVersion: '10' }, items: [rotation('a', '5')] } }
        : { code: 200, body: { metadata: { resourceVersion: '30' }, items: [rotation('b', '25')] } };
    api.watch = (u, res) => {
      const n = api.watches.length;
      if (n === 1) {
        event(res, 'ADDED', rotation('c', '12'));
        event(res, 'BOOKMARK', { kind: 'CertificateRotation', metadata: { resourceVersion: '15' } });
        res.end(); // the watch's timeoutSeconds ran out
      } else if (n === 2) {
        event(
          res,
          'ERROR',
          status(410, 'Expired', `too old resource version: ${u.searchParams.get('resourceVersion')} (20)`),
        );
        res.end();
      } else res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    };
    const c = await start();
    await expect.poll(() => api.watches.length).toBe(3);
    expect(api.watches.map((u) => u.searchParams.get('resourceVersion'))).toEqual(['10', '15', '30']);
    expect(api.watches[0]!.searchParams.get('allowWatchBookmarks')).toBe('true');
    expect(api.lists.map((u) => u.searchParams.get('limit'))).toEqual(['500', '500']);
    await expect.poll(() => names(c)).toEqual(['b']);
    expect(c.synced()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('follows ADDED, MODIFIED and DELETED, and pages the list with continue', async () => {
    api.list = (u) =>
      u.searchParams.get('continue') === 'page-2'
        ? { code: 200, body: { metadata: { resourceVersion: '7' }, items: [rotation('b', '6')] } }
        : { code: 200, body: { metadata: { resourceVersion: '7', continue: 'page-2' }, items: [rotation('a', '5')] } };
    let res: ServerResponse | undefined;
    api.watch = (_u, r) => {
      res = r;
      r.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    };
    const c = await start();
    expect(names(c)).toEqual(['a', 'b']);
    await expect.poll(() => res).toBeDefined();
    event(res!, 'ADDED', rotation('c', '8'));
    event(res!, 'DELETED', rotation('a', '9'));
    const b = rotation('b', '10');
    event(res!, 'MODIFIED', { ...b, status: { state: 'FAILED' } });
    await expect.poll(() => names(c)).toEqual(['b', 'c']);
    expect(
      (c.list().find((r) => (r as { metadata: { name: string } }).metadata.name === 'b') as { status?: unknown })
        .status,
    ).toEqual({ state: 'FAILED' });
  });

  it('a refused watch (403) untrusts the cache at once, logs the Status message whole, and /readyz says why; a watch allowed again trusts it', async () => {
    let allowed = false;
    api.watch = (_u, res) =>
      allowed
        ? void res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders()
        : answer(res, 403, status(403, 'Forbidden', FORBIDDEN_WATCH));
    const c = await start();
    await expect.poll(() => c.synced()).toBe(false);
    expect(FORBIDDEN_WATCH.length).toBeGreaterThan(200);
    expect(errors[0]).toBe(
      `CertificateRotation list/watch on ${api.server} failed (watch: 403 Forbidden: ${FORBIDDEN_WATCH}); retrying in 50 ms`,
    );
    expect(c.notReady()).toBe(
      `the API server refuses the CertificateRotation watch: 403 Forbidden: ${FORBIDDEN_WATCH}`,
    );
    const h = await startHarness({ rotationCache: c });
    try {
      const r = await fetch(`${h.server.healthUrl}/readyz`);
      expect(r.status).toBe(503);
      expect(await r.text()).toBe(
        `not ready: the API server refuses the CertificateRotation watch: 403 Forbidden: ${FORBIDDEN_WATCH}\n`,
      );
      allowed = true;
      await expect.poll(() => c.synced(), { timeout: 10_000 }).toBe(true);
      expect((await fetch(`${h.server.healthUrl}/readyz`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it(`keeps a Status message up to ${MAX_STATUS_MESSAGE_CHARS} characters and says how much more there was`, async () => {
    const long = `${'m'.repeat(MAX_STATUS_MESSAGE_CHARS)}TAIL${'t'.repeat(996)}`;
    api.watch = (_u, res) => answer(res, 403, status(403, 'Forbidden', long));
    const c = await start();
    await expect.poll(() => errors.length).toBeGreaterThan(0);
    expect(errors[0]).toContain(
      `(watch: 403 Forbidden: ${'m'.repeat(MAX_STATUS_MESSAGE_CHARS)}... (1000 more characters)); retrying in 50 ms`,
    );
    expect(errors[0]).not.toContain('TAIL');
    expect(c.synced()).toBe(false);
  });

  it('a refused list leaves the cache unsynced, saying why', async () => {
    const message =
      'certificaterotations.certificates.mesh.gloo.solo.io is forbidden: User "system:serviceaccount:mesh-cert-system:mesh-cert-webhook" cannot list resource "certificaterotations" in API group "certificates.mesh.gloo.solo.io" at the cluster scope';
    api.list = () => ({ code: 403, body: status(403, 'Forbidden', message) });
    const c = await start();
    expect(c.synced()).toBe(false);
    expect(errors[0]).toContain(`(list: 403 Forbidden: ${message}); retrying in 50 ms`);
    expect(c.notReady()).toBe(`CertificateRotation cache not synced yet: list: 403 Forbidden: ${message}`);
    expect(api.watches).toEqual([]);
  });

  it('trusts the cache for staleAfterMs after the watch is lost, backing off between tries, then no longer until a watch is back', async () => {
    let failing = true;
    api.list = () => ({ code: 200, body: { metadata: { resourceVersion: '3' }, items: [rotation('a', '2')] } });
    api.watch = (_u, res) =>
      failing
        ? answer(res, 500, status(500, 'InternalError', 'etcdserver: leader changed'))
        : void res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    const c = await start({ staleAfterMs: 1000 });
    expect(c.synced()).toBe(true);
    await expect
      .poll(() => c.notReady(), { timeout: 10_000 })
      .toMatch(
        /^no CertificateRotation watch for \d+ s \(the cache is trusted 1 s without one\): watch: 500 InternalError: etcdserver: leader changed$/,
      );
    expect(c.synced()).toBe(false);
    expect(errors.slice(0, 3).map((e) => /retrying in (\d+) ms$/.exec(e)?.[1])).toEqual(['50', '100', '200']);
    // a 500 is not a refusal: the list is not taken again, the watch resumes from where it was
    expect(api.lists).toHaveLength(1);
    expect(new Set(api.watches.map((u) => u.searchParams.get('resourceVersion')))).toEqual(new Set(['3']));
    failing = false;
    await expect.poll(() => c.synced(), { timeout: 10_000 }).toBe(true);
    expect(names(c)).toEqual(['a']);
  });

  it('refuses kubeconfigs it cannot use, naming the field', async () => {
    const dir = tmp('rotation-cache-kc-');
    const write = (doc: unknown): string => {
      const f = join(dir, `kc-${Math.random().toString(36).slice(2)}`);
      writeFileSync(f, stringify(doc));
      return f;
    };
    const base = {
      'current-context': 'x',
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
    };
    const cases: [unknown, RegExp][] = [
      [
        { ...base, users: [{ name: 'u', user: { exec: { command: 'aws' } } }] },
        /user "u" authenticates with exec, which the webhook does not run: use a client certificate or a token$/,
      ],
      [{ ...base, 'current-context': '' }, /: no current-context$/],
      [{ ...base, 'current-context': 'y' }, /: current-context "y" is not among its contexts$/],
      [
        { ...base, clusters: [{ name: 'c', cluster: { server: 'ftp://x' } }] },
        /: cluster "c": server must be an http\(s\) URL, got "ftp:\/\/x"$/,
      ],
      [
        { ...base, users: [{ name: 'u', user: { 'client-certificate': 'missing.crt' } }] },
        /: client-certificate: ENOENT/,
      ],
    ];
    for (const [doc, want] of cases) {
      const file = write(doc);
      const err = await startRotationInformer({ kubeconfig: file, onError: () => undefined }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterConfigError);
      expect((err as Error).message.startsWith(`--kubeconfig ${file}: `)).toBe(true);
      expect((err as Error).message).toMatch(want);
    }
  });
});

for (const backend of BACKENDS) {
  // RBAC: the sandbox authorizes every request, so only the real API server can refuse a watch.
  if (backend === 'kube')
    describe(backend, () => {
      let world: Backend;
      const kubectl = (args: string[], input?: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const child = execFile(
            '/usr/bin/kubectl',
            ['--kubeconfig', world.kubeconfigPath, ...args],
            { encoding: 'utf8' },
            (err, stdout, stderr) =>
              err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
          );
          child.stdin!.end(input ?? '');
        });
      const role = (verbs: string[]): string =>
        JSON.stringify({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'rotation-reader' },
          rules: [{ apiGroups: ['certificates.mesh.gloo.solo.io'], resources: ['certificaterotations'], verbs }],
        });
      beforeAll(async () => {
        world = await startBackend(backend, ['mgmt']);
      }, START_TIMEOUT_MS);
      afterAll(async () => {
        await world?.stop();
      });

      it('with RBAC that allows list but not watch: not trusted, the log and /readyz name the missing permission; trusted once watch is granted', async () => {
        await kubectl(['create', 'serviceaccount', 'rotation-reader', '-n', 'default']);
        await kubectl(['apply', '-f', '-'], role(['list']));
        await kubectl([
          'create',
          'clusterrolebinding',
          'rotation-reader',
          '--clusterrole=rotation-reader',
          '--serviceaccount=default:rotation-reader',
        ]);
        const token = (await kubectl(['create', 'token', 'rotation-reader', '-n', 'default'])).trim();
        // the admin kubeconfig's cluster, with the service account's token as the user
        const admin = parse(readFileSync(world.kubeconfigPath, 'utf8')) as {
          'current-context': string;
          contexts: { name: string; context: { cluster: string } }[];
          clusters: { name: string }[];
        };
        const clusterName = admin.contexts.find((c) => c.name === admin['current-context'])!.context.cluster;
        const kubeconfig = join(tmp('rotation-cache-rbac-'), 'kubeconfig');
        writeFileSync(
          kubeconfig,
          stringify({
            apiVersion: 'v1',
            kind: 'Config',
            'current-context': 'reader',
            clusters: admin.clusters.filter((c) => c.name === clusterName),
            users: [{ name: 'reader', user: { token } }],
            contexts: [{ name: 'reader', context: { cluster: clusterName, user: 'reader' } }],
          }),
        );
        const missing =
          'User "system:serviceaccount:default:rotation-reader" cannot watch resource "certificaterotations" in API group "certificates.mesh.gloo.solo.io" at the cluster scope';
        const errors: string[] = [];
        const cache = await startRotationInformer({ kubeconfig, onError: (m) => errors.push(m), retryMs: 100 });
        const h = await startHarness({ rotationCache: cache });
        try {
          await expect.poll(() => cache.synced(), { timeout: 10_000 }).toBe(false);
          expect(errors[0]).toContain(
            `failed (watch: 403 Forbidden: certificaterotations.certificates.mesh.gloo.solo.io is forbidden: ${missing}); retrying in 100 ms`,
          );
          const r = await fetch(`${h.server.healthUrl}/readyz`);
          expect(r.status).toBe(503);
          expect(await r.text()).toContain(missing);

          await kubectl(['apply', '-f', '-'], role(['list', 'watch']));
          await expect.poll(() => cache.synced(), { timeout: 30_000 }).toBe(true);
          expect((await fetch(`${h.server.healthUrl}/readyz`)).status).toBe(200);
        } finally {
          await h.close();
          await cache.stop();
        }
      });
    });
}
