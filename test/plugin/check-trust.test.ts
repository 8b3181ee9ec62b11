// `check` telling the truth about trust, read from the cacerts Secrets themselves: a VirtualMesh
// whose clusters trust different roots (or whose intermediates are anchored at different roots)
// outside an active rotation fails, during one it is expected; a trust gap always fails; a root
// still trusted that no signing Secret in use holds is a warning; keys Istio 1.15+ loads in
// preference fail; IssuedCertificates Gloo Mesh owns are observed. And whose CRDs are installed,
// and whether they agree with the schemas/ contract. On each backend (the sandbox, then the real
// control plane), with the webhook registered by URL and caBundle.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { registerWebhookIn, startWebhook } from './issue-rotate.helpers.js';
import {
  apply,
  b64,
  buildPlugin,
  kubectl,
  kubectlMeshCert,
  opensslFingerprint,
  patchStatus,
  REPO,
  tempDir,
} from './helpers.js';
import { GLOO, makeIntermediate, makeRoot, namespace, rootSecret, type Ca } from './fixtures.js';

interface Line {
  category: string;
  cluster: string;
  name: string;
  result: 'pass' | 'warn' | 'fail';
  message: string;
  check?: string;
  hint?: string;
}

const VM = { namespace: 'gloo-mesh', name: 'vm' };
const PARENTS = JSON.stringify({ 'networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh': [VM] });
const ROTATIONS = 'certificaterotations.certificates.mesh.gloo.solo.io';
const OWNER = 'owner.networking.mesh.gloo.solo.io';

let world: Backend;
let webhook: Awaited<ReturnType<typeof startWebhook>>;
let env: Record<string, string>;
let dir: string;
let A: Ca;
let B: Ca;
let C: Ca;
/** Intermediates: cluster -> signing root -> CA. */
const inter: Record<string, Record<string, Ca>> = { c1: {}, c2: {} };

const ic = (name: string, extra: { labels?: Record<string, string>; issuedSecret?: string; vm?: boolean } = {}) => ({
  apiVersion: GLOO,
  kind: 'IssuedCertificate',
  metadata: {
    name,
    namespace: 'istio-system',
    ...(extra.vm === false ? {} : { annotations: { 'parents.networking.mesh.gloo.solo.io': PARENTS } }),
    ...(extra.labels ? { labels: extra.labels } : {}),
  },
  spec: {
    hosts: [`spiffe://${name}.local`],
    issuedCertificateSecret: { name: extra.issuedSecret ?? 'cacerts', namespace: 'istio-system' },
    glooMeshCa: { signingCertificateSecret: { name: 'root-a', namespace: 'gloo-mesh' } },
  },
});

/** The cluster's cacerts: an intermediate signed by `signer`, trusting `trusted`, plus any `extra` keys. */
async function putCacerts(
  cluster: 'c1' | 'c2',
  signer: 'A' | 'B',
  trusted: Ca[],
  extra: Record<string, string> = {},
): Promise<void> {
  const root = signer === 'A' ? A : B;
  const ca = inter[cluster]![signer]!;
  const data: Record<string, string> = {
    'ca-cert.pem': b64(ca.certPem),
    'ca-key.pem': b64(ca.keyPem),
    'root-cert.pem': b64(trusted.map((r) => r.certPem).join('')),
    'cert-chain.pem': b64(ca.certPem + root.certPem),
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, b64(v)])),
  };
  // Written whole (kubectl apply would keep keys it did not write).
  await kubectl(world.kubeconfigPath, cluster, [
    'delete',
    'secret',
    'cacerts',
    '-n',
    'istio-system',
    '--ignore-not-found',
  ]);
  await apply(world.kubeconfigPath, cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'cacerts', namespace: 'istio-system' },
    type: 'Opaque',
    data,
  });
}

async function rotation(name: string, rotationState: string): Promise<void> {
  await apply(world.kubeconfigPath, 'mgmt', {
    apiVersion: GLOO,
    kind: 'CertificateRotation',
    metadata: { name, namespace: 'gloo-mesh' },
    spec: { virtualMesh: VM, newRootCaSecret: { name: 'root-b', namespace: 'gloo-mesh' } },
  });
  await patchStatus(world.kubeconfigPath, 'mgmt', ROTATIONS, 'gloo-mesh', name, {
    observedGeneration: 1,
    state: 'ROTATING',
    rotationState,
  });
}

