// The real control plane (kube-apiserver, kube-controller-manager, etcd of release.json) under
// startKube and `npm run kube`. Run `npx tsx test/kube/ensure.ts` first: without binaries every
// test here fails, saying how to get them.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CRD_DIR, readCrds } from '../sandbox/index.js';
import { findBinaries, KUBE_RELEASE, startKube, type Kube } from './index.js';
import { alive } from './process.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let kube: Kube | undefined;
let startError: Error | undefined;

function started(): Kube {
  if (!kube) throw startError ?? new Error('startKube did not run');
  return kube;
}

async function kubectl(
  args: string[],
  kubeconfig = started().kubeconfigPath,
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) p.stdin?.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, undefined, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** pids whose parent is pid (from /proc: the launcher's children are the binaries, setpriv execs them). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return (
          Number(
            readFileSync(`/proc/${d}/stat`, 'utf8')
              .replace(/^.*\) /, '')
              .split(' ')[1],
          ) === pid
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeAll(async () => {
  try {
    findBinaries(); // fails first with "run npx tsx test/kube/ensure.ts"
    kube = await startKube({ clusters: ['mgmt', 'cluster1'] });
  } catch (e) {
    startError = e as Error;
  }
}, 180_000);
afterAll(async () => {
  await kube?.stop();
});

