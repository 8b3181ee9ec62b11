// `root create --force` (issue 13, item 2): a root Secret that anything uses is never overwritten,
// and the refusal names every user; one that nothing uses is copied to
// <name>-backup-<UTC time> before it is overwritten, so its key stays recoverable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { apply, buildPlugin, kubectl, kubectlMeshCert, tempDir, unb64, type RunResult } from './helpers.js';

let backend: Backend;
let kubeconfig: string;
/** The same clusters plus a context "gone" whose server refuses connections. */
let kubeconfigWithGone: string;

const CERTS = 'certificates.mesh.gloo.solo.io/v1';
const VM_GVK = 'networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh';

async function mc(args: string[], config = kubeconfig): Promise<RunResult> {
  return kubectlMeshCert(args, { env: { KUBECONFIG: config }, timeoutMs: 60_000 });
}

async function secret(
  context: string,
  ns: string,
  name: string,
): Promise<
  | {
      metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
      type?: string;
      data: Record<string, string>;
      immutable?: boolean;
    }
  | undefined
> {
  try {
    return JSON.parse(await kubectl(kubeconfig, context, ['get', 'secret', name, '-n', ns, '-o', 'json']));
  } catch (err) {
    if (/NotFound|not found/.test(String(err))) return undefined;
    throw err;
  }
}

async function backupsOf(name: string): Promise<
  {
    metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    type?: string;
    data: Record<string, string>;
    immutable?: boolean;
  }[]
> {
  const list = JSON.parse(
    await kubectl(kubeconfig, 'mgmt', [
      'get',
      'secrets',
      '-n',
      'gloo-mesh',
      '-l',
      `mesh-cert.solo.io/backup-of=${name}`,
      '-o',
      'json',
    ]),
  );
  return list.items;
}

const rootCreate = (name: string, extra: string[] = []) => [
  'root',
  'create',
  `gloo-mesh/${name}`,
  '--mgmt-context',
  'mgmt',
  '--key-size',
  '2048',
  ...extra,
];

function issuedCertificate(name: string, spec: object, annotations: Record<string, string> = {}): object {
  return {
    apiVersion: CERTS,
    kind: 'IssuedCertificate',
    metadata: { name, namespace: 'istio-system', annotations },
    spec: { hosts: [`spiffe://mesh.local/ns/istio-system/sa/${name}`], ...spec },
  };
}

