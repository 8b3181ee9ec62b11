// `status` telling the truth about trust: per VirtualMesh, the roots its clusters' cacerts Secrets
// trust (read from the Secrets themselves) and the root each intermediate is anchored at. Mixed
// outside an active CertificateRotation exits 1 naming the clusters and roots; during one it is
// shown as expected. IssuedCertificates Gloo Mesh owns are shown as driven by Gloo Mesh, and their
// failures are observed, not mesh-cert's to drive. On both backends (the sandbox and the real
// control plane).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import {
  apply,
  b64,
  buildPlugin,
  kubectl,
  kubectlMeshCert,
  opensslFingerprint,
  patchStatus,
  tempDir,
} from './helpers.js';
import { GLOO, makeIntermediate, makeRoot, namespace, rootSecret, type Ca } from './fixtures.js';

const VM = { namespace: 'gloo-mesh', name: 'vm' };
const PARENTS = JSON.stringify({ 'networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh': [VM] });
const OWNER = 'owner.networking.mesh.gloo.solo.io';

let backend: Backend;
let env: Record<string, string>;
let dir: string;
let A: Ca;
let B: Ca;
const inter: Record<string, Record<string, Ca>> = { c1: {}, c2: {} };

interface Row {
  cluster: string;
  kind: string;
  name: string;
  state: string;
  drivenBy?: string;
  owner?: string;
  trust?: {
    secret: string;
    roots: { subject: string; fingerprint: string }[];
    anchor?: { subject: string; fingerprint: string };
  };
}

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

async function putCacerts(cluster: 'c1' | 'c2', signer: 'A' | 'B', trusted: Ca[]): Promise<void> {
  const root = signer === 'A' ? A : B;
  const ca = inter[cluster]![signer]!;
  await kubectl(backend.kubeconfigPath, cluster, [
    'delete',
    'secret',
    'cacerts',
    '-n',
    'istio-system',
    '--ignore-not-found',
  ]);
  await apply(backend.kubeconfigPath, cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'cacerts', namespace: 'istio-system' },
    type: 'Opaque',
    data: {
      'ca-cert.pem': b64(ca.certPem),
      'ca-key.pem': b64(ca.keyPem),
      'root-cert.pem': b64(trusted.map((r) => r.certPem).join('')),
      'cert-chain.pem': b64(ca.certPem + root.certPem),
    },
  });
}

const status = (args: string[] = []) =>
  kubectlMeshCert(['status', '--mgmt-context', 'mgmt', '--managed-clusters', 'c1,c2', ...args], { env });
const fp = (root: Ca) => opensslFingerprint(dir, root.certPem);
const label = (cn: string, root: Ca) =>
  `"O=mesh-cert-test, CN=${cn}" (sha256 ${fp(root).split(':').slice(0, 8).join(':')})`;

async function setUp(kind: Backend['kind']): Promise<void> {
  buildPlugin();
  dir = tempDir();
  backend = await startBackend(kind, ['mgmt', 'c1', 'c2']);
  env = { KUBECONFIG: backend.kubeconfigPath };
  [A, B] = await Promise.all([makeRoot('root A', 400), makeRoot('root B', 400)]);
  for (const c of ['c1', 'c2'] as const) {
    [inter[c]!.A, inter[c]!.B] = await Promise.all([
      makeIntermediate(A, `${c} by A`, 200),
      makeIntermediate(B, `${c} by B`, 200),
    ]);
  }
  await apply(
    backend.kubeconfigPath,
    'mgmt',
    namespace('gloo-mesh'),
    rootSecret('gloo-mesh', 'root-a', A),
    rootSecret('gloo-mesh', 'root-b', B),
  );
  for (const c of ['c1', 'c2'] as const) {
    await apply(backend.kubeconfigPath, c, namespace('istio-system'), ic('mesh-ca'));
    await putCacerts(c, 'A', [A]);
  }
}

