// A certificate field that is not standard base64 marks its own row of `status` (a problem naming
// the object and the field) and the rest of the table is still read: first the rows themselves,
// then the whole command on each backend (the sandbox, then the real control plane). Our CRDs
// declare such fields `format: byte`, so the API server refuses the value; Gloo Mesh's own CRDs
// leave status unvalidated (x-kubernetes-preserve-unknown-fields), and a cluster installed with
// them can hold one. The end-to-end case installs the CertificateRequest CRD that way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterRows, findings } from '../../plugin/src/report/status.js';
import type { K8s } from '../../plugin/src/lib/k8s.js';
import type { KindInfo } from '../../plugin/src/lib/kinds.js';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { REPO, apply, b64, buildPlugin, kubectl, kubectlMeshCert, patchStatus } from './helpers.js';
import { GLOO, makeRoot, namespace } from './fixtures.js';

const NOT_BASE64 = 'not base64!';
const EXPECTED = 'expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)';

function request(name: string, status: Record<string, unknown>) {
  return {
    apiVersion: GLOO,
    kind: 'CertificateRequest',
    metadata: { name, namespace: 'gloo-mesh', generation: 1 },
    status: { observedGeneration: 1, ...status },
  };
}

/** A K8s that lists the given objects per kind and finds no Secret: all clusterRows reads. */
function listing(byKind: Record<string, object[]>): K8s {
  return { list: async (k: KindInfo) => byKind[k.kind] ?? [], findSecret: async () => undefined } as unknown as K8s;
}

describe('status rows', () => {
  it('marks the row whose field is not base64 and still reads the other rows', async () => {
    const root = await makeRoot('root');
    const objects = {
      CertificateRequest: [
        request('bad', { state: 'FINISHED', signedCertificate: NOT_BASE64, signingRootCa: b64(root.certPem) }),
        request('good', { state: 'FINISHED', signedCertificate: b64(root.certPem), signingRootCa: b64(root.certPem) }),
      ],
      VirtualMeshCertificateSigningRequest: [
        {
          apiVersion: 'security.zephyr.solo.io/v1alpha1',
          kind: 'VirtualMeshCertificateSigningRequest',
          metadata: { name: 'vm', namespace: 'gloo-mesh' },
          status: { response: { caCertificate: b64(root.certPem), rootCertificate: 'QUJD-_8=' } },
        },
      ],
    };
    const rows = await clusterRows(listing(objects), { name: 'mgmt' } as Parameters<typeof clusterRows>[1], {});
    const bad = rows.find((r) => r.name === 'bad')!;
    const good = rows.find((r) => r.name === 'good')!;
    const vm = rows.find((r) => r.name === 'vm')!;
    expect(bad.undecodable).toEqual([`status.signedCertificate: ${EXPECTED}`]);
    // What does decode is still read: the root's fingerprint, but no dates from the bad field.
    expect(bad.notAfter).toBeUndefined();
    expect(good.undecodable).toBeUndefined();
    expect(good.notAfter).toBeDefined();
    expect(vm.undecodable).toEqual([`status.response.rootCertificate: ${EXPECTED}`]);
    expect(vm.notAfter).toBeDefined();
    expect(findings(rows, 30).failures).toEqual([
      `CertificateRequest gloo-mesh/bad on cluster mgmt: status.signedCertificate: ${EXPECTED}`,
      `VirtualMeshCertificateSigningRequest gloo-mesh/vm on cluster mgmt: status.response.rootCertificate: ${EXPECTED}`,
    ]);
  });

  it("names the CertificateRequest an IssuedCertificate's dates would come from", async () => {
    const objects = {
      IssuedCertificate: [
        {
          apiVersion: GLOO,
          kind: 'IssuedCertificate',
          metadata: { name: 'c1', namespace: 'gloo-mesh' },
          spec: { issuedCertificateSecret: { name: 'none', namespace: 'x' } },
          status: { state: 'FINISHED' },
        },
      ],
      CertificateRequest: [request('c1', { state: 'FINISHED', signingRootCa: NOT_BASE64 })],
    };
    const rows = await clusterRows(listing(objects), { name: 'mgmt' } as Parameters<typeof clusterRows>[1], {});
    expect(rows.find((r) => r.kind === 'IssuedCertificate')!.undecodable).toEqual([
      `CertificateRequest gloo-mesh/c1 status.signingRootCa: ${EXPECTED}`,
    ]);
  });
});

/** The CertificateRequest CRD with its status left unvalidated, as Gloo Mesh's own CRDs declare it. */
function unvalidatedStatusCrd(): object {
  const crd = parse(
    readFileSync(join(REPO, 'manifests/crds/certificaterequests.certificates.mesh.gloo.solo.io.yaml'), 'utf8'),
  );
  const schema = crd.spec.versions[0].schema.openAPIV3Schema;
  schema.properties.status = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  // Our rules on status fields have nothing left to point at (kube-apiserver refuses them so).
  delete schema['x-kubernetes-validations'];
  return crd;
}

let world: Backend;

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      world = await startBackend(backend, ['mgmt']);
      const root = await makeRoot('root');
      await apply(world.kubeconfigPath, 'mgmt', unvalidatedStatusCrd());
      await kubectl(world.kubeconfigPath, 'mgmt', [
        'wait',
        '--for=condition=Established',
        'crd/certificaterequests.certificates.mesh.gloo.solo.io',
      ]);
      await apply(world.kubeconfigPath, 'mgmt', namespace('gloo-mesh'));
      for (const name of ['bad', 'good'])
        await apply(world.kubeconfigPath, 'mgmt', {
          apiVersion: GLOO,
          kind: 'CertificateRequest',
          metadata: { name, namespace: 'gloo-mesh' },
        });
      const crs = 'certificaterequests.certificates.mesh.gloo.solo.io';
      await patchStatus(world.kubeconfigPath, 'mgmt', crs, 'gloo-mesh', 'bad', {
        state: 'FINISHED',
        signedCertificate: NOT_BASE64,
        signingRootCa: b64(root.certPem),
      });
      await patchStatus(world.kubeconfigPath, 'mgmt', crs, 'gloo-mesh', 'good', {
        state: 'FINISHED',
        signedCertificate: b64(root.certPem),
        signingRootCa: b64(root.certPem),
      });
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await world?.stop();
    });

    it('kubectl mesh-cert status shows every row, reports the undecodable field as a problem and exits 1', async () => {
      const r = await kubectlMeshCert(['status', '--context', 'mgmt', '-n', 'gloo-mesh', '-o', 'json'], {
        env: { KUBECONFIG: world.kubeconfigPath },
      });
      expect(r.stderr).toBe(
        `problem: CertificateRequest gloo-mesh/bad on cluster mgmt: status.signedCertificate: ${EXPECTED}\n`,
      );
      expect(r.code).toBe(1);
      const items = (JSON.parse(r.stdout) as { items: { metadata: { name: string } }[] }).items;
      expect(items.map((o) => o.metadata.name).sort()).toEqual(['bad', 'good']);
    });
  });
}
