// `status` while a root rotation is under way: the rotation's step and, per managed cluster, how
// many IssuedCertificates of its VirtualMesh (parents annotation) are FINISHED for that step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveIssuance } from '../../plugin/src/engine/issuance/drive.js';
import { rotate, builtInVerifier, type RotateOptions } from '../../plugin/src/engine/rotation/driver.js';
import { buildPlugin, kubectlMeshCert } from './helpers.js';
import { createRoot, issuedCertificate, startWorld, type World } from './issue-rotate.helpers.js';

let w: World;
const OLD = { namespace: 'gloo-mesh', name: 'old-root' };
const VM = { namespace: 'gloo-mesh', name: 'vm-status' };

beforeAll(async () => {
  buildPlugin();
  w = await startWorld(['c1', 'c2']);
  await createRoot(w.mgmt, OLD, 'old root');
  await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'new-root' }, 'new root');
  for (const c of w.managed) {
    await c.createCustom('IssuedCertificate', issuedCertificate('vm-status', 'istio-system', { signing: OLD, vm: VM, issuedSecret: { namespace: 'istio-system', name: 'vm-status-cacerts' } }));
    const r = await driveIssuance({ cluster: c, namespace: 'istio-system', name: 'vm-status' }, { mgmt: w.mgmt, deadline: Date.now() + 60_000 });
    expect(r.outcome, r.error).toBe('finished');
  }
  // Not of the VirtualMesh (no parents annotation): never counted.
  await w.api('c1').createCustom('IssuedCertificate', issuedCertificate('other', 'istio-system', { signing: OLD, issuedSecret: { namespace: 'istio-system', name: 'other-cacerts' } }));
}, 120_000);

afterAll(async () => {
  await w?.stop();
});

const options = (extra: Partial<RotateOptions>): RotateOptions => ({
  mgmt: w.mgmt, clusters: w.managed, virtualMesh: VM, newRootSecret: { namespace: 'gloo-mesh', name: 'new-root' }, verify: builtInVerifier, stepTimeoutMs: 60_000, ...extra,
});

async function status(format: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return kubectlMeshCert(['status', '--mgmt-context', 'mgmt', ...format], { env: { KUBECONFIG: w.kubeconfigPath } });
}

describe('status during a rotation', () => {
  it("shows the rotation's step and each cluster's progress, in the table and in -o json", async () => {
    // Stopped right after entering PROPAGATING_NEW_INTERMEDIATE: every certificate is still FINISHED for ADDING_NEW_ROOT.
    const first = await rotate(options({ stopAfterWrites: 2 }));
    expect(first.outcome).toBe('stopped');
    expect(first.rotation.status?.rotationState).toBe('PROPAGATING_NEW_INTERMEDIATE');
    const name = first.rotation.metadata.name;

    let json = await status(['-o', 'json']);
    let rot = JSON.parse(json.stdout).items.find((r: { kind: string }) => r.kind === 'CertificateRotation');
    expect(rot).toMatchObject({ name, state: 'ROTATING', rotationState: 'PROPAGATING_NEW_INTERMEDIATE', progressStep: 'PROPAGATING_NEW_INTERMEDIATE', virtualMeshes: ['gloo-mesh/vm-status'] });
    expect(rot.progress).toEqual([
      { cluster: 'c1', done: 0, total: 1, waiting: ['at ADDING_NEW_ROOT'] },
      { cluster: 'c2', done: 0, total: 1, waiting: ['at ADDING_NEW_ROOT'] },
    ]);
    let table = await status([]);
    expect(table.stdout).toContain(`CertificateRotation gloo-mesh/${name} (virtualMesh gloo-mesh/vm-status) ROTATING PROPAGATING_NEW_INTERMEDIATE: c1 0/1 at ADDING_NEW_ROOT, c2 0/1 at ADDING_NEW_ROOT`);

    // Resumed through the re-issue and stopped on entering verification: every cluster is done.
    const second = await rotate(options({ stopAfterWrites: 1 }));
    expect(second.outcome).toBe('stopped');
    expect(second.rotation.status?.state).toBe('VERIFYING');
    json = await status(['-o', 'json']);
    rot = JSON.parse(json.stdout).items.find((r: { kind: string }) => r.kind === 'CertificateRotation');
    expect(rot).toMatchObject({ state: 'VERIFYING', progressStep: 'PROPAGATING_NEW_INTERMEDIATE' });
    expect(rot.progress).toEqual([
      { cluster: 'c1', done: 1, total: 1, waiting: [] },
      { cluster: 'c2', done: 1, total: 1, waiting: [] },
    ]);
    table = await status([]);
    expect(table.stdout).toContain(`CertificateRotation gloo-mesh/${name} (virtualMesh gloo-mesh/vm-status) VERIFYING VERIFYING (after PROPAGATING_NEW_INTERMEDIATE): c1 1/1 done, c2 1/1 done`);

    // Finished: no progress section any more.
    const last = await rotate(options({}));
    expect(last.outcome).toBe('finished');
    table = await status([]);
    expect(table.stdout).not.toContain('CertificateRotation gloo-mesh/');
    rot = JSON.parse((await status(['-o', 'json'])).stdout).items.find((r: { kind: string }) => r.kind === 'CertificateRotation');
    expect(rot.state).toBe('FINISHED');
    expect(rot.progress).toBeUndefined();
  }, 180_000);
});
