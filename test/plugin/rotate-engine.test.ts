// Root rotation across three managed clusters against the sandbox. After every step (and in the
// middle of one), for every ordered pair of clusters, openssl must verify one cluster's issued
// intermediate with its chain against the other cluster's root-cert.pem: no trust gap, ever.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rotate, RotationRefused } from '../../plugin/src/engine/rotation/driver.js';
import { builtInVerifier, type Verifier } from '../../plugin/src/engine/rotation/verifier.js';
import type { RotateOptions } from '../../plugin/src/engine/rotation/rotate-options.js';
import type { CertificateRotation, IssuedCertificate, ObjectRef } from '../../plugin/src/engine/objects.js';
import { certificatesIn } from '#schemas/x509/index.js';
import type { TrustWatcher } from '../trust-watcher/index.js';
import {
  assertWatchedNoGaps,
  watchedMesh,
  createRoot,
  opensslVerify,
  readIssuedSecret,
  rootSecret,
  startWorld,
  type Root,
  type World,
} from './issue-rotate.helpers.js';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';

let w: World;
let oldRoot: Root;
const OLD = { namespace: 'gloo-mesh', name: 'old-root' };
const CLUSTERS = ['c1', 'c2', 'c3'];

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      w = await startWorld(CLUSTERS, { backend });
      oldRoot = await createRoot(w.mgmt, OLD, 'old root');
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await w?.stop();
    });

    // The independent trust watcher (test/trust-watcher) runs through every test of this file: any
    // moment where one cluster cannot verify another fails the test, not only the moments checked.
    const watchers: TrustWatcher[] = [];
    afterEach(async () => {
      for (const watcher of watchers.splice(0)) await assertWatchedNoGaps(watcher);
    });

    /** A VirtualMesh with one IssuedCertificate per managed cluster, issued by the old root, watched. */
    async function mesh(vmName: string): Promise<{ vm: ObjectRef; out: ObjectRef }> {
      const { vm, out, watcher } = await watchedMesh(w, vmName, OLD);
      watchers.push(watcher);
      return { vm, out };
    }

    function fingerprint(pem: string): string {
      return execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], {
        input: pem,
        encoding: 'utf8',
      }).trim();
    }
    function issuerOf(pem: string): string {
      return execFileSync('openssl', ['x509', '-noout', '-issuer', '-nameopt', 'RFC2253'], {
        input: pem,
        encoding: 'utf8',
      }).trim();
    }

    /** openssl verify for every ordered pair (a's intermediate against b's root-cert.pem), self included. */
    async function assertMutualTrust(
      out: ObjectRef,
      when: string,
      clusters = w.managed,
    ): Promise<{ roots: Map<string, string[]>; issuers: Map<string, string> }> {
      const issued = new Map(
        await Promise.all(clusters.map(async (c) => [c.name, await readIssuedSecret(c, out)] as const)),
      );
      for (const [a, sa] of issued) {
        for (const [b, sb] of issued) {
          const v = opensslVerify(sa.caCert, sa.chain, sb.root);
          expect(v.ok, `${when}: ${a}'s intermediate against ${b}'s root-cert.pem: ${v.output}`).toBe(true);
        }
      }
      return {
        roots: new Map([...issued].map(([n, s]) => [n, certificatesIn(s.root).map(fingerprint).sort()])),
        issuers: new Map([...issued].map(([n, s]) => [n, issuerOf(s.caCert)])),
      };
    }

    async function rotationOf(vm: ObjectRef): Promise<CertificateRotation[]> {
      return (await w.mgmt.listCustom<CertificateRotation>('CertificateRotation', vm.namespace)).filter(
        (r) => r.spec.virtualMesh.name === vm.name,
      );
    }

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

    describe('rotate', () => {
      it('rotates unattended, resumed after every step, with mutual trust after each one', async () => {
        const { vm, out } = await mesh('vm-full');
        const newRoot = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'new-root-full' }, 'new root full');
        const oldFp = fingerprint(oldRoot.certPem);
        const newFp = fingerprint(newRoot.certPem);
        const seen: string[] = [];
        let keys = 0;
        let outcome = 'stopped';
        for (let i = 0; i < 20 && outcome === 'stopped'; i++) {
          const r = await rotate(base(vm, { newRootSecret: newRoot.ref, stopAfterWrites: 1 }));
          outcome = r.outcome;
          keys += r.keysGenerated;
          const step = r.rotation.status?.rotationState ?? 'NOT_ROTATING';
          seen.push(`${r.rotation.status?.state}/${step}`);
          const t = await assertMutualTrust(out, `after ${step}`);
          // what each cluster holds once the step before this status was completed
          const expectRoots =
            step === 'ADDING_NEW_ROOT'
              ? [oldFp]
              : step === 'FINISHED' || (step === 'VERIFYING' && seen.some((s) => s.endsWith('DELETING_OLD_ROOT')))
                ? [newFp]
                : step === 'DELETING_OLD_ROOT'
                  ? [oldFp, newFp].sort()
                  : [oldFp, newFp].sort();
          for (const c of CLUSTERS) expect(t.roots.get(c), `${c} roots at ${step}`).toEqual(expectRoots);
          const signer =
            step === 'ADDING_NEW_ROOT' || step === 'PROPAGATING_NEW_INTERMEDIATE' ? 'old root' : 'new root full';
          for (const c of CLUSTERS) expect(t.issuers.get(c)).toContain(`CN=${signer}`);
        }
        expect(outcome).toBe('finished');
        expect(seen).toEqual([
          'ROTATING/ADDING_NEW_ROOT',
          'ROTATING/PROPAGATING_NEW_INTERMEDIATE',
          'VERIFYING/VERIFYING',
          'ROTATING/DELETING_OLD_ROOT',
          'VERIFYING/VERIFYING',
          'FINISHED/FINISHED',
        ]);
        expect(keys).toBe(9); // three steps x three clusters, nothing issued twice
        const [r] = await rotationOf(vm);
        expect(r!.status?.conditions?.map((c) => c.state)).toEqual([
          'ADDING_NEW_ROOT',
          'PROPAGATING_NEW_INTERMEDIATE',
          'VERIFYING',
          'DELETING_OLD_ROOT',
          'VERIFYING',
          'FINISHED',
        ]);
        for (const c of w.managed) {
          const ic = (await c.getCustom<IssuedCertificate>('IssuedCertificate', 'istio-system', 'vm-full'))!;
          expect(ic.spec.glooMeshCa?.signingCertificateSecret).toEqual(newRoot.ref);
          expect(ic.status?.observedRotationState).toBe('DELETING_OLD_ROOT');
          // the old root no longer verifies anything the clusters hold
          const s = await readIssuedSecret(c, out);
          expect(opensslVerify(s.caCert, s.chain, oldRoot.certPem).ok).toBe(false);
        }
      }, 180_000);

      it('keeps mutual trust when interrupted in the middle of a step, then resumes', async () => {
        const { vm, out } = await mesh('vm-mid');
        const newRoot = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'new-root-mid' }, 'new root mid');
        let interrupted = 0;
        let outcome = 'stopped';
        for (const delay of [150, 400, 250, 600, 300]) {
          const ctl = new AbortController();
          const timer = setTimeout(() => ctl.abort(), delay);
          const r = await rotate(base(vm, { newRootSecret: newRoot.ref, signal: ctl.signal }));
          clearTimeout(timer);
          await assertMutualTrust(out, `interrupted after ${delay}ms at ${r.rotation.status?.rotationState}`);
          outcome = r.outcome;
          if (outcome !== 'stopped') break;
          interrupted++;
        }
        expect(interrupted).toBeGreaterThan(0);
        if (outcome === 'stopped') outcome = (await rotate(base(vm, { newRootSecret: newRoot.ref }))).outcome;
        expect(outcome).toBe('finished');
        expect(await rotationOf(vm)).toHaveLength(1);
        await assertMutualTrust(out, 'finished');
      }, 180_000);

      for (const at of ['PROPAGATING_NEW_INTERMEDIATE', 'DELETING_OLD_ROOT'] as const) {
        it(`rolls back from the verification after ${at} without a trust gap`, async () => {
          const vmName = at === 'DELETING_OLD_ROOT' ? 'vm-rb2' : 'vm-rb1';
          const { vm, out } = await mesh(vmName);
          const newRoot = await createRoot(
            w.mgmt,
            { namespace: 'gloo-mesh', name: `${vmName}-new` },
            `new root ${vmName}`,
          );
          const reject: Verifier = async (ctx) =>
            ctx.after === at ? { ok: false, reason: 'traffic from c2 to c3 failed' } : { ok: true, message: 'ok' };
          const steps: string[] = [];
          let r;
          do {
            r = await rotate(base(vm, { newRootSecret: newRoot.ref, verify: reject, stopAfterWrites: 1 }));
            steps.push(r.rotation.status?.rotationState ?? '');
            await assertMutualTrust(out, `rollback test, after ${r.rotation.status?.rotationState}`);
          } while (r.outcome === 'stopped');
          expect(r.outcome).toBe('failed');
          expect(r.rotation.status?.state).toBe('FAILED');
          expect(r.rotation.status?.rotationState).toBe('PREVIOUS_CA');
          expect(r.rotation.status?.error).toContain(`verification after ${at} rejected: traffic from c2 to c3 failed`);
          expect(steps).toContain('ROLLING_BACK');
          const t = await assertMutualTrust(out, 'rolled back');
          for (const c of CLUSTERS) {
            expect(t.roots.get(c)).toEqual([fingerprint(oldRoot.certPem)]);
            expect(t.issuers.get(c)).toContain('CN=old root');
          }
          for (const c of w.managed) {
            const ic = (await c.getCustom<IssuedCertificate>('IssuedCertificate', 'istio-system', vmName))!;
            expect(ic.spec.glooMeshCa?.signingCertificateSecret).toEqual(OLD);
            expect(ic.status?.observedRotationState).toBe('PREVIOUS_CA');
          }
        }, 180_000);
      }

      it('refuses a new root in the wrong layout, the current root, and a second rotation; nothing changes', async () => {
        const { vm } = await mesh('vm-refuse');
        const bad = { namespace: 'gloo-mesh', name: 'bad-new-root' };
        await w.mgmt.createSecret({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...bad },
          type: 'Opaque',
          data: { 'ca-cert.pem': Buffer.from(oldRoot.certPem).toString('base64') },
        });
        await expect(rotate(base(vm, { newRootSecret: bad }))).rejects.toThrow(
          /--new-root-secret gloo-mesh\/bad-new-root: .*key/,
        );
        const copy = { namespace: 'gloo-mesh', name: 'old-root-copy' };
        await w.mgmt.createSecret(rootSecret(copy, oldRoot.certPem, oldRoot.keyPem));
        await expect(rotate(base(vm, { newRootSecret: copy }))).rejects.toThrow(/is the current root/);
        await expect(rotate(base(vm, { newRootSecret: { namespace: 'gloo-mesh', name: 'nope' } }))).rejects.toThrow(
          /Secret not found/,
        );
        expect(await rotationOf(vm)).toEqual([]);
        // an active rotation: a different new root is refused, naming the active one
        const r1 = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'refuse-new-1' }, 'refuse 1');
        const r2 = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'refuse-new-2' }, 'refuse 2');
        const started = await rotate(base(vm, { newRootSecret: r1.ref, stopAfterWrites: 1 }));
        expect(started.outcome).toBe('stopped');
        const err = await rotate(base(vm, { newRootSecret: r2.ref })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RotationRefused);
        expect(String((err as Error).message)).toMatch(/already active .* --abort/);
        expect(await rotationOf(vm)).toHaveLength(1);
        // the webhook denies a second active rotation written behind the engine's back
        const second = await w.mgmt
          .createCustom<CertificateRotation>('CertificateRotation', {
            apiVersion: 'certificates.mesh.gloo.solo.io/v1',
            kind: 'CertificateRotation',
            metadata: { name: 'sneaky', namespace: 'gloo-mesh' },
            spec: { virtualMesh: vm, newRootCaSecret: r2.ref },
          })
          .catch((e: Error) => e);
        expect(second).toBeInstanceOf(Error);
        expect(await rotationOf(vm)).toHaveLength(1);
        // --abort rolls it back
        const ab = await rotate(base(vm, { abort: true }));
        expect(ab.outcome).toBe('failed');
        expect(ab.rotation.status?.rotationState).toBe('PREVIOUS_CA');
        expect(ab.rotation.status?.error).toContain('aborted by the user');
      }, 180_000);

      // unreachable: the sandbox refuses connections, the real apiserver is frozen (SIGSTOP)
      it('refuses to start while a cluster is unreachable (nothing is created)', async () => {
        const { vm, out } = await mesh('vm-down');
        const newRoot = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'new-root-down' }, 'new root down');
        await w.pause('c3');
        try {
          await expect(rotate(base(vm, { newRootSecret: newRoot.ref }))).rejects.toThrow(/c3.*nothing was changed/);
          expect(await rotationOf(vm)).toEqual([]);
        } finally {
          await w.resume('c3');
        }
        // unreachable in the middle: the step waits, fails naming the cluster, and the rest still trust each other
        let stopping: Promise<void> | undefined;
        let r;
        try {
          r = await rotate(
            base(vm, {
              newRootSecret: newRoot.ref,
              stepTimeoutMs: 2500,
              onEvent: (e) => {
                if (e.type === 'step' && e.rotationState === 'PROPAGATING_NEW_INTERMEDIATE' && !stopping)
                  stopping = w.pause('c3');
              },
            }),
          );
        } finally {
          await stopping;
          await w.resume('c3');
        }
        expect(r.outcome).toBe('failed');
        expect(r.rotation.status?.state).toBe('FAILED');
        expect(r.rotation.status?.error).toMatch(/cluster "c3"/);
        await assertMutualTrust(out, 'after the unreachable cluster failed the rotation');
      }, 180_000);

      // fault injection: the sandbox only
      if (backend === 'sandbox')
        it('finishes through injected 409 and 500 answers from the management and a managed cluster', async () => {
          const { vm, out } = await mesh('vm-faults');
          const newRoot = await createRoot(
            w.mgmt,
            { namespace: 'gloo-mesh', name: 'new-root-faults' },
            'new root faults',
          );
          const mgmt = w.sandbox!.clusters.get('mgmt')!;
          const c2 = w.sandbox!.clusters.get('c2')!;
          mgmt.setFaults([
            { status: 500, fraction: 0.15 },
            { status: 409, fraction: 0.2, match: { method: 'PUT' } },
          ]);
          c2.setFaults([
            { status: 500, fraction: 0.15 },
            { status: 409, fraction: 0.2, match: { method: 'PUT' } },
          ]);
          let r;
          try {
            r = await rotate(base(vm, { newRootSecret: newRoot.ref }));
          } finally {
            mgmt.clearFaults();
            c2.clearFaults();
          }
          expect(r.outcome, r.error).toBe('finished');
          const t = await assertMutualTrust(out, 'after a faulty rotation');
          for (const c of CLUSTERS) expect(t.issuers.get(c)).toContain('CN=new root faults');
        }, 180_000);

      it('--generate-root creates the new root Secret and rotates to it', async () => {
        const { vm, out } = await mesh('vm-gen');
        const r = await rotate(base(vm, { generateRoot: { keySize: 2048, ttlDays: 30 } }));
        expect(r.outcome, r.error).toBe('finished');
        const ref = r.rotation.spec.newRootCaSecret;
        expect(ref.name).toMatch(/^vm-gen-root-\d{14}$/);
        const s = (await w.mgmt.getSecret(ref.namespace ?? '', ref.name))!;
        const rootPem = Buffer.from(s.data!['root-cert.pem']!, 'base64').toString();
        // Gloo Mesh's own issuer reads key.pem: a root mesh-cert makes carries it beside ca-key.pem
        expect(s.data!['key.pem']).toBe(s.data!['ca-key.pem']);
        expect(s.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('mesh-cert');
        for (const c of w.managed) {
          const i = await readIssuedSecret(c, out);
          expect(opensslVerify(i.caCert, i.chain, rootPem).ok).toBe(true);
        }
      }, 180_000);

      it('removes replaced roots it created after FINISHED, keeping the most recent previous one and any root it did not create', async () => {
        const { vm } = await mesh('vm-keep');
        const roots: string[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await rotate(base(vm, { generateRoot: { keySize: 2048, ttlDays: 30 } }));
          expect(r.outcome, r.error).toBe('finished');
          roots.push(r.rotation.spec.newRootCaSecret.name);
          if (i === 0) expect(r.retention).toEqual({ removed: [], kept: [] });
          if (i === 1)
            expect(r.retention).toEqual({ removed: [], kept: ['gloo-mesh/old-root (not created by mesh-cert)'] });
          if (i === 2)
            expect(r.retention).toEqual({
              removed: [`gloo-mesh/${roots[0]}`],
              kept: ['gloo-mesh/old-root (not created by mesh-cert)'],
            });
        }
        expect(await w.mgmt.getSecret('gloo-mesh', roots[0]!)).toBeUndefined();
        expect(await w.mgmt.getSecret('gloo-mesh', roots[1]!)).toBeDefined();
        expect(await w.mgmt.getSecret('gloo-mesh', roots[2]!)).toBeDefined();
        expect(await w.mgmt.getSecret(OLD.namespace, OLD.name)).toBeDefined();
      }, 240_000);
    });
  });
}