for (const kind of BACKENDS)
  describe(`status trust (${kind})`, () => {
    beforeAll(() => setUp(kind), START_TIMEOUT_MS);

    afterAll(async () => {
      await backend?.stop();
    });

    describe('status: trust across a VirtualMesh', () => {
      it('shows what each cluster trusts, read from its Secret, and exits 0 when they agree', async () => {
        const r = await status(['-o', 'json']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const rows: Row[] = JSON.parse(r.stdout).items.map(rowOf);
        for (const c of ['c1', 'c2']) {
          expect(rows.find((x) => x.cluster === c && x.kind === 'IssuedCertificate')).toMatchObject({
            drivenBy: 'mesh-cert',
            trust: {
              secret: 'istio-system/cacerts',
              roots: [{ subject: 'O=mesh-cert-test, CN=root A', fingerprint: fp(A) }],
              anchor: { fingerprint: fp(A) },
            },
          });
        }
        const t = await status();
        expect(t.stdout).toContain(
          `✓ VirtualMesh gloo-mesh/vm: c1, c2 trust ${label('root A', A)}, intermediates anchored at ${label('root A', A)}\n`,
        );
      });

      it('exits 1 when the clusters trust different roots outside a rotation, naming clusters and roots', async () => {
        await putCacerts('c1', 'A', [A, B]);
        const r = await status();
        expect(r.code).toBe(1);
        const why = `VirtualMesh gloo-mesh/vm: its clusters trust different roots outside a rotation: c1 trusts ${label('root A', A)}, ${label('root B', B)}; c2 trusts ${label('root A', A)}`;
        expect(r.stderr).toBe(`problem: ${why}\n`);
        expect(r.stdout).toContain(`✗ ${why}\n`);
        const w = await status(['-o', 'wide']);
        expect(w.stdout.split('\n')[0]).toMatch(/TRUSTS\s+ANCHOR/);
        const short = (root: Ca) => fp(root).split(':').slice(0, 8).join(':');
        expect(w.stdout).toMatch(
          new RegExp(`c1\\s+istio-system\\s+mesh-ca\\s+IssuedCertificate.*${short(A)},${short(B)}\\s+${short(A)}`),
        );
      });

      it('exits 1 when intermediates are anchored at different roots outside a rotation', async () => {
        await putCacerts('c1', 'B', [A, B]);
        await putCacerts('c2', 'A', [A, B]);
        const r = await status();
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
          `problem: VirtualMesh gloo-mesh/vm: its clusters trust the same roots, with intermediates anchored at different roots outside a rotation: c1 has its intermediate anchored at ${label('root B', B)}; c2 has its intermediate anchored at ${label('root A', A)}\n`,
        );
      });

      it('shows the mixed state as expected while a CertificateRotation of the VirtualMesh is active, with -n too', async () => {
        await apply(backend.kubeconfigPath, 'mgmt', {
          apiVersion: GLOO,
          kind: 'CertificateRotation',
          metadata: { name: 'rot-1', namespace: 'gloo-mesh' },
          spec: { virtualMesh: VM, newRootCaSecret: { name: 'root-b', namespace: 'gloo-mesh' } },
        });
        await patchStatus(
          backend.kubeconfigPath,
          'mgmt',
          'certificaterotations.certificates.mesh.gloo.solo.io',
          'gloo-mesh',
          'rot-1',
          { observedGeneration: 1, state: 'ROTATING', rotationState: 'PROPAGATING_NEW_INTERMEDIATE' },
        );
        const r = await status();
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(
          `✓ VirtualMesh gloo-mesh/vm: its clusters trust the same roots, with intermediates anchored at different roots, as expected during CertificateRotation gloo-mesh/rot-1 (ROTATING, PROPAGATING_NEW_INTERMEDIATE): c1 has its intermediate anchored at ${label('root B', B)}; c2 has its intermediate anchored at ${label('root A', A)}\n`,
        );
        // -n istio-system hides the rotation's row, not the rotation.
        const n = await status(['-n', 'istio-system']);
        expect(n.stderr).toBe('');
        expect(n.code).toBe(0);
        expect(n.stdout).not.toMatch(/rot-1\s+CertificateRotation/);
        expect(n.stdout).toContain('as expected during CertificateRotation gloo-mesh/rot-1');

        // A gap fails, rotation or not: c2 no longer trusts the root c1's intermediate is anchored at.
        await putCacerts('c2', 'A', [A]);
        const gap = await status();
        expect(gap.code).toBe(1);
        expect(gap.stderr).toBe(
          `problem: VirtualMesh gloo-mesh/vm: trust gap (during CertificateRotation gloo-mesh/rot-1 (ROTATING, PROPAGATING_NEW_INTERMEDIATE)): cluster c1's intermediate (Secret istio-system/cacerts) is anchored at ${label('root B', B)}, which c2 does not trust\n`,
        );

        // The rotation FAILED: no longer active, the mixed state is a failure again.
        await putCacerts('c2', 'A', [A, B]);
        await patchStatus(
          backend.kubeconfigPath,
          'mgmt',
          'certificaterotations.certificates.mesh.gloo.solo.io',
          'gloo-mesh',
          'rot-1',
          { state: 'FAILED', rotationState: 'FAILED', error: 'rolled back by the test' },
        );
        const after = await status();
        expect(after.code).toBe(1);
        expect(after.stderr).toContain(
          'problem: CertificateRotation gloo-mesh/rot-1 on cluster mgmt is FAILED: rolled back by the test\n',
        );
        expect(after.stderr).toContain(
          'problem: VirtualMesh gloo-mesh/vm: its clusters trust the same roots, with intermediates anchored at different roots outside a rotation: ',
        );
        await kubectl(backend.kubeconfigPath, 'mgmt', [
          'delete',
          'certificaterotations.certificates.mesh.gloo.solo.io',
          'rot-1',
          '-n',
          'gloo-mesh',
        ]);
        await putCacerts('c1', 'A', [A]);
        await putCacerts('c2', 'A', [A]);
      });
    });

    describe('status: IssuedCertificates Gloo Mesh owns', () => {
      it('marks them driven by Gloo Mesh; their FAILED state is a note, not a failure of mesh-cert', async () => {
        await apply(
          backend.kubeconfigPath,
          'c2',
          ic('gm-ca', { labels: { [OWNER]: 'gloo-mesh-networking' }, issuedSecret: 'gm-cacerts', vm: false }),
        );
        await patchStatus(
          backend.kubeconfigPath,
          'c2',
          'issuedcertificates.certificates.mesh.gloo.solo.io',
          'istio-system',
          'gm-ca',
          { observedGeneration: 1, state: 'FAILED', error: "Gloo Mesh's agent could not reach the issuer" },
        );
        const t = await status(['-o', 'wide']);
        expect(t.code).toBe(0);
        expect(t.stderr).toBe(
          `note: IssuedCertificate istio-system/gm-ca on cluster c2 is FAILED: Gloo Mesh's agent could not reach the issuer (driven by Gloo Mesh, ${OWNER}=gloo-mesh-networking: mesh-cert only observes it)\n`,
        );
        expect(t.stdout).toMatch(/c2\s+istio-system\s+gm-ca\s+IssuedCertificate\s+FAILED\s+Gloo Mesh\s/);
        expect(t.stdout).toMatch(/c2\s+istio-system\s+mesh-ca\s+IssuedCertificate\s+PENDING\s+mesh-cert\s/);
        const rows: Row[] = JSON.parse((await status(['-o', 'json'])).stdout).items.map(rowOf);
        expect(rows.find((r) => r.name === 'gm-ca')).toMatchObject({
          state: 'FAILED',
          drivenBy: 'Gloo Mesh',
          owner: `${OWNER}=gloo-mesh-networking`,
        });
        // mesh-cert's own FAILED certificate is still a failure.
        await patchStatus(
          backend.kubeconfigPath,
          'c1',
          'issuedcertificates.certificates.mesh.gloo.solo.io',
          'istio-system',
          'mesh-ca',
          { observedGeneration: 1, state: 'FAILED', error: 'signing Secret gloo-mesh/root-a not found' },
        );
        const mine = await status();
        expect(mine.code).toBe(1);
        expect(mine.stderr).toContain(
          'problem: IssuedCertificate istio-system/mesh-ca on cluster c1 is FAILED: signing Secret gloo-mesh/root-a not found\n',
        );
      });
    });
  });

// issue 19: -o json items are the objects, annotated with their cluster and what status computed
function rowOf(o: {
  kind: string;
  metadata: { name: string; namespace?: string; annotations: Record<string, string> };
}): Row {
  return {
    cluster: o.metadata.annotations['mesh-cert.solo.io/cluster'],
    kind: o.kind,
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    ...JSON.parse(o.metadata.annotations['mesh-cert.solo.io/status-report']),
  } as Row;
}
