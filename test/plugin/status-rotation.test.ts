// `status` while a root rotation is under way: the rotation's step and, per managed cluster, how
// many IssuedCertificates of its VirtualMesh (parents annotation) are FINISHED for that step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveIssuance } from '../../plugin/src/engine/issuance/drive.js';
import { rotate } from '../../plugin/src/engine/rotation/driver.js';
import { builtInVerifier } from '../../plugin/src/engine/rotation/verifier.js';
import type { RotateOptions } from '../../plugin/src/engine/rotation/rotate-options.js';
import { buildPlugin, kubectlMeshCert } from './helpers.js';
import { createRoot, issuedCertificate, startWorld, type World } from './issue-rotate.helpers.js';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';

let w: World;
const OLD = { namespace: 'gloo-mesh', name: 'old-root' };
const VM = { namespace: 'gloo-mesh', name: 'vm-status' };

/**
 * The CertificateRotation of `status -o json` (a List of the real objects): what status computed
 * for it is its annotation mesh-cert.solo.io/status-report, the name its metadata's.
 */
function rotationReport(stdout: string): Record<string, any> {
  const obj = (
    JSON.parse(stdout) as {
      items: { kind: string; metadata: { name: string; annotations?: Record<string, string> } }[];
    }
  ).items.find((o) => o.kind === 'CertificateRotation');
  if (!obj) throw new Error(`no CertificateRotation in status -o json: ${stdout.slice(0, 500)}`);
  return {
    name: obj.metadata.name,
    ...(JSON.parse(obj.metadata.annotations?.['mesh-cert.solo.io/status-report'] ?? '{}') as Record<string, unknown>),
  };
}

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      w = await startWorld(['c1', 'c2'], { backend });
      await createRoot(w.mgmt, OLD, 'old root');
      await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'new-root' }, 'new root');
      for (const c of w.managed) {
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('vm-status', 'istio-system', {
            signing: OLD,
            vm: VM,
            issuedSecret: { namespace: 'istio-system', name: 'vm-status-cacerts' },
          }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'vm-status' },
          { mgmt: w.mgmt, deadline: Date.now() + 60_000 },
        );
        expect(r.outcome, r.error).toBe('finished');
      }
      // Not of the VirtualMesh (no parents annotation): never counted.
      await w.api('c1').createCustom(
        'IssuedCertificate',
        issuedCertificate('other', 'istio-system', {
          signing: OLD,
          issuedSecret: { namespace: 'istio-system', name: 'other-cacerts' },
        }),
      );
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await w?.stop();
    });

    const options = (extra: Partial<RotateOptions>): RotateOptions => ({
      mgmt: w.mgmt,
      clusters: w.managed,
      virtualMesh: VM,
      newRootSecret: { namespace: 'gloo-mesh', name: 'new-root' },
      verify: builtInVerifier,
      stepTimeoutMs: 60_000,
      ...extra,
    });

    async function status(format: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return kubectlMeshCert(['status', '--mgmt-context', 'mgmt', ...format], {
        env: { KUBECONFIG: w.kubeconfigPath },
      });
    }

    describe('status during a rotation', () => {
      it("shows the rotation's step and each cluster's progress, in the table and in -o json", async () => {
        // Stopped right after entering PROPAGATING_NEW_INTERMEDIATE: every certificate is still FINISHED for ADDING_NEW_ROOT.
        const first = await rotate(options({ stopAfterWrites: 2 }));
        expect(first.outcome).toBe('stopped');
        expect(first.rotation.status?.rotationState).toBe('PROPAGATING_NEW_INTERMEDIATE');
        const name = first.rotation.metadata.name;

        let json = await status(['-o', 'json']);
        let rot = rotationReport(json.stdout);
        expect(rot, json.stdout + json.stderr).toMatchObject({
          name,
          state: 'ROTATING',
          rotationState: 'PROPAGATING_NEW_INTERMEDIATE',
          progressStep: 'PROPAGATING_NEW_INTERMEDIATE',
          virtualMeshes: ['gloo-mesh/vm-status'],
        });
        expect(rot.progress).toEqual([
          { cluster: 'c1', done: 0, total: 1, waiting: ['at ADDING_NEW_ROOT'] },
          { cluster: 'c2', done: 0, total: 1, waiting: ['at ADDING_NEW_ROOT'] },
        ]);
        let table = await status([]);
        expect(table.stdout).toContain(
          `▸ CertificateRotation gloo-mesh/${name} (virtualMesh gloo-mesh/vm-status) ROTATING PROPAGATING_NEW_INTERMEDIATE: c1 0/1 at ADDING_NEW_ROOT, c2 0/1 at ADDING_NEW_ROOT\n`,
        );
        // the table within 120 columns; -o wide names the step once, beside the state
        const wide = await status(['-o', 'wide']);
        expect(wide.stdout).toMatch(
          new RegExp(
            `^mgmt\\s+gloo-mesh\\s+${name}\\s+CertificateRotation\\s+ROTATING\\s.*\\sPROPAGATING_NEW_INTERMEDIATE\\s`,
            'm',
          ),
        );
        expect(wide.stdout).toMatch(
          /^c1\s+istio-system\s+vm-status\s+IssuedCertificate\s+FINISHED\s.*\sADDING_NEW_ROOT\/ADDING_NEW_ROOT\s/m,
        );
        for (const line of table.stdout.split('\n\n')[0]!.split('\n'))
          expect(line.length, line).toBeLessThanOrEqual(120);

        // Resumed through the re-issue and stopped on entering verification: every cluster is done.
        const second = await rotate(options({ stopAfterWrites: 1 }));
        expect(second.outcome).toBe('stopped');
        expect(second.rotation.status?.state).toBe('VERIFYING');
        json = await status(['-o', 'json']);
        rot = rotationReport(json.stdout);
        expect(rot, json.stdout + json.stderr).toMatchObject({
          state: 'VERIFYING',
          progressStep: 'PROPAGATING_NEW_INTERMEDIATE',
        });
        expect(rot.progress).toEqual([
          { cluster: 'c1', done: 1, total: 1, waiting: [] },
          { cluster: 'c2', done: 1, total: 1, waiting: [] },
        ]);
        table = await status([]);
        // the state once (not VERIFYING VERIFYING), and the step it verifies
        expect(table.stdout).toContain(
          `▸ CertificateRotation gloo-mesh/${name} (virtualMesh gloo-mesh/vm-status) VERIFYING (after PROPAGATING_NEW_INTERMEDIATE): c1 1/1 done, c2 1/1 done\n`,
        );
        expect((await status(['-o', 'wide'])).stdout).toMatch(
          new RegExp(
            `^mgmt\\s+gloo-mesh\\s+${name}\\s+CertificateRotation\\s+VERIFYING\\s.*\\sPROPAGATING_NEW_INTERMEDIATE\\s`,
            'm',
          ),
        );

        // Finished: no progress section any more.
        const last = await rotate(options({}));
        expect(last.outcome).toBe('finished');
        table = await status([]);
        expect(table.stdout).not.toContain('CertificateRotation gloo-mesh/');
        // FINISHED once: its last step is not repeated beside it (DRIVER, SYNCED, NOT AFTER, DAYS, ROOT, TRUSTS, ANCHOR, ROTATION, DETAIL)
        expect((await status(['-o', 'wide'])).stdout).toMatch(
          new RegExp(
            `^mgmt\\s+gloo-mesh\\s+${name}\\s+CertificateRotation\\s+FINISHED\\s+-\\s+yes(\\s+-){6}\\s+virtualMesh gloo-mesh/vm-status$`,
            'm',
          ),
        );
        rot = rotationReport((await status(['-o', 'json'])).stdout);
        expect(rot.state).toBe('FINISHED');
        expect(rot.progress).toBeUndefined();
      }, 180_000);
    });
  });
}