describe(`a real control plane (${KUBE_RELEASE})`, () => {
  it('starts every cluster ready, one context each', async () => {
    const k = started();
    expect([...k.clusters.keys()]).toEqual(['mgmt', 'cluster1']);
    for (const name of k.clusters.keys())
      expect((await ok(['--context', name, 'get', '--raw', '/readyz'])).trim()).toBe('ok');
    expect((await ok(['config', 'get-contexts', '-o', 'name'])).trim().split('\n').sort()).toEqual([
      'cluster1',
      'mgmt',
    ]);
  });

  it("serves the project's CRDs, Established", async () => {
    const want = (await readCrds(DEFAULT_CRD_DIR))
      .map((c) => (c as { metadata: { name: string } }).metadata.name)
      .sort();
    expect(want).toHaveLength(5);
    for (const ctx of ['mgmt', 'cluster1']) {
      expect(
        (await ok(['--context', ctx, 'get', 'crds', '-o', 'name']))
          .trim()
          .split('\n')
          .map((l) => l.replace('customresourcedefinition.apiextensions.k8s.io/', ''))
          .sort(),
      ).toEqual(want);
    }
    expect(await ok(['--context', 'cluster1', 'get', 'issuedcertificates', '-A'])).toBe('');
  });

  it('reports the pinned release', async () => {
    const v = JSON.parse(await ok(['--context', 'mgmt', 'version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string; minor: string };
    };
    expect(v.serverVersion.gitVersion).toBe(KUBE_RELEASE);
    expect(v.serverVersion.minor).toBe(KUBE_RELEASE.split('.')[1]);
  });

  it('deletes a namespace through Terminating (the namespace controller runs)', async () => {
    await ok(['--context', 'cluster1', 'create', 'namespace', 'doomed']);
    // a finalizer holds the namespace in Terminating until we release it
    await ok(
      ['--context', 'cluster1', 'apply', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: doomed, finalizers: [example.com/hold]}\n',
    );
    await ok(['--context', 'cluster1', 'delete', 'namespace', 'doomed', '--wait=false']);
    expect(
      (await ok(['--context', 'cluster1', 'get', 'namespace', 'doomed', '-o', 'jsonpath={.status.phase}'])).trim(),
    ).toBe('Terminating');
    // the controller deletes the contents: the ConfigMap gets a deletionTimestamp
    await eventually(
      'ConfigMap held marked for deletion',
      async () =>
        (
          await ok([
            '--context',
            'cluster1',
            'get',
            'configmap',
            'held',
            '-n',
            'doomed',
            '-o',
            'jsonpath={.metadata.deletionTimestamp}',
          ])
        ).trim() !== '',
    );
    await ok([
      '--context',
      'cluster1',
      'patch',
      'configmap',
      'held',
      '-n',
      'doomed',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await eventually('namespace doomed gone', async () =>
      (await kubectl(['--context', 'cluster1', 'get', 'namespace', 'doomed'])).stderr.includes('NotFound'),
    );
  });

  it('garbage-collects dependents by ownerReferences', async () => {
    await ok(['--context', 'mgmt', 'create', 'configmap', 'owner']);
    const uid = (await ok(['--context', 'mgmt', 'get', 'configmap', 'owner', '-o', 'jsonpath={.metadata.uid}'])).trim();
    await ok(
      ['--context', 'mgmt', 'apply', '-f', '-'],
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dependent\n  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: ${uid}}]\n`,
    );
    await ok(['--context', 'mgmt', 'delete', 'configmap', 'owner']);
    await eventually('dependent collected', async () =>
      (await kubectl(['--context', 'mgmt', 'get', 'configmap', 'dependent'])).stderr.includes('NotFound'),
    );
  });

  it('authenticates a minted user and authorizes it by RBAC only', async () => {
    const u = await started().mintUser({ cluster: 'cluster1', user: 'alice', groups: ['devs', 'auditors'] });
    expect(u.context).toBe('alice@cluster1');
    const denied = await kubectl(['get', 'configmaps', '-n', 'default'], u.kubeconfigPath);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    // the groups come from O: binding the group (not the user) lets her list
    await ok([
      '--context',
      'cluster1',
      'create',
      'rolebinding',
      'devs-view',
      '-n',
      'default',
      '--clusterrole=view',
      '--group=devs',
    ]);
    await eventually(
      'alice may list configmaps',
      async () => (await kubectl(['get', 'configmaps', '-n', 'default'], u.kubeconfigPath)).code === 0,
      10_000,
    );
    expect(
      (await kubectl(['auth', 'can-i', 'delete', 'configmaps', '-n', 'default'], u.kubeconfigPath)).stdout.trim(),
    ).toBe('no');
  });

  it('stop() leaves no process and no folder', async () => {
    const k = started();
    const pids = [k.etcd.pid, ...[...k.clusters.values()].flatMap((c) => [c.pids.apiserver, c.pids.controllerManager])];
    expect(pids.every(alive)).toBe(true);
    const dir = k.dir;
    await k.stop();
    kube = undefined;
    startError = new Error('stopped by an earlier test');
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 30_000);
});

describe('npm run kube', () => {
  it('leaves no process behind when the launcher is SIGKILLed', async () => {
    findBinaries();
    const dir = await mkdtemp(join(tmpdir(), 'kube-test-'));
    // node itself (not npm or tsx's wrapper) so that the pid we kill is the launcher's
    const launcher = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/kube/main.ts',
        '--clusters',
        'solo',
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--no-crds',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    launcher.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    launcher.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await eventually(
        'launcher ready',
        async () => {
          if (launcher.exitCode !== null) throw new Error(`launcher exited ${launcher.exitCode}: ${out}`);
          return / ready: /.test(out);
        },
        120_000,
      );
      // node's own helpers (tsx's esbuild service) are children too: keep the control plane's
      const bins = findBinaries();
      const kids = childrenOf(launcher.pid!).filter((p) =>
        [bins.etcd, bins.apiserver, bins.controllerManager].includes(readlinkSync(`/proc/${p}/exe`)),
      );
      expect(kids).toHaveLength(3); // etcd, kube-apiserver, kube-controller-manager
      launcher.kill('SIGKILL');
      await eventually('children gone', async () => kids.every((p) => !alive(p)), 10_000);
    } finally {
      launcher.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      // its temporary folder outlives a SIGKILL (the next launch would remove it): remove it now
      for (const d of readdirSync(tmpdir()).filter((n) => n.startsWith(`mesh-cert-kube-${launcher.pid}-`)))
        await rm(join(tmpdir(), d), { recursive: true, force: true });
    }
  }, 150_000);
});
