// --dry-run=client|server on every command that writes (root create, issue, rotate, approve,
// deny), as a user runs them, on each backend with the real webhook registered: server-side the
// API server, its CRD rules and the webhook judge every write and nothing is stored; client-side
// nothing is sent. Each test checks with kubectl that the clusters did not change.
import { describe, expect, it } from 'vitest';
import { apply, b64, patchStatus } from './helpers.js';
import { BACKENDS } from '../backend/index.js';
import { useCliWorld } from './cli-world.js';
import { makeIntermediate, makeRoot, ZEPHYR } from './fixtures.js';
import { mergePatched } from '../../plugin/src/lib/merge-patch.js';
import { printable } from '../../plugin/src/actions/dry-run-report.js';

const IC = 'issuedcertificates.certificates.mesh.gloo.solo.io';
const ROT = 'certificaterotations.certificates.mesh.gloo.solo.io';
const VMCSR = 'virtualmeshcertificatesigningrequests.security.zephyr.solo.io';

const ISSUE = (name: string, ...extra: string[]) => [
  'issue',
  name,
  '--mgmt-context',
  'mgmt',
  '--managed-clusters',
  'c1',
  '-n',
  'istio-system',
  '--signing-secret',
  'gloo-mesh/root-ca',
  '--key-size',
  '2048',
  ...extra,
];

// --dry-run=client computes the result itself: a merge patch as the API server applies it, and
// the object printed without a private key.
describe('client-side results', () => {
  it('applies a merge patch as RFC 7386 says: objects merge, null removes, arrays and scalars replace', () => {
    const target = {
      metadata: { name: 'x', labels: { a: '1', b: '2' } },
      spec: { hosts: ['a', 'b'], n: 1 },
      status: { state: 'PENDING' },
    };
    const patched = mergePatched(target, {
      metadata: { labels: { b: null, c: '3' } },
      spec: { hosts: ['c'] },
      status: { thirdPartyApproval: { approvalStatus: 'DENIED' } },
    });
    expect(patched).toEqual({
      metadata: { name: 'x', labels: { a: '1', c: '3' } },
      spec: { hosts: ['c'], n: 1 },
      status: { state: 'PENDING', thirdPartyApproval: { approvalStatus: 'DENIED' } },
    });
    expect(target.metadata.labels).toEqual({ a: '1', b: '2' });
  });

  it('never prints a private key: Secret values holding one are replaced, the rest kept', () => {
    const key = Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n').toString('base64');
    const cert = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    const o = printable(
      {
        cluster: 'c1',
        operation: 'create',
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: 'ns',
        name: 's',
        object: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's' },
          data: { 'ca-key.pem': key, 'ca-cert.pem': cert },
        },
      },
      'mesh-cert.solo.io/cluster',
    );
    expect(o).toMatchObject({
      data: { 'ca-key.pem': '<redacted: private key>', 'ca-cert.pem': cert },
      metadata: { annotations: { 'mesh-cert.solo.io/cluster': 'c1', 'mesh-cert.solo.io/dry-run-operation': 'create' } },
    });
  });
});

