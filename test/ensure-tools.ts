// `npm test` runs this before vitest: every program the suites use as a referee, built from its
// Go module once per machine (cached under ~/.cache/mesh-cert/) and reused after. A missing Go
// toolchain or a failed build stops the run here with a message naming what is missing; no suite
// is skipped for it.
import { ensureBinaries } from './kube/ensure.js';
import { ensureReferee } from './istio/ensure.js';
import { ensureKrew } from './krew/ensure.js';
import { ensureHelm } from './helm/ensure.js';
import { ensureLoadgen } from './loadgen/ensure.js';

const TOOLS: { name: string; ensure: () => Promise<unknown> }[] = [
  { name: 'kube-apiserver, kube-controller-manager, etcd (test/kube)', ensure: () => ensureBinaries() },
  { name: 'the Istio referee (test/istio)', ensure: () => ensureReferee() },
  { name: 'krew (test/krew)', ensure: () => ensureKrew() },
  { name: 'helm (test/helm)', ensure: () => ensureHelm() },
  { name: 'the load generator of bench/webhook-flood.ts (test/loadgen)', ensure: () => ensureLoadgen() },
];

async function main(): Promise<void> {
  // One after the other: each Go build wants both cores and ~2 GiB.
  for (const t of TOOLS) {
    const t0 = Date.now();
    try {
      await t.ensure();
    } catch (e) {
      process.stderr.write(`ensure-tools: ${t.name}: ${(e as Error).message}\n`);
      process.exit(1);
    }
    process.stderr.write(`ensure-tools: ${t.name} ready (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
}

void main();