for (const kind of BACKENDS)
  describe(kind, () => {
    beforeAll(async () => {
      buildPlugin();
      backend = await startBackend(kind, ['mgmt', 'c1', 'c2']);
      kubeconfig = backend.kubeconfigPath;
      // The same clusters plus a context "gone" whose server refuses connections.
      kubeconfigWithGone = join(tempDir('mesh-cert-root-force-'), 'kubeconfig');
      copyFileSync(kubeconfig, kubeconfigWithGone);
      const config = (args: string[]) =>
        execFileSync('kubectl', ['config', '--kubeconfig', kubeconfigWithGone, ...args], { stdio: 'pipe' });
      config(['set-cluster', 'gone', '--server=https://127.0.0.1:1', '--insecure-skip-tls-verify=true']);
      config(['set-credentials', 'gone', '--token=none']);
      config(['set-context', 'gone', '--cluster=gone', '--user=gone']);
      for (const c of ['mgmt', 'c1', 'c2']) {
        await kubectl(kubeconfig, c, ['create', 'namespace', 'istio-system']);
        await kubectl(kubeconfig, c, ['create', 'namespace', 'gloo-mesh']);
      }
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await backend?.stop();
    });

    describe('root create --force refuses a root in use', () => {
      it('names every IssuedCertificate (either field, any cluster, with its VirtualMesh) and changes nothing', async () => {
        const made = await mc(rootCreate('root-used'));
        expect(made.code, made.stderr).toBe(0);
        const before = await secret('mgmt', 'gloo-mesh', 'root-used');
        await apply(
          kubeconfig,
          'c1',
          issuedCertificate(
            'istiod-ca',
            { glooMeshCa: { signingCertificateSecret: { name: 'root-used', namespace: 'gloo-mesh' } } },
            {
              'parents.networking.mesh.gloo.solo.io': JSON.stringify({
                [VM_GVK]: [{ name: 'vm', namespace: 'gloo-mesh' }],
              }),
            },
          ),
        );
        await apply(
          kubeconfig,
          'c2',
          issuedCertificate('legacy-ca', { signingCertificateSecret: { name: 'root-used', namespace: 'gloo-mesh' } }),
        );

        const r = await mc(rootCreate('root-used', ['--force']));
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /^error: --force: refusing to overwrite Secret gloo-mesh\/root-used on cluster "mgmt": it is in use by /,
        );
        expect(r.stderr).toContain(
          'IssuedCertificate istio-system/istiod-ca in cluster "c1" (spec.glooMeshCa.signingCertificateSecret; VirtualMesh gloo-mesh/vm)',
        );
        expect(r.stderr).toContain(
          'IssuedCertificate istio-system/legacy-ca in cluster "c2" (spec.signingCertificateSecret)',
        );
        expect(r.stderr).toContain('nothing was changed');
        // untouched, and no copy made
        expect((await secret('mgmt', 'gloo-mesh', 'root-used'))?.data).toEqual(before?.data);
        expect(await backupsOf('root-used')).toEqual([]);
      }, 120_000);

      it('names a CertificateRotation whose new root it is, and a rotation annotation naming it as old or new root', async () => {
        for (const name of ['root-next', 'root-prev']) {
          const made = await mc(rootCreate(name));
          expect(made.code, made.stderr).toBe(0);
        }
        await apply(kubeconfig, 'mgmt', {
          apiVersion: CERTS,
          kind: 'CertificateRotation',
          metadata: { name: 'vm-rotation', namespace: 'gloo-mesh' },
          spec: {
            virtualMesh: { name: 'vm', namespace: 'gloo-mesh' },
            newRootCaSecret: { name: 'root-next', namespace: 'gloo-mesh' },
          },
        });
        await apply(
          kubeconfig,
          'c2',
          issuedCertificate(
            'rotating-ca',
            { glooMeshCa: { signingCertificateSecret: { name: 'root-other', namespace: 'gloo-mesh' } } },
            {
              'mesh-cert.solo.io/rotation-roots': JSON.stringify({
                old: { name: 'root-prev', namespace: 'gloo-mesh' },
                new: { name: 'root-other', namespace: 'gloo-mesh' },
              }),
            },
          ),
        );

        const next = await mc(rootCreate('root-next', ['--force']));
        expect(next.code).toBe(1);
        expect(next.stderr).toContain(
          'CertificateRotation gloo-mesh/vm-rotation in cluster "mgmt" (spec.newRootCaSecret; state PENDING, VirtualMesh gloo-mesh/vm)',
        );
        const prev = await mc(rootCreate('root-prev', ['--force']));
        expect(prev.code).toBe(1);
        expect(prev.stderr).toContain(
          'IssuedCertificate istio-system/rotating-ca in cluster "c2" (annotation mesh-cert.solo.io/rotation-roots: old root)',
        );
        expect(await backupsOf('root-next')).toEqual([]);
        expect(await backupsOf('root-prev')).toEqual([]);
      }, 120_000);

      it('refuses when a cluster cannot be asked, naming it and --cluster; proceeds once the clusters are named', async () => {
        const made = await mc(rootCreate('root-gone-check'), kubeconfigWithGone);
        expect(made.code, made.stderr).toBe(0);
        const r = await mc(rootCreate('root-gone-check', ['--force']), kubeconfigWithGone);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          /cannot tell whether it is in use: cluster "gone": .*--managed-clusters a,b; nothing was changed/,
        );
        expect(await backupsOf('root-gone-check')).toEqual([]);
        const ok = await mc(
          rootCreate('root-gone-check', ['--force', '--managed-clusters', 'c1,c2']),
          kubeconfigWithGone,
        );
        expect(ok.code, ok.stderr).toBe(0);
        expect(await backupsOf('root-gone-check')).toHaveLength(1);
      }, 120_000);
    });

    describe('root create --force on a root nothing uses keeps a copy first', () => {
      it('the copy <name>-backup-<UTC time> holds the old data, is labelled, and the old key is recoverable from it', async () => {
        const made = await mc(rootCreate('root-free'));
        expect(made.code, made.stderr).toBe(0);
        const old = (await secret('mgmt', 'gloo-mesh', 'root-free'))!;

        const t0 = new Date();
        const r = await mc(rootCreate('root-free', ['--force', '-o', 'json']));
        expect(r.code, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.action).toBe('replaced');
        expect(out.backup.namespace).toBe('gloo-mesh');
        expect(out.backup.name).toMatch(/^root-free-backup-\d{14}$/);
        const stamp = out.backup.name.slice(-14);
        const when = Date.UTC(
          +stamp.slice(0, 4),
          +stamp.slice(4, 6) - 1,
          +stamp.slice(6, 8),
          +stamp.slice(8, 10),
          +stamp.slice(10, 12),
          +stamp.slice(12, 14),
        );
        expect(Math.abs(when - t0.getTime())).toBeLessThan(60_000); // a UTC timestamp of now
        expect(r.stderr).toContain(
          `kept a copy of the previous Secret gloo-mesh/root-free in Secret gloo-mesh/${out.backup.name}`,
        );

        const copy = (await secret('mgmt', 'gloo-mesh', out.backup.name))!;
        expect(copy.data).toEqual(old.data);
        expect(copy.metadata.labels).toMatchObject({
          'app.kubernetes.io/managed-by': 'mesh-cert',
          'mesh-cert.solo.io/backup-of': 'root-free',
        });
        expect(copy.metadata.annotations?.['mesh-cert.solo.io/backup-of']).toBe('gloo-mesh/root-free');
        expect(copy.immutable).toBe(true);

        // the Secret holds a new root and key; the old key is in the copy and matches the old root
        const now = (await secret('mgmt', 'gloo-mesh', 'root-free'))!;
        expect(unb64(now.data['ca-key.pem'])).not.toBe(unb64(old.data['ca-key.pem']));
        const oldCert = new X509Certificate(unb64(old.data['ca-cert.pem']));
        const recovered = createPublicKey(unb64(copy.data['ca-key.pem'])).export({ type: 'spki', format: 'pem' });
        expect(recovered).toBe(oldCert.publicKey.export({ type: 'spki', format: 'pem' }));
        expect(unb64(copy.data['ca-key.pem'])).toBe(unb64(old.data['ca-key.pem']));
      }, 120_000);

      it('a Secret mesh-cert did not create is copied too, and the output says so', async () => {
        await kubectl(kubeconfig, 'mgmt', [
          'create',
          'secret',
          'generic',
          'hand-made',
          '-n',
          'gloo-mesh',
          '--from-literal=ca-key.pem=not-really-a-key',
          '--from-literal=note=keep me',
        ]);
        const old = (await secret('mgmt', 'gloo-mesh', 'hand-made'))!;
        const r = await mc(rootCreate('hand-made', ['--force']));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(
          /kept a copy of the previous Secret gloo-mesh\/hand-made \(not created by mesh-cert: no app.kubernetes.io\/managed-by=mesh-cert label\) in Secret gloo-mesh\/hand-made-backup-\d{14}/,
        );
        expect(r.stdout).toMatch(
          /backup: the previous Secret \(its key included\) is kept in secret\/hand-made-backup-\d{14} in namespace gloo-mesh/,
        );
        const [copy] = await backupsOf('hand-made');
        expect(copy.data).toEqual(old.data);
        expect(copy.type).toBe(old.type);
        expect(
          (await secret('mgmt', 'gloo-mesh', 'hand-made'))!.metadata.labels?.['app.kubernetes.io/managed-by'],
        ).toBe('mesh-cert');
      }, 120_000);

      it('without --force an existing Secret is still refused; a new one is created with no copy', async () => {
        const r = await mc(rootCreate('root-free'));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          'Secret gloo-mesh/root-free already exists on cluster "mgmt": pass --force to overwrite it',
        );
        const fresh = await mc(rootCreate('root-fresh', ['--force', '-o', 'json']));
        expect(fresh.code, fresh.stderr).toBe(0);
        expect(JSON.parse(fresh.stdout).backup).toBeUndefined();
        expect(await backupsOf('root-fresh')).toEqual([]);
      }, 120_000);
    });
  });