const failRotation = (name: string) =>
  patchStatus(world.kubeconfigPath, 'mgmt', ROTATIONS, 'gloo-mesh', name, {
    state: 'FAILED',
    rotationState: 'FAILED',
    error: 'rolled back by the test',
  });

async function check(args: string[] = []): Promise<{ code: number; lines: Line[] }> {
  const r = await kubectlMeshCert(
    ['check', '--mgmt-context', 'mgmt', '--managed-clusters', 'c1,c2', '-o', 'json', ...args],
    { env },
  );
  const out = JSON.parse(r.stdout);
  expect(out.success).toBe(r.code !== 1); // issue 19: 3 is warnings only, still a success
  return { code: r.code, lines: out.checks };
}

const of = (lines: Line[], id: string) => lines.filter((l) => l.check === id);
const failing = (lines: Line[]) => lines.filter((l) => l.result === 'fail').map((l) => `${l.check}: ${l.message}`);
/** How a root is named: subject and short sha256. */
const label = (cn: string, root: Ca) =>
  `"O=mesh-cert-test, CN=${cn}" (sha256 ${opensslFingerprint(dir, root.certPem).split(':').slice(0, 8).join(':')})`;

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      dir = tempDir();
      webhook = await startWebhook();
      // solo: a cluster of its own for the CRD tests, which replace its IssuedCertificate CRD.
      world = await startBackend(backend, ['mgmt', 'c1', 'c2', 'solo']);
      env = { KUBECONFIG: world.kubeconfigPath };
      const k = world.kubeconfigPath;
      for (const c of ['mgmt', 'c1', 'c2']) await registerWebhookIn(k, c, webhook.url, webhook.caPem);
      [A, B, C] = await Promise.all([makeRoot('root A', 400), makeRoot('root B', 400), makeRoot('root C', 400)]);
      for (const c of ['c1', 'c2'] as const) {
        [inter[c]!.A, inter[c]!.B] = await Promise.all([
          makeIntermediate(A, `${c} by A`, 200),
          makeIntermediate(B, `${c} by B`, 200),
        ]);
      }
      await apply(
        k,
        'mgmt',
        namespace('gloo-mesh'),
        rootSecret('gloo-mesh', 'root-a', A),
        rootSecret('gloo-mesh', 'root-b', B),
      );
      for (const c of ['c1', 'c2'] as const) {
        await apply(k, c, namespace('istio-system'), ic('mesh-ca'));
        await putCacerts(c, 'A', [A]);
      }
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await world?.stop();
      await webhook?.close();
    });

    describe('check: trust across a VirtualMesh, from the cacerts Secrets', () => {
      it('passes when every cluster trusts the same root and is anchored at it', async () => {
        const { code, lines } = await check();
        expect(failing(lines)).toEqual([]);
        expect(code).toBe(0);
        expect(of(lines, 'mesh-trust')).toEqual([
          expect.objectContaining({
            category: 'trust',
            cluster: 'mgmt',
            name: 'VirtualMesh gloo-mesh/vm',
            result: 'pass',
            message: `VirtualMesh gloo-mesh/vm: c1, c2 trust ${label('root A', A)}, intermediates anchored at ${label('root A', A)}`,
          }),
        ]);
        expect(of(lines, 'stale-root').map((l) => `${l.cluster}: ${l.result}`)).toEqual(['c1: pass', 'c2: pass']);
      });

      it('fails clusters that trust different roots outside a rotation, naming clusters and roots; a rotation makes it expected', async () => {
        await putCacerts('c1', 'A', [A, B]);
        let { code, lines } = await check();
        expect(code).toBe(1);
        expect(failing(lines)).toEqual([
          `mesh-trust: VirtualMesh gloo-mesh/vm: its clusters trust different roots outside a rotation: c1 trusts ${label('root A', A)}, ${label('root B', B)}; c2 trusts ${label('root A', A)}`,
        ]);
        expect(of(lines, 'mesh-trust')[0]!.hint).toMatch(/kubectl mesh-cert rotate --virtual-mesh gloo-mesh\/vm/);
        // root B is in no signing Secret in use: a warning naming the cluster and the root.
        expect(of(lines, 'stale-root').filter((l) => l.result !== 'pass')).toEqual([
          expect.objectContaining({
            cluster: 'c1',
            result: 'warn',
            message: `cluster c1 still trusts ${label('root B', B)} (Secret istio-system/cacerts), which no IssuedCertificate's signing Secret uses any more (left by a rollback that could not finish, or a failed rotation's new root?)`,
            hint: 'kubectl mesh-cert issue mesh-ca -n istio-system --cluster c1 re-issues it with only the roots in use',
          }),
        ]);

        // The same Secrets while a rotation of the VirtualMesh is active: expected, and root B is the rotation's.
        await rotation('rot-1', 'ADDING_NEW_ROOT');
        ({ code, lines } = await check());
        expect(failing(lines)).toEqual([]);
        expect(code).toBe(0);
        expect(of(lines, 'mesh-trust')).toEqual([
          expect.objectContaining({
            result: 'pass',
            message: `VirtualMesh gloo-mesh/vm: its clusters trust different roots, as expected during CertificateRotation gloo-mesh/rot-1 (ROTATING, ADDING_NEW_ROOT): c1 trusts ${label('root A', A)}, ${label('root B', B)}; c2 trusts ${label('root A', A)}`,
          }),
        ]);
        expect(of(lines, 'stale-root').map((l) => l.result)).toEqual(['pass', 'pass']);

        // The rotation failed and left c1 trusting its new root: a failure again, and a stale root.
        await failRotation('rot-1');
        ({ code, lines } = await check());
        expect(code).toBe(1);
        expect(failing(lines)).toEqual([
          expect.stringMatching(
            /^mesh-trust: VirtualMesh gloo-mesh\/vm: its clusters trust different roots outside a rotation: /,
          ),
        ]);
        expect(
          of(lines, 'stale-root')
            .filter((l) => l.result === 'warn')
            .map((l) => l.cluster),
        ).toEqual(['c1']);
      });

      it('fails intermediates anchored at different roots outside a rotation', async () => {
        await putCacerts('c1', 'B', [A, B]);
        await putCacerts('c2', 'A', [A, B]);
        const { code, lines } = await check();
        expect(code).toBe(1);
        expect(of(lines, 'mesh-trust')).toEqual([
          expect.objectContaining({
            result: 'fail',
            message: `VirtualMesh gloo-mesh/vm: its clusters trust the same roots, with intermediates anchored at different roots outside a rotation: c1 has its intermediate anchored at ${label('root B', B)}; c2 has its intermediate anchored at ${label('root A', A)}`,
          }),
        ]);
      });

      it('fails a trust gap even during a rotation', async () => {
        await rotation('rot-2', 'PROPAGATING_NEW_INTERMEDIATE');
        try {
          await putCacerts('c1', 'B', [A, B]);
          await putCacerts('c2', 'A', [A]);
          const { code, lines } = await check();
          expect(code).toBe(1);
          expect(of(lines, 'mesh-trust')).toEqual([
            expect.objectContaining({
              result: 'fail',
              message: `VirtualMesh gloo-mesh/vm: trust gap (during CertificateRotation gloo-mesh/rot-2 (ROTATING, PROPAGATING_NEW_INTERMEDIATE)): cluster c1's intermediate (Secret istio-system/cacerts) is anchored at ${label('root B', B)}, which c2 does not trust`,
            }),
          ]);
        } finally {
          await failRotation('rot-2');
        }
      });

      it('warns about a root every cluster still trusts that no signing Secret holds', async () => {
        await putCacerts('c1', 'A', [A, C]);
        await putCacerts('c2', 'A', [A, C]);
        const { code, lines } = await check();
        expect(failing(lines)).toEqual([]);
        expect(code).toBe(3); // issue 19: warnings only
        expect(
          of(lines, 'stale-root').map(
            (l) => `${l.cluster} ${l.result}: ${l.message.slice(0, l.message.indexOf(' (Secret'))}`,
          ),
        ).toEqual([
          `c1 warn: cluster c1 still trusts ${label('root C', C)}`,
          `c2 warn: cluster c2 still trusts ${label('root C', C)}`,
        ]);
      });
    });

    describe('check: cacerts keys Istio loads in preference', () => {
      it('fails a cacerts Secret holding tls.crt or ca.crt, naming the Secret and the keys, and the fix', async () => {
        await putCacerts('c1', 'A', [A]);
        await putCacerts('c2', 'A', [A], { 'tls.crt': inter.c2!.B!.certPem, 'ca.crt': B.certPem });
        const { code, lines } = await check();
        expect(code).toBe(1);
        expect(failing(lines)).toEqual([
          'cacerts-istio-keys: Secret istio-system/cacerts holds tls.crt, ca.crt, which Istio 1.15+ loads in preference to ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem: istiod ignores the intermediate mesh-cert issued',
        ]);
        const l = of(lines, 'cacerts-istio-keys').find((x) => x.result === 'fail')!;
        expect(l).toMatchObject({
          cluster: 'c2',
          category: 'cacerts',
          name: 'Secret istio-system/cacerts keys',
          hint: 'kubectl mesh-cert issue mesh-ca -n istio-system --cluster c2 rewrites it whole (the four Istio keys only)',
        });
        expect(of(lines, 'cacerts-istio-keys').find((x) => x.cluster === 'c1')!.result).toBe('pass');
        const table = await kubectlMeshCert(['check', '--mgmt-context', 'mgmt', '--managed-clusters', 'c1,c2'], {
          env,
        });
        expect(table.stdout).toContain(
          '✗ [c2] Secret istio-system/cacerts holds tls.crt, ca.crt, which Istio 1.15+ loads in preference',
        );
        expect(table.stdout).toContain(
          '    hint: kubectl mesh-cert issue mesh-ca -n istio-system --cluster c2 rewrites it whole (the four Istio keys only)\n',
        );
        await putCacerts('c2', 'A', [A]);
      });
    });

    describe('check: IssuedCertificates Gloo Mesh owns', () => {
      it('reports them as observed, and a FAILED one as a warning, not a failure of mesh-cert', async () => {
        const owned = ic('gm-ca', {
          labels: { [OWNER]: 'gloo-mesh-networking' },
          issuedSecret: 'gm-cacerts',
          vm: false,
        });
        await apply(world.kubeconfigPath, 'c2', owned);
        let { code, lines } = await check();
        expect(code).toBe(0);
        expect(of(lines, 'gloo-mesh-owned')).toEqual([
          expect.objectContaining({
            category: 'certificates',
            cluster: 'c2',
            result: 'pass',
            message: `IssuedCertificate istio-system/gm-ca is driven by Gloo Mesh (${OWNER}=gloo-mesh-networking): mesh-cert observes it, PENDING`,
          }),
        ]);
        await patchStatus(
          world.kubeconfigPath,
          'c2',
          'issuedcertificates.certificates.mesh.gloo.solo.io',
          'istio-system',
          'gm-ca',
          { observedGeneration: 1, state: 'FAILED', error: "Gloo Mesh's agent could not reach the issuer" },
        );
        ({ code, lines } = await check());
        expect(failing(lines)).toEqual([]);
        expect(code).toBe(3); // issue 19: warnings only
        expect(of(lines, 'gloo-mesh-owned')).toEqual([
          expect.objectContaining({
            result: 'warn',
            message: `IssuedCertificate istio-system/gm-ca is driven by Gloo Mesh (${OWNER}=gloo-mesh-networking): mesh-cert observes it, FAILED: Gloo Mesh's agent could not reach the issuer`,
          }),
        ]);
        await kubectl(world.kubeconfigPath, 'c2', [
          'delete',
          'issuedcertificates.certificates.mesh.gloo.solo.io',
          'gm-ca',
          '-n',
          'istio-system',
        ]);
      });
    });

    describe('check: whose CRDs, and do they agree with the contract', () => {
      const NAME = 'issuedcertificates.certificates.mesh.gloo.solo.io';
      const ours = () => parseYaml(readFileSync(join(REPO, 'manifests/crds', `${NAME}.yaml`), 'utf8'));
      /** Replaces the cluster's IssuedCertificate CRD (deleted first: apply would merge the labels). */
      const install = async (crd: object) => {
        await kubectl(world.kubeconfigPath, 'solo', ['delete', 'crd', NAME, '--ignore-not-found']);
        await kubectl(world.kubeconfigPath, 'solo', ['create', '-f', '-'], JSON.stringify(crd));
      };
      const crdLines = async () => {
        const r = await kubectlMeshCert(
          ['check', '-o', 'json', '--mgmt-context', 'solo', '--managed-clusters', 'solo'],
          { env },
        );
        return (JSON.parse(r.stdout).checks as Line[]).filter((l) => l.category === 'CRDs');
      };
      /** Gloo Mesh's CRD as skv2 generates it: its labels and spec-hash annotation, no mesh-cert category. */
      const glooMeshCrd = (edit: (schema: any) => void) => {
        const crd = ours();
        crd.metadata = {
          name: NAME,
          labels: { app: 'gloo-mesh', 'app.kubernetes.io/name': 'gloo-mesh' },
          annotations: { 'crd.solo.io/specHash': 'b6ec737002f7d02e' },
        };
        delete crd.spec.names.categories;
        edit(crd.spec.versions[0].schema.openAPIV3Schema);
        return crd;
      };

      it("recognises Gloo Mesh's CRD and names the contract's fields it lacks", async () => {
        await install(
          glooMeshCrd((s) => {
            delete s.properties.spec.properties.rotationState;
            delete s.properties.status.properties.observedRotationState;
          }),
        );
        const lines = await crdLines();
        expect(lines.find((l) => l.name === NAME && l.check === 'crd-installed')).toMatchObject({
          result: 'pass',
          message: `CRD ${NAME} is installed, Gloo Mesh's (label app=gloo-mesh)`,
        });
        expect(lines.filter((l) => l.check === 'crd-contract').map((l) => l.result)).toEqual(['pass']);
        expect(lines.filter((l) => l.check === 'crd-current')).toEqual([
          expect.objectContaining({
            name: NAME,
            result: 'warn',
            message: `CRD ${NAME} (Gloo Mesh's) lacks spec.rotationState, status.observedRotationState (the API server prunes them from what mesh-cert writes)`,
            hint: "upgrade Gloo Mesh's CRDs, or install mesh-cert's over them: kubectl apply -k manifests/ (see README: what that does to Gloo Mesh's)",
          }),
        ]);
        // The other four are mesh-cert's.
        expect(lines.filter((l) => l.check === 'crd-installed' && l.name !== NAME).map((l) => l.message)).toEqual(
          Array(4).fill(
            expect.stringMatching(/ is installed, mesh-cert's \(label app\.kubernetes\.io\/part-of=mesh-cert\)$/),
          ),
        );
      });

      it('passes a Gloo Mesh CRD that keeps unknown fields, and fails one that types a field otherwise', async () => {
        await install(
          glooMeshCrd((s) => {
            s.properties.spec = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
          }),
        );
        let lines = await crdLines();
        expect(lines.filter((l) => l.result !== 'pass')).toEqual([]);

        await install(
          glooMeshCrd((s) => {
            s.properties.spec.properties.hosts = { type: 'string' };
          }),
        );
        lines = await crdLines();
        expect(lines.filter((l) => l.result !== 'pass').map((l) => `${l.check} ${l.result}: ${l.message}`)).toEqual([
          `crd-contract fail: CRD ${NAME} (Gloo Mesh's) disagrees with the schemas/ contract: it types fields otherwise: spec.hosts is string (the contract: array)`,
        ]);
      });

      it("fails a CRD that does not serve the contract's version, and names one of unknown origin", async () => {
        const crd = ours();
        crd.metadata = { name: NAME };
        delete crd.spec.names.categories;
        crd.spec.versions[0].name = 'v1alpha1';
        await install(crd);
        const lines = await crdLines();
        expect(lines.find((l) => l.name === NAME && l.check === 'crd-installed')!.message).toMatch(
          new RegExp(
            `^CRD ${NAME.replace(/\./g, '\\.')} is installed, of unknown origin \\(neither mesh-cert's label app\\.kubernetes\\.io/part-of=mesh-cert nor Gloo Mesh's`,
          ),
        );
        expect(lines.filter((l) => l.result === 'fail')).toEqual([
          expect.objectContaining({
            check: 'crd-contract',
            message: `CRD ${NAME} (of unknown origin) disagrees with the schemas/ contract: it does not serve v1 (serves v1alpha1)`,
            hint: expect.stringContaining('kubectl apply -k manifests/'),
          }),
        ]);
        await install(ours());
        expect((await crdLines()).filter((l) => l.result !== 'pass')).toEqual([]);
      });
    });
  });
}
