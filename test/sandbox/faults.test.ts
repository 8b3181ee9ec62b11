// Fault injection: every kind (409, 500, 429, delay), fractions, method/path matching, and what
// kubectl and client-node make of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { startSandbox, type Sandbox, type SandboxCluster } from './index.js';
import { FaultInjector } from './faults.js';
import { apiStatus, kubeConfigFor } from './client.js';
import { kubectlFor, raw } from './helpers.js';

let sb: Sandbox;
let c: SandboxCluster;

beforeAll(async () => {
  sb = await startSandbox({ clusters: ['f'], crds: false });
  c = sb.clusters.get('f')!;
  await raw(c, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'cm' }, data: { a: '1' } });
});
afterAll(async () => {
  await sb?.stop();
});

describe('faults', () => {
  it('answers 409 Conflict naming the resource from the path', async () => {
    c.setFaults([{ status: 409, fraction: 1, match: { method: 'PUT' } }]);
    const got = await raw(c, 'GET', '/api/v1/namespaces/default/configmaps/cm');
    expect(got.status).toBe(200);
    const put = await raw(c, 'PUT', '/api/v1/namespaces/default/configmaps/cm', got.body);
    expect(put.status).toBe(409);
    expect(put.body).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; please apply your changes to the latest version and try again',
    });
    c.clearFaults();
    expect((await raw(c, 'PUT', '/api/v1/namespaces/default/configmaps/cm', got.body)).status).toBe(200);
  });

  it('answers 500 InternalError and 429 TooManyRequests with Retry-After', async () => {
    c.setFaults([{ status: 500, fraction: 1, match: { pathIncludes: '/configmaps' } }]);
    const e500 = await raw(c, 'GET', '/api/v1/namespaces/default/configmaps');
    expect(e500.status).toBe(500);
    expect(e500.body).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect((await raw(c, 'GET', '/api/v1/namespaces/default/secrets')).status).toBe(200);
    c.setFaults([{ status: 429, fraction: 1 }]);
    const e429 = await raw(c, 'GET', '/api/v1/namespaces');
    expect(e429.status).toBe(429);
    expect(e429.headers['retry-after']).toBe('1');
    expect(e429.body).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
    c.clearFaults();
  });

  it('delays matching requests (and only those)', async () => {
    c.setFaults([{ delayMs: 300, fraction: 1, match: { pathIncludes: '/secrets' } }]);
    const internals = sb.internals.get('f')!;
    const order: string[] = [];
    await Promise.all([
      raw(c, 'GET', '/api/v1/namespaces/default/secrets').then(() => order.push('delayed')),
      new Promise((r) => setTimeout(r, 20))
        .then(() => raw(c, 'GET', '/api/v1/namespaces/default/configmaps'))
        .then(() => order.push('prompt')),
    ]);
    expect(order).toEqual(['prompt', 'delayed']);
    expect(internals.faults.hits).toEqual([1]);
    c.clearFaults();
  });

  it('fires for the chosen fraction of requests', async () => {
    let n = 0;
    const seq = [0.1, 0.9, 0.2, 0.8];
    const f = new FaultInjector(() => seq[n++ % seq.length]);
    f.set([{ status: 500, fraction: 0.5 }]);
    const out = [];
    for (let i = 0; i < 4; i++) out.push((await f.apply('GET', '/api'))?.code ?? 200);
    expect(out).toEqual([500, 200, 500, 200]);
    expect(() => f.set([{ fraction: 2 }])).toThrow(/between 0 and 1/);
    c.setFaults([{ status: 500, fraction: 0 }]);
    for (let i = 0; i < 5; i++) expect((await raw(c, 'GET', '/api/v1/namespaces')).status).toBe(200);
    c.clearFaults();
  });

  it('draws failing requests from a seeded generator: the same seed replays the same pattern', async () => {
    const pattern = async (seed?: number): Promise<string> => {
      c.setFaults(
        [{ status: 500, fraction: 0.5, match: { pathIncludes: '/configmaps' } }],
        seed === undefined ? undefined : { seed },
      );
      let p = '';
      for (let i = 0; i < 16; i++)
        p += (await raw(c, 'GET', '/api/v1/namespaces/default/configmaps')).status === 500 ? 'x' : '.';
      return p;
    };
    const first = await pattern();
    expect(first).toMatch(/x/);
    expect(first).toMatch(/\./);
    expect(await pattern()).toBe(first);
    expect(await pattern(1)).toBe(first);
    expect(await pattern(42)).not.toBe(first);
    c.clearFaults();
  });

  it('kubectl retries a 429 with Retry-After and reports a 500; client-node surfaces both', async () => {
    const k = kubectlFor(sb.kubeconfigPath);
    await k(['get', 'ns']); // warm the discovery cache
    c.setFaults([{ status: 500, fraction: 1, match: { pathIncludes: '/configmaps' } }]);
    const r = await k(['get', 'configmaps']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Internal error occurred: injected fault');
    const api = kubeConfigFor(sb.kubeconfigPath, 'f').makeApiClient(CoreV1Api);
    expect(
      apiStatus(await api.listNamespacedConfigMap({ namespace: 'default' }).catch((e: unknown) => e)),
    ).toMatchObject({ code: 500, reason: 'InternalError' });
    c.setFaults([{ status: 429, fraction: 1, match: { pathIncludes: '/configmaps' } }]);
    expect(
      apiStatus(await api.listNamespacedConfigMap({ namespace: 'default' }).catch((e: unknown) => e)),
    ).toMatchObject({ code: 429 });
    // client-go retries 429 + Retry-After; let the fault stop after the first answers
    const internals = sb.internals.get('f')!;
    setTimeout(() => c.clearFaults(), 1500);
    const retried = await k(['get', 'configmaps', '-o', 'name']);
    expect(retried.stdout).toBe('configmap/cm\nconfigmap/kube-root-ca.crt\n');
    expect(internals.requests.filter((x) => x.path.includes('/configmaps') && x.status === 429).length).toBeGreaterThan(
      1,
    );
  });
});
