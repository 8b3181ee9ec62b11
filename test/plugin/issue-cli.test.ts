// `kubectl mesh-cert issue` as a user runs it: the real kubectl on PATH finds the plugin; the
// backend (the sandbox, then the real control plane) holds a management and two managed clusters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN_DIR, KUBECTL, buildPlugin, kubectlMeshCert, privateKeyBlocks, type RunResult } from './helpers.js';
import { opensslVerify, startCliSandbox, unb64 } from './issue-rotate.helpers.js';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';

let world: Awaited<ReturnType<typeof startCliSandbox>>;
let env: Record<string, string>;
const outputs: string[] = [];

async function mc(args: string[], timeoutMs?: number): Promise<RunResult> {
  const r = await kubectlMeshCert(args, { env, timeoutMs });
  outputs.push(r.stdout, r.stderr);
  return r;
}

const kubectl = (context: string, args: string[]) => world.kubectl(context, args);

async function getJson(context: string, resource: string, ns: string, name: string): Promise<any> {
  return JSON.parse(await kubectl(context, ['get', resource, name, '-n', ns, '-o', 'json']));
}

async function cacerts(context: string, name = 'cacerts'): Promise<{ caCert: string; chain: string; root: string }> {
  const s = await await getJson(context, 'secret', 'istio-system', name);
  return {
    caCert: unb64(s.data['ca-cert.pem']),
    chain: unb64(s.data['cert-chain.pem']),
    root: unb64(s.data['root-cert.pem']),
  };
}

