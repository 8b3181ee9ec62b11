// Root rotation across 100 managed clusters in the sandbox (RSA-2048 keys), unattended with the
// built-in verifier, with the independent trust watcher (test/trust-watcher) on for the whole
// rotation, watching every managed cluster's issued Secret (istio-system/cacerts). Issue 13:
//
// - wall time next to its floor measured in the same run: generating the same number of RSA-2048
//   keys with node:crypto, with the same concurrency as the engine. The engine runs its re-issue
//   steps one after the other and, within a step, asks for every cluster's key at once (libuv's
//   thread pool, shared by both, then bounds how many are made together); the floor does the same:
//   per step, that step's keys all at once. Everything else a rotation does (CSRs, signing, API
//   round trips, the built-in check, the watcher beside it) is the overhead the ratio shows.
//   Target: within 2x of the floor.
// - trust gaps the watcher saw: must be 0. A gap flags the run (row names say FAIL, the wall
//   time is marked invalid; run alone, the process exits 1).
// - peak memory: the RSS high-water of this process during the rotation (sandbox, engine and
//   watcher all live here), next to its RSS just before, idle with the mesh issued and the watcher
//   on. Report only.
//
// Run alone: npx tsx bench/rotate.ts  (BENCH_ROTATE_CLUSTERS=20 for a smaller mesh)
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { rotate } from '../plugin/src/engine/rotation/driver.js';
import { builtInVerifier } from '../plugin/src/engine/rotation/verifier.js';
import { trustWatcherFixture, type TrustWatcherReport as Report } from './fixtures.js';
import { ISSUED, createRootSecret, isMain, issueMesh, startMeshSandbox } from './mesh.js';
import type { BenchResult } from './result.js';
import { median } from './stats.js';

const MANAGED = Number(process.env.BENCH_ROTATE_CLUSTERS ?? 100);
const TARGET_RATIO = 2;
const gen = promisify(generateKeyPair);
const MiB = 2 ** 20;

const log = (msg: string) => process.stderr.write(`rotate: ${msg}\n`);

/** node:crypto making `batches[i]` RSA-2048 keys all at once, one batch after the other. */
async function keyFloor(batches: number[]): Promise<number> {
  const t0 = performance.now();
  for (const n of batches) {
    await Promise.all(
      Array.from({ length: n }, () =>
        gen('rsa', {
          modulusLength: 2048,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        }),
      ),
    );
  }
  return performance.now() - t0;
}

/** The process's RSS high-water in bytes (getrusage ru_maxrss, KiB on Linux). */
const maxRss = () => process.resourceUsage().maxRSS * 1024;