for (const backend of BACKENDS) {
  describe(backend, () => {
    const world = useCliWorld(backend, ['mgmt', 'c1']);
    const { mc } = world;
    /** Everything of a kind in a namespace, names only (what must not change). */
    const names = async (context: string, resource: string, ns: string): Promise<string[]> =>
      (await world.kubectl(context, ['get', resource, '-n', ns, '-o', 'name'])).split('\n').filter(Boolean).sort();
    const getJson = async (context: string, resource: string, ns: string, name: string): Promise<any> =>
      JSON.parse(await world.kubectl(context, ['get', resource, name, '-n', ns, '-o', 'json']));

    it('root create: server-side the Secret is judged and answered by the API server, client-side only printed; neither is stored', async () => {
      const before = await names('mgmt', 'secrets', 'gloo-mesh');
      const server = await mc([
        'root',
        'create',
        'gloo-mesh/dry-root',
        '--mgmt-context',
        'mgmt',
        '--key-size',
        '2048',
        '--dry-run=server',
        '-o',
        'json',
      ]);
      expect(server.code, server.stderr).toBe(0);
      const list = JSON.parse(server.stdout);
      expect(list.kind).toBe('List');
      expect(list.items).toHaveLength(1);
      const [s] = list.items;
      expect(s).toMatchObject({
        kind: 'Secret',
        metadata: {
          name: 'dry-root',
          namespace: 'gloo-mesh',
          annotations: { 'mesh-cert.solo.io/cluster': 'mgmt', 'mesh-cert.solo.io/dry-run-operation': 'create' },
        },
      });
      // The API server's answer (it stamps what it would store), the key never shown.
      expect(s.metadata.creationTimestamp).toBeTruthy();
      expect(s.data['ca-key.pem']).toBe('<redacted: private key>');
      expect(Buffer.from(s.data['ca-cert.pem'], 'base64').toString()).toContain('BEGIN CERTIFICATE');
      expect(server.stderr).toMatch(
        /secret\/dry-root would be created in namespace gloo-mesh on cluster mgmt \(server dry run\)/,
      );

      const client = await mc([
        'root',
        'create',
        'gloo-mesh/dry-root',
        '--mgmt-context',
        'mgmt',
        '--key-size',
        '2048',
        '--dry-run=client',
      ]);
      expect(client.code, client.stderr).toBe(0);
      expect(client.stdout).toMatch(/^CLUSTER\s+OPERATION\s+KIND\s+NAMESPACE\s+NAME\s+RESULT$/m);
      expect(client.stdout).toMatch(/^mgmt\s+create\s+Secret\s+gloo-mesh\s+dry-root\s+\(dry run\)$/m);
      expect(await names('mgmt', 'secrets', 'gloo-mesh')).toEqual(before);

      // --force over an existing Secret: the backup and the replacement both judged, neither stored.
      const forced = await mc([
        'root',
        'create',
        'gloo-mesh/root-ca',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1',
        '--key-size',
        '2048',
        '--force',
        '--dry-run=server',
        '-o',
        'name',
      ]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout.trim().split('\n')).toEqual([
        expect.stringMatching(/^mgmt\/secret\/root-ca-backup-\d{14}$/),
        'mgmt/secret/root-ca',
      ]);
      expect(forced.stderr).toContain('would keep a copy of the previous Secret gloo-mesh/root-ca');
      expect(await names('mgmt', 'secrets', 'gloo-mesh')).toEqual(before);
    }, 120_000);

    it('issue: a new IssuedCertificate is judged, and what the run would wait for is said; nothing is stored', async () => {
      const r = await mc([
        ...ISSUE('dry-ca', '--host', 'spiffe://dry.local/ns/istio-system/sa/istiod'),
        '--dry-run=server',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^c1\s+create\s+IssuedCertificate\s+istio-system\s+dry-ca\s+\(server dry run\)$/m);
      expect(r.stderr).toContain(
        'c1 istio-system/dry-ca: IssuedCertificate created; would then drive it to FINISHED, waiting for each step: the key and CSR in cluster "c1", the signature by the management cluster\'s Secret gloo-mesh/root-ca, the issued Secret istio-system/cacerts',
      );
      expect(await names('c1', IC, 'istio-system')).toEqual([]);
      expect(await names('c1', 'secrets', 'istio-system')).toEqual([]);
    }, 60_000);

    it('issue --dry-run=server: the CRD rules and the webhook refuse what is invalid, which --dry-run=client cannot tell', async () => {
      const server = await mc([...ISSUE('dry-bad', '--host', ''), '--dry-run=server']);
      expect(server.code).toBe(1);
      expect(server.stderr).toMatch(
        /error: c1 istio-system\/dry-bad: create IssuedCertificate istio-system\/dry-bad on cluster "c1": .*spec\.hosts\[0\]/,
      );
      const client = await mc([...ISSUE('dry-bad', '--host', ''), '--dry-run=client', '-o', 'yaml']);
      expect(client.code, client.stderr).toBe(0);
      expect(client.stdout).toMatch(/kind: IssuedCertificate/);
      expect(client.stdout).toMatch(/hosts:\n\s+- ""/);
      expect(client.stdout).not.toMatch(/creationTimestamp/);
      expect(await names('c1', IC, 'istio-system')).toEqual([]);
    }, 60_000);

    it("issue on a certificate already as asked: the agent's next write is judged, one pass", async () => {
      const real = await mc([
        ...ISSUE('dry-next', '--host', 'spiffe://next.local/ns/istio-system/sa/istiod'),
        '--no-wait',
      ]);
      expect(real.code, real.stderr).toBe(0);
      const before = await getJson('c1', IC, 'istio-system', 'dry-next');
      const r = await mc([
        'issue',
        'dry-next',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1',
        '-n',
        'istio-system',
        '--dry-run=server',
      ]);
      expect(r.code, r.stderr).toBe(0);
      // The agent's first step: its key Secret in the managed cluster (the key itself never printed).
      expect(r.stdout).toMatch(/^c1\s+create\s+Secret\s+istio-system\s+dry-next\s+\(server dry run\)$/m);
      expect(r.stderr).toMatch(/c1 istio-system\/dry-next: next: generate-key; would then drive it to FINISHED/);
      const after = await getJson('c1', IC, 'istio-system', 'dry-next');
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect(await names('c1', 'secrets', 'istio-system')).toEqual([]);
    }, 60_000);

    it('rotate: the CertificateRotation that would start is judged; no step is taken and nothing is stored', async () => {
      const issued = await mc([
        ...ISSUE(
          'rot-ca',
          '--host',
          'spiffe://rot.local/ns/istio-system/sa/istiod',
          '--virtual-mesh',
          'gloo-mesh/vm',
          '--issued-secret',
          'istio-system/rot-cacerts',
        ),
      ]);
      expect(issued.code, issued.stderr).toBe(0);
      const root2 = await mc(['root', 'create', 'gloo-mesh/root-2', '--mgmt-context', 'mgmt', '--key-size', '2048']);
      expect(root2.code, root2.stderr).toBe(0);
      const before = (await getJson('c1', 'secret', 'istio-system', 'rot-cacerts')).metadata.resourceVersion;
      const ROTATE = ['rotate', '--virtual-mesh', 'gloo-mesh/vm', '--mgmt-context', 'mgmt', '--managed-clusters', 'c1'];
      // No --yes and no terminal: a dry run reaches no verification, so it needs none.
      const server = await mc([...ROTATE, '--new-root-secret', 'gloo-mesh/root-2', '--dry-run=server', '-o', 'json']);
      expect(server.code, server.stderr).toBe(0);
      const list = JSON.parse(server.stdout);
      expect(
        list.items.map(
          (o: any) =>
            `${o.kind} ${o.metadata.namespace}/${o.metadata.name.replace(/\d{14}$/, 'TIME')} ${o.metadata.annotations['mesh-cert.solo.io/dry-run-operation']}`,
        ),
      ).toEqual(['CertificateRotation gloo-mesh/vm-TIME create']);
      expect(list.items[0].metadata.uid).toBeTruthy();
      expect(server.stderr).toMatch(/would create CertificateRotation gloo-mesh\/vm-\d{14}/);
      expect(server.stderr).toMatch(
        /would then take CertificateRotation gloo-mesh\/vm-\d{14} from NOT_ROTATING through ADDING_NEW_ROOT, PROPAGATING_NEW_INTERMEDIATE, verification, DELETING_OLD_ROOT, verification to FINISHED, waiting at each step for every IssuedCertificate of VirtualMesh gloo-mesh\/vm in c1 to be re-issued; nothing was stored/,
      );
      const client = await mc([...ROTATE, '--generate-root', '--dry-run=client']);
      expect(client.code, client.stderr).toBe(0);
      expect(client.stdout).toMatch(/^mgmt\s+create\s+Secret\s+gloo-mesh\s+vm-root-\d{14}\s+\(dry run\)$/m);
      expect(client.stdout).toMatch(/^mgmt\s+create\s+CertificateRotation\s+gloo-mesh\s+vm-\d{14}\s+\(dry run\)$/m);
      expect(await names('mgmt', ROT, 'gloo-mesh')).toEqual([]);
      expect((await names('mgmt', 'secrets', 'gloo-mesh')).filter((n) => /vm-root/.test(n))).toEqual([]);
      expect((await getJson('c1', 'secret', 'istio-system', 'rot-cacerts')).metadata.resourceVersion).toBe(before);

      // --abort of an active (here: PENDING) rotation: the rollback's first status write is judged.
      await apply(world.kubeconfigPath, 'mgmt', {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'CertificateRotation',
        metadata: { name: 'vm-pending', namespace: 'gloo-mesh' },
        spec: {
          virtualMesh: { name: 'vm', namespace: 'gloo-mesh' },
          newRootCaSecret: { name: 'root-2', namespace: 'gloo-mesh' },
        },
      });
      const pending = await getJson('mgmt', ROT, 'gloo-mesh', 'vm-pending');
      const abort = await mc([
        'rotate',
        '--virtual-mesh',
        'gloo-mesh/vm',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1',
        '--abort',
        '--dry-run=server',
        '-o',
        'yaml',
      ]);
      expect(abort.code, abort.stderr).toBe(0);
      expect(abort.stdout).toMatch(/rotationState: ROLLING_BACK/);
      expect(abort.stdout).toMatch(/mesh-cert\.solo\.io\/dry-run-operation: replace status/);
      expect(abort.stderr).toContain(
        'would then roll back CertificateRotation gloo-mesh/vm-pending (ROLLING_BACK, PREVIOUS_CA)',
      );
      expect((await getJson('mgmt', ROT, 'gloo-mesh', 'vm-pending')).metadata.resourceVersion).toBe(
        pending.metadata.resourceVersion,
      );
    }, 120_000);

    it('approve and deny: the decision is judged by the CRD rules server-side, printed client-side, never stored', async () => {
      const root = await makeRoot('dry approve root');
      const inter = await makeIntermediate(root, 'c1', 100, ['spiffe://c1.local']);
      const vmcsr = (name: string) => ({
        apiVersion: ZEPHYR,
        kind: 'VirtualMeshCertificateSigningRequest',
        metadata: { name, namespace: 'istio-system' },
        spec: {
          csrData: b64(inter.csrPem),
          certConfig: { hosts: ['spiffe://c1.local'], org: 'mesh-cert-test', meshType: 'ISTIO' },
          virtualMeshRef: { name: 'vm', namespace: 'gloo-mesh', cluster: 'mgmt' },
        },
      });
      await apply(world.kubeconfigPath, 'c1', vmcsr('plain'), vmcsr('answered'));
      // A response already given (zephyr's signer answers PENDING requests): denying it is refused.
      await patchStatus(world.kubeconfigPath, 'c1', VMCSR, 'istio-system', 'answered', {
        response: { caCertificate: b64(inter.certPem), rootCertificate: b64(root.certPem) },
      });

      const approve = await mc([
        'approve',
        'plain',
        '-n',
        'istio-system',
        '--context',
        'c1',
        '--dry-run=server',
        '-o',
        'yaml',
      ]);
      expect(approve.code, approve.stderr).toBe(0);
      expect(approve.stdout).toMatch(/approvalStatus: APPROVED/);
      expect(approve.stdout).toMatch(/mesh-cert\.solo\.io\/dry-run-operation: patch status/);
      const denyServer = await mc(['deny', 'answered', '-n', 'istio-system', '--context', 'c1', '--dry-run=server']);
      expect(denyServer.code).toBe(1);
      expect(denyServer.stderr).toMatch(
        /status\.response.*may not be set once status\.thirdPartyApproval\.approvalStatus is DENIED/,
      );
      const denyClient = await mc(['deny', 'answered', '-n', 'istio-system', '--context', 'c1', '--dry-run=client']);
      expect(denyClient.code, denyClient.stderr).toBe(0);
      expect(denyClient.stdout).toMatch(
        /^c1\s+patch status\s+VirtualMeshCertificateSigningRequest\s+istio-system\s+answered\s+\(dry run\)$/m,
      );
      for (const name of ['plain', 'answered'])
        expect((await getJson('c1', VMCSR, 'istio-system', name)).status?.thirdPartyApproval).toBeUndefined();
    }, 60_000);

    it('rejects a --dry-run value kubectl would not take, naming the values', async () => {
      const r = await mc([...ISSUE('x'), '--dry-run=yes']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--dry-run.*none, client, server/);
      const observe = await mc(['issue', 'x', '--observe', '--dry-run=server']);
      expect(observe.code).toBe(1);
      expect(observe.stderr).toMatch(/--observe/);
    });
  });
}