const ISSUE = (name: string, clusters = 'c1,c2', extra: string[] = []) => [
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
  ...extra,
];

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      world = await startCliSandbox(['mgmt', 'c1', 'c2'], backend);
      env = { KUBECONFIG: world.kubeconfigPath };
      const r = await mc([
        'root',
        'create',
        'gloo-mesh/root-ca',
        '--mgmt-context',
        'mgmt',
        '--key-size',
        '2048',
        '--org',
        'mesh-cert-test',
      ]);
      expect(r.code, r.stderr).toBe(0);
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await world?.stop();
    });

    describe('kubectl mesh-cert issue', () => {
      it('issues in two clusters and prints the result; openssl verifies every chain', async () => {
        const r = await mc([...ISSUE('istiod-ca'), '--virtual-mesh', 'gloo-mesh/vm', '-o', 'json']);
        expect(r.code, r.stderr).toBe(0);
        const list = JSON.parse(r.stdout);
        expect(list.kind).toBe('List');
        expect(list.items.map((i: any) => `${i.cluster}:${i.state}:${i.issuedSecret}`)).toEqual([
          'c1:FINISHED:istio-system/cacerts',
          'c2:FINISHED:istio-system/cacerts',
        ]);
        for (const c of ['c1', 'c2']) {
          const s = await cacerts(c);
          const v = opensslVerify(s.caCert, s.chain, s.root);
          expect(v.ok, v.output).toBe(true);
          const ic = await getJson(c, 'issuedcertificates.certificates.mesh.gloo.solo.io', 'istio-system', 'istiod-ca');
          expect(JSON.parse(ic.metadata.annotations['parents.networking.mesh.gloo.solo.io'])).toEqual({
            'networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh': [{ name: 'vm', namespace: 'gloo-mesh' }],
          });
        }
        // a second run has nothing to do and says so in the table
        const again = await mc(ISSUE('istiod-ca'));
        expect(again.code).toBe(0);
        expect(again.stdout).toMatch(/^CLUSTER\s+NAMESPACE\s+NAME\s+STATE/m);
        expect(again.stdout).toMatch(/^c1\s+istio-system\s+istiod-ca\s+FINISHED/m);
      }, 180_000);

      it('rejects bad flags and references with a message naming them', async () => {
        const size = await mc([...ISSUE('x'), '--key-size', '1024']);
        expect(size.code).not.toBe(0);
        expect(size.stderr).toMatch(/--key-size/);
        const noSigner = await mc([
          'issue',
          'fresh',
          '--mgmt-context',
          'mgmt',
          '--managed-clusters',
          'c1',
          '-n',
          'istio-system',
        ]);
        expect(noSigner.code).toBe(1);
        expect(noSigner.stderr).toContain('--signing-secret NS/NAME is required');
        const badRef = await mc([...ISSUE('x', 'c1'), '--pod-bounce', 'a/b/c']);
        expect(badRef.code).toBe(1);
        expect(badRef.stderr).toContain('--pod-bounce must be NAMESPACE/NAME');
        const ctx = await mc(ISSUE('x', 'c1,nowhere'));
        expect(ctx.code).toBe(1);
        expect(ctx.stderr).toMatch(/--managed-clusters names "nowhere"/);
        const missing = await mc([
          'issue',
          'missing-signer',
          '--mgmt-context',
          'mgmt',
          '--managed-clusters',
          'c1',
          '-n',
          'istio-system',
          '--signing-secret',
          'gloo-mesh/absent',
          '--key-size',
          '2048',
        ]);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain('signing Secret gloo-mesh/absent not found');
        expect(missing.stdout).toMatch(/missing-signer\s+FAILED/);
        const none = await mc(['issue', '--mgmt-context', 'mgmt', '--managed-clusters', 'c1']);
        expect(none.code).toBe(1);
        expect(none.stderr).toContain('NAME is required');
      }, 180_000);

      // fault injection: the sandbox only
      if (backend === 'sandbox')
        it('reports an unreachable cluster and still issues in the others', async () => {
          const c2 = world.sandbox!.clusters.get('c2')!;
          await c2.stop();
          let r: RunResult;
          try {
            r = await mc([
              ...ISSUE('partial-ca', 'c1,c2', ['--issued-secret', 'istio-system/partial', '--timeout', '4s']),
              '-o',
              'json',
            ]);
          } finally {
            await c2.start();
          }
          expect(r.code).not.toBe(0);
          const items = JSON.parse(r.stdout).items;
          expect(items.find((i: any) => i.cluster === 'c1').state).toBe('FINISHED');
          const down = items.find((i: any) => i.cluster === 'c2');
          expect(down.outcome).toMatch(/unreachable|timeout/);
          expect(r.stderr).toMatch(/c2/);
          const s = await cacerts('c1', 'partial');
          expect(opensslVerify(s.caCert, s.chain, s.root).ok).toBe(true);
        }, 180_000);

      it('continues where it stopped after being killed at any moment', async () => {
        for (const ms of [250, 600, 900, 1300]) {
          const child = spawn(
            KUBECTL,
            ['mesh-cert', ...ISSUE('killed-ca', 'c1,c2', ['--issued-secret', 'istio-system/killed'])],
            {
              env: { ...env, PATH: `${BIN_DIR}:${process.env.PATH}` },
              stdio: 'ignore',
            },
          );
          const exited = new Promise((r) => child.once('exit', r));
          await new Promise((r) => setTimeout(r, ms));
          child.kill('SIGKILL');
          await exited;
        }
        const r = await mc([...ISSUE('killed-ca', 'c1,c2', ['--issued-secret', 'istio-system/killed']), '-o', 'json']);
        expect(r.code, r.stderr).toBe(0);
        for (const c of ['c1', 'c2']) {
          const s = await cacerts(c, 'killed');
          expect(opensslVerify(s.caCert, s.chain, s.root).ok).toBe(true);
          const key = unb64((await getJson(c, 'secret', 'istio-system', 'killed-ca')).data['private-key']);
          expect(unb64((await getJson(c, 'secret', 'istio-system', 'killed')).data['ca-key.pem'])).toBe(key);
        }
      }, 180_000);

      it('--no-wait writes only; --all drives it; --observe watches and times out with 124', async () => {
        await kubectl('c1', ['create', 'namespace', 'later']);
        const base = ['--mgmt-context', 'mgmt', '--managed-clusters', 'c1', '-n', 'later'];
        for (const name of ['later-ca', 'later-ca-2']) {
          const w = await mc([
            'issue',
            name,
            ...base,
            '--signing-secret',
            'gloo-mesh/root-ca',
            '--key-size',
            '2048',
            '--issued-secret',
            `later/${name}-cacerts`,
            '--no-wait',
          ]);
          expect(w.code, w.stderr).toBe(0);
        }
        expect(
          (await getJson('c1', 'issuedcertificates.certificates.mesh.gloo.solo.io', 'later', 'later-ca')).status
            ?.state ?? 'PENDING',
        ).toBe('PENDING');
        const obs = await mc(['issue', 'later-ca', '--observe', '--timeout', '1500ms', ...base]);
        expect(obs.code).toBe(124);
        const all = await mc(['issue', '--all', ...base, '-o', 'json']);
        expect(all.code, all.stderr).toBe(0);
        expect(
          JSON.parse(all.stdout)
            .items.map((i: any) => `${i.name}:${i.state}`)
            .sort(),
        ).toEqual(['later-ca-2:FINISHED', 'later-ca:FINISHED']);
        // --all checks FINISHED certificates against their Secrets too: nothing to write, both reported
        const again = await mc(['issue', '--all', ...base, '-o', 'json']);
        expect(again.code, again.stderr).toBe(0);
        expect(
          JSON.parse(again.stdout)
            .items.map((i: any) => `${i.name}:${i.state}`)
            .sort(),
        ).toEqual(['later-ca-2:FINISHED', 'later-ca:FINISHED']);
        const done = await mc(['issue', 'later-ca', '--observe', ...base, '-o', 'name']);
        expect(done.code).toBe(0);
        expect(done.stdout.trim()).toBe('c1/issuedcertificate.certificates.mesh.gloo.solo.io/later-ca');
      }, 180_000);

      it('never prints a private key, and the management cluster holds none of the managed clusters', async () => {
        for (const o of outputs) expect(privateKeyBlocks(o)).toEqual([]);
        const managedKeys = new Set<string>();
        for (const c of ['c1', 'c2']) {
          for (const s of JSON.parse(await kubectl(c, ['get', 'secrets', '-A', '-o', 'json'])).items) {
            for (const v of Object.values<string>(s.data ?? {}))
              if (unb64(v).includes('PRIVATE KEY')) managedKeys.add(unb64(v).trim());
          }
        }
        expect(managedKeys.size).toBeGreaterThan(0);
        const everything = (
          await Promise.all(
            [
              'secrets',
              'configmaps',
              'issuedcertificates.certificates.mesh.gloo.solo.io',
              'certificaterequests.certificates.mesh.gloo.solo.io',
              'certificaterotations.certificates.mesh.gloo.solo.io',
            ].map((r) => kubectl('mgmt', ['get', r, '-A', '-o', 'json'])),
          )
        ).join('\n');
        const decoded =
          everything + [...everything.matchAll(/"([A-Za-z0-9+/=]{60,})"/g)].map((m) => unb64(m[1])).join('\n');
        for (const k of managedKeys) expect(decoded.includes(k)).toBe(false);
      }, 180_000);
    });
  });
}