/** Samples RSS every few ms until stopped; the event loop is busy in a rotation, so also see maxRss. */
function rssSampler(everyMs = 10): { stop(): number[] } {
  const samples = [process.memoryUsage.rss()];
  const t = setInterval(() => samples.push(process.memoryUsage.rss()), everyMs);
  return { stop: () => (clearInterval(t), samples.push(process.memoryUsage.rss()), samples) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchRotate(): Promise<BenchResult[]> {
  const tStart = performance.now();
  const mesh = await startMeshSandbox(MANAGED);
  try {
    const { mgmt, managed, names } = mesh;
    log(`sandbox with ${names.length} managed clusters up in ${((performance.now() - tStart) / 1000).toFixed(1)} s`);
    const vm = { namespace: 'gloo-mesh', name: 'bench-vm' };
    const oldRef = { namespace: 'gloo-mesh', name: 'old-root' };
    const newRef = { namespace: 'gloo-mesh', name: 'new-root' };
    await createRootSecret(mgmt, oldRef, 'old root', 30);
    await createRootSecret(mgmt, newRef, 'new root', 30);
    // The mesh as it stands before the rotation (not timed).
    let t = performance.now();
    await issueMesh({ mgmt, managed, vm, signing: oldRef, ttlDays: 30 });
    log(`initial issuance of ${MANAGED} intermediates: ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // The watcher, on every managed cluster's issued Secret, from before the first write of the
    // rotation to after its last one.
    const { startTrustWatcher } = await trustWatcherFixture();
    const watcher = await startTrustWatcher({
      kubeconfigPath: mesh.sandbox.kubeconfigPath,
      contexts: names,
      secret: { namespace: ISSUED.namespace, name: 'cacerts' },
    });
    let stopped = false;
    try {
      await watcher.waitForQuiet(200, 60_000);
      const eventsBefore = watcher.events;

      // Idle baseline: the mesh issued, the watcher on, nothing running.
      const idle: number[] = [];
      for (let i = 0; i < 20; i++) {
        idle.push(process.memoryUsage.rss());
        await sleep(50);
      }
      const idleRss = median(idle);
      const maxBefore = maxRss();

      const keysPerStep = new Map<string, number>();
      const sampler = rssSampler();
      t = performance.now();
      const r = await rotate({
        mgmt,
        clusters: managed,
        virtualMesh: vm,
        newRootSecret: newRef,
        verify: builtInVerifier,
        stepTimeoutMs: 600_000,
        onEvent: (e) => {
          if (e.type === 'certificate' && e.event.action === 'generate-key')
            keysPerStep.set(e.step, (keysPerStep.get(e.step) ?? 0) + 1);
          if (e.type === 'step') log(`${((performance.now() - t) / 1000).toFixed(1)} s: ${e.state} ${e.rotationState}`);
        },
      });
      const rotateMs = performance.now() - t;
      const samples = sampler.stop();
      const maxAfter = maxRss();
      // The high-water rose during the rotation: it is the rotation's peak, exactly. Otherwise the
      // rotation stayed below an earlier peak (the initial issuance) and the samples tell.
      const peakRss = maxAfter > maxBefore ? maxAfter : Math.max(...samples);
      if (r.outcome !== 'finished')
        throw new Error(
          `rotation ended ${r.outcome} (the watcher saw ${watcher.gaps.length} trust gap(s)): ${r.error ?? r.rotation.status?.error}`,
        );

      await watcher.waitForQuiet(300, 60_000);
      const report: Report = await watcher.stop();
      stopped = true;
      const gaps = report.gaps.length;
      const events = report.events - eventsBefore;
      if (gaps) {
        try {
          watcher.assertNoGaps();
        } catch (err) {
          log(`FAIL: ${(err as Error).message}`);
        }
      }
      const stepCounts = [...keysPerStep.values()];
      const keyed = stepCounts.reduce((a, b) => a + b, 0);
      if (keyed !== r.keysGenerated)
        log(`note: ${r.keysGenerated} keys counted by the engine, ${keyed} seen as events`);
      log(
        `rotation ${(rotateMs / 1000).toFixed(1)} s; ${r.keysGenerated} keys (${[...keysPerStep].map(([s, n]) => `${s} ${n}`).join(', ')}); measuring the floor`,
      );
      const floorMs = await keyFloor(stepCounts.length ? stepCounts : [r.keysGenerated]);
      const ratio = rotateMs / floorMs;
      log(
        `floor ${(floorMs / 1000).toFixed(1)} s; ratio ${ratio.toFixed(2)}; ${gaps} gap(s) in ${events} change(s) seen; peak RSS ${(peakRss / MiB).toFixed(0)} MiB vs ${(idleRss / MiB).toFixed(0)} MiB idle`,
      );

      const flag = gaps ? ` - INVALID: the watcher saw ${gaps} trust gap(s)` : '';
      return [
        {
          name: `unattended rotation, ${MANAGED} managed clusters (${r.keysGenerated} RSA-2048 keys, ${stepCounts.length} steps), trust watcher on${flag}`,
          value: rotateMs / 1000,
          unit: 's',
          baseline: floorMs / 1000,
          baselineName: `node:crypto generating ${r.keysGenerated} RSA-2048 keys, ${stepCounts.join(' + ')} at once per step (s)`,
          ratio,
          target: `<= ${TARGET_RATIO}x${flag}`,
        },
        {
          name: `${gaps ? 'FAIL: ' : ''}trust gaps seen by the independent watcher during the rotation (${names.length} clusters, ${events} Secret changes, ${report.snapshots} snapshots, ${report.relists} relists)`,
          value: gaps,
          unit: 'gaps',
          baseline: 0,
          baselineName: 'required',
          ratio: gaps,
          target: '= 0',
        },
        {
          name: `peak RSS of the bench process during the rotation (sandbox of ${names.length + 1} clusters, engine and watcher in one process)`,
          value: peakRss / MiB,
          unit: 'MiB',
          baseline: idleRss / MiB,
          baselineName: 'RSS just before, idle with the mesh issued and the watcher on (MiB)',
          ratio: peakRss / idleRss,
          target: 'report only',
        },
      ];
    } finally {
      if (!stopped) await watcher.stop().catch(() => undefined);
    }
  } finally {
    await mesh.stop();
  }
}

if (isMain(import.meta.url)) {
  const results = await benchRotate();
  for (const r of results) {
    console.log(
      `${r.name}: ${r.value.toFixed(2)} ${r.unit}; ${r.baselineName}: ${r.baseline.toFixed(2)}; ratio ${r.ratio.toFixed(2)} (target ${r.target})`,
    );
  }
  if (results.some((r) => r.unit === 'gaps' && r.value > 0)) process.exitCode = 1;
}
