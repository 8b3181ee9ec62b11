// A rotation after an earlier one died: deleted in the middle of a step, or FAILED after its
// rollback. The independent trust watcher (test/trust-watcher, not the engine's own check) watches
// every cluster's cacerts Secret for the whole scenario and fails the test on any moment where one
// cluster cannot verify another. The Secrets, not the certificates' specs, decide what is re-issued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveIssuance } from '../../plugin/src/engine/issuance/drive.js';
import { rotate } from '../../plugin/src/engine/rotation/driver.js';
import { builtInVerifier, type Verifier } from '../../plugin/src/engine/rotation/verifier.js';
import type { RotateOptions } from '../../plugin/src/engine/rotation/rotate-options.js';
import type { CertificateRotation, ObjectRef } from '../../plugin/src/engine/objects.js';
import type { ReissueStep } from '../../plugin/src/engine/rotation/plan.js';
import { certificatesIn, parseCertificate } from '#schemas/x509/index.js';
import type { TrustWatcher } from '../trust-watcher/index.js';
import {
  assertWatchedNoGaps,
  watchedMesh,
  createRoot,
  readIssuedSecret,
  startWorld,
  type Root,
  type World,
} from './issue-rotate.helpers.js';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';

let w: World;
const OLD = { namespace: 'gloo-mesh', name: 'old-root' };
const CLUSTERS = ['c1', 'c2', 'c3'];

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      w = await startWorld(CLUSTERS, { backend });
      await createRoot(w.mgmt, OLD, 'old root');
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await w?.stop();
    });

    const mesh = (vmName: string) => watchedMesh(w, vmName, OLD);

    function base(vm: ObjectRef, extra: Partial<RotateOptions> = {}): RotateOptions {
      return {
        mgmt: w.mgmt,
        clusters: w.managed,
        virtualMesh: vm,
        verify: builtInVerifier,
        stepTimeoutMs: 30_000,
        ...extra,
      };
    }

    /** Runs a rotation until the first certificate has finished `step`, then stops it there (a kill). */
    async function rotateUntilMidStep(vm: ObjectRef, root: Root, step: ReissueStep): Promise<CertificateRotation> {
      const ctl = new AbortController();
      const r = await rotate(
        base(vm, {
          newRootSecret: root.ref,
          signal: ctl.signal,
          onEvent: (e) => {
            if (e.type === 'certificate' && e.step === step && e.event.action === 'finish') ctl.abort();
          },
        }),
      );
      expect(r.outcome).toBe('stopped');
      expect(r.rotation.status?.rotationState).toBe(step);
      return r.rotation;
    }

    /** Every cluster trusts exactly `root` and holds an intermediate it signed. */
    async function assertOnlyRoot(out: ObjectRef, root: Root): Promise<void> {
      const fp = parseCertificate(root.certPem).fingerprintSha256;
      for (const c of w.managed) {
        const s = await readIssuedSecret(c, out);
        expect(
          certificatesIn(s.root).map((p) => parseCertificate(p).fingerprintSha256),
          `${c.name} root-cert.pem`,
        ).toEqual([fp]);
        expect(parseCertificate(s.caCert).issuerText, `${c.name} ca-cert.pem issuer`).toBe(
          parseCertificate(root.certPem).subjectText,
        );
      }
    }

    async function finish(watcher: TrustWatcher): Promise<void> {
      await assertWatchedNoGaps(watcher);
      expect(watcher.report().snapshots).toBeGreaterThan(6);
    }

    describe('a rotation after an earlier one died', () => {
      for (const step of ['ADDING_NEW_ROOT', 'PROPAGATING_NEW_INTERMEDIATE'] as const) {
        it(`deleted in the middle of ${step}, then a rotation to another root: no trust gap, every cluster ends on the newest root`, async () => {
          const name = step === 'ADDING_NEW_ROOT' ? 'vm-del-add' : 'vm-del-prop';
          const { vm, out, watcher } = await mesh(name);
          const first = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: `${name}-a` }, `${name} root a`);
          const second = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: `${name}-b` }, `${name} root b`);
          const dead = await rotateUntilMidStep(vm, first, step);
          await w.mgmt.deleteCustom('CertificateRotation', dead.metadata.namespace ?? 'gloo-mesh', dead.metadata.name);

          const r = await rotate(base(vm, { newRootSecret: second.ref }));
          expect(r.outcome, r.error).toBe('finished');
          await assertOnlyRoot(out, second);
          await finish(watcher);
        }, 240_000);
      }

      it('FAILED after a rejected verification and its rollback, then a new rotation: no trust gap', async () => {
        const { vm, out, watcher } = await mesh('vm-failed');
        const first = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'vm-failed-a' }, 'vm-failed root a');
        const second = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'vm-failed-b' }, 'vm-failed root b');
        const reject: Verifier = async () => ({ ok: false, reason: 'traffic from c1 to c2 failed' });
        const failed = await rotate(base(vm, { newRootSecret: first.ref, verify: reject }));
        expect(failed.outcome).toBe('failed');
        const r = await rotate(base(vm, { newRootSecret: second.ref }));
        expect(r.outcome, r.error).toBe('finished');
        await assertOnlyRoot(out, second);
        await finish(watcher);
      }, 240_000);

      it('issue re-issues a FINISHED certificate whose Secret was changed behind its back', async () => {
        const { out, watcher } = await mesh('vm-tampered');
        await watcher.stop();
        const c1 = w.api('c1');
        const secret = (await c1.getSecret(out.namespace, out.name))!;
        const c2 = await readIssuedSecret(w.api('c2'), out);
        // c1's root-cert.pem replaced by c2's chain top: status still says FINISHED for this generation.
        await c1.replaceSecret({
          ...secret,
          data: { ...secret.data, 'root-cert.pem': Buffer.from(c2.caCert).toString('base64') },
        });
        const r = await driveIssuance(
          { cluster: c1, namespace: 'istio-system', name: 'vm-tampered' },
          { mgmt: w.mgmt, deadline: Date.now() + 30_000 },
        );
        expect(r.outcome, r.error).toBe('finished');
        expect(r.actions).toContain('write-issued-secret');
        const s = await readIssuedSecret(c1, out);
        expect(certificatesIn(s.root)).toHaveLength(1);
        expect(parseCertificate(s.root).subjectText).toContain('old root');
      }, 120_000);
    });
  });
}
