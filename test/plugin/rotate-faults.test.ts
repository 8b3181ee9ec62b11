// Rotations through the faults an operator meets: the admission webhook down for 20 s in the
// middle of a step, runs stopped at random points and resumed, a hung API call, a cluster lost in
// ADDING_NEW_ROOT. The independent trust watcher runs through each; every scenario must end with
// 0 gaps, and a rotation that cannot go on must roll back and say why.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rotate } from '../../plugin/src/engine/rotation/driver.js';
import { builtInVerifier } from '../../plugin/src/engine/rotation/verifier.js';
import type { RotateOptions } from '../../plugin/src/engine/rotation/rotate-options.js';
import type { ObjectRef } from '../../plugin/src/engine/objects.js';
import type { TrustWatcher } from '../trust-watcher/index.js';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';
import {
  assertWatchedNoGaps,
  watchedMesh,
  createRoot,
  REPO,
  registerWebhook,
  startWorld,
  type World,
} from './issue-rotate.helpers.js';

let w: World;
const OLD = { namespace: 'gloo-mesh', name: 'old-root' };
const CLUSTERS = ['c1', 'c2', 'c3'];

/** A webhook of our own that can go down and come back on the same address with the same certificate. */
async function restartableWebhook(kubeconfig: string) {
  const { buildWebhookServer } = await import('../../webhook/src/server.js');
  const dir = mkdtempSync(join(tmpdir(), 'mc-webhook-'));
  execFileSync(join(REPO, 'webhook/gen-certs.sh'), ['--out', dir, '--san', 'IP:127.0.0.1', '--san', 'DNS:localhost'], {
    stdio: 'pipe',
  });
  const start = (port: number) =>
    buildWebhookServer({
      port,
      healthPort: 0,
      host: '127.0.0.1',
      tlsCertFile: join(dir, 'tls.crt'),
      tlsKeyFile: join(dir, 'tls.key'),
      logLevel: 'silent',
      kubeconfig,
    });
  let server = await start(0);
  const port = Number(new URL(server.url).port);
  return {
    url: server.url,
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    down: () => server.close(),
    up: async () => {
      server = await start(port);
    },
    close: () => server.close(),
  };
}

for (const backend of BACKENDS) {
  describe(backend, () => {
    let hook: Awaited<ReturnType<typeof restartableWebhook>>;
    beforeAll(async () => {
      w = await startWorld(CLUSTERS, { backend, webhook: false });
      hook = await restartableWebhook(w.kubeconfigPath);
      for (const api of [w.mgmt, ...w.managed]) await registerWebhook(api, hook.url, hook.caPem);
      await createRoot(w.mgmt, OLD, 'old root');
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await w?.stop();
      await hook?.close();
    });

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

    const base = (vm: ObjectRef, extra: Partial<RotateOptions> = {}): RotateOptions => ({
      mgmt: w.mgmt,
      clusters: w.managed,
      virtualMesh: vm,
      verify: builtInVerifier,
      stepTimeoutMs: 60_000,
      ...extra,
    });

    it('rides out the admission webhook down for 20 s in the middle of a step (failurePolicy Fail)', async () => {
      const { vm } = await mesh('vm-hookdown');
      const root = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'vm-hookdown-new' }, 'hookdown new root');
      let outage: Promise<void> | undefined;
      let refusedWhileDown = 0;
      const r = await rotate(
        base(vm, {
          newRootSecret: root.ref,
          onEvent: (e) => {
            if (
              e.type === 'certificate' &&
              e.step === 'PROPAGATING_NEW_INTERMEDIATE' &&
              e.event.action === 'finish' &&
              !outage
            ) {
              outage = (async () => {
                await hook.down();
                await new Promise((res) => setTimeout(res, 20_000));
                await hook.up();
              })();
            }
            if (outage && e.type === 'certificate' && e.event.action === 'retry') refusedWhileDown++;
          },
        }),
      );
      await outage;
      expect(r.outcome, r.error).toBe('finished');
      expect(refusedWhileDown).toBeGreaterThan(0);
    }, 240_000);

    it('resumes after stops at seeded random points of every step', async () => {
      const { vm } = await mesh('vm-random');
      const root = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'vm-random-new' }, 'random new root');
      // A fixed seed: the same points on every run, spread over the certificate events of the steps.
      let seed = 20261205;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      let outcome = 'stopped';
      let stops = 0;
      for (let i = 0; i < 30 && outcome === 'stopped'; i++) {
        const ctl = new AbortController();
        const after = 1 + Math.floor(next() * 12);
        let seen = 0;
        const r = await rotate(
          base(vm, {
            newRootSecret: root.ref,
            signal: ctl.signal,
            onEvent: (e) => {
              if (e.type === 'certificate' && ++seen === after) ctl.abort();
            },
          }),
        );
        outcome = r.outcome;
        if (outcome === 'stopped') stops++;
      }
      expect(stops).toBeGreaterThan(3);
      expect(outcome).toBe('finished');
    }, 300_000);

    // fault injection: the sandbox only
    if (backend === 'sandbox')
      it('a hung API call ends the step at its timeout and rolls back naming the cluster; the next rotation finishes', async () => {
        const { vm } = await mesh('vm-hung');
        const root = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'vm-hung-new' }, 'hung new root');
        const c2 = w.sandbox!.clusters.get('c2')!;
        let hung = false;
        const r = await rotate(
          base(vm, {
            newRootSecret: root.ref,
            stepTimeoutMs: 6_000,
            onEvent: (e) => {
              // every write to c2's Secrets hangs from PROPAGATING_NEW_INTERMEDIATE on, until cleared
              if (!hung && e.type === 'step' && e.rotationState === 'PROPAGATING_NEW_INTERMEDIATE') {
                hung = true;
                c2.setFaults([{ delayMs: 45_000, fraction: 1, match: { method: 'PUT', pathIncludes: '/secrets/' } }]);
              }
              if (hung && e.type === 'step' && e.rotationState === 'ROLLING_BACK') c2.clearFaults();
            },
          }),
        );
        c2.clearFaults();
        expect(r.outcome).toBe('failed');
        expect(r.rotation.status?.error).toMatch(/PROPAGATING_NEW_INTERMEDIATE: .*cluster "c2"/);
        const again = await rotate(base(vm, { newRootSecret: root.ref }));
        expect(again.outcome, again.error).toBe('finished');
      }, 240_000);

    it('a cluster lost in ADDING_NEW_ROOT: the step fails, the rollback waits for it, and a new rotation finishes', async () => {
      const { vm } = await mesh('vm-lost');
      const root = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'vm-lost-new' }, 'lost new root');
      let stopping: Promise<void> | undefined;
      let back: Promise<void> | undefined;
      const r = await rotate(
        base(vm, {
          newRootSecret: root.ref,
          stepTimeoutMs: 4_000,
          onEvent: (e) => {
            // lost as the step begins, before any certificate of it is re-issued
            if (!stopping && e.type === 'step' && e.rotationState === 'ADDING_NEW_ROOT') stopping = w.pause('c3');
            // back in time for the rollback's own step
            if (stopping && !back && e.type === 'step' && e.rotationState === 'ROLLING_BACK')
              back = stopping.then(() => w.resume('c3'));
          },
        }),
      );
      await stopping;
      await (back ?? w.resume('c3'));
      expect(r.outcome).toBe('failed');
      expect(r.rotation.status?.error).toMatch(/ADDING_NEW_ROOT: .*c3/);
      const again = await rotate(base(vm, { newRootSecret: root.ref }));
      expect(again.outcome, again.error).toBe('finished');
    }, 240_000);
  });
}
