// `npx tsx test/kube/measure.ts [clusters=3] [runs=3]`: time to ready, memory of each process and
// stop time, as reported in README.md.
import { readFileSync } from 'node:fs';
import { startKube } from './index.js';

const rssMb = (pid: number): number =>
  Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
const n = Number(process.argv[2] ?? 3);
const runs = Number(process.argv[3] ?? 3);

for (let r = 1; r <= runs; r++) {
  const names = Array.from({ length: n }, (_, i) => (i === 0 ? 'mgmt' : `cluster${i}`));
  const t0 = performance.now();
  const kube = await startKube({ clusters: names });
  const ready = performance.now() - t0;
  await new Promise((res) => setTimeout(res, 10_000)); // settle: caches filled, controllers synced
  const cs = [...kube.clusters.values()];
  const line =
    `run ${r}: ${n} cluster(s) ready in ${(ready / 1000).toFixed(1)} s; RSS after 10 s: etcd ${rssMb(kube.etcd.pid)} MB, ` +
    `kube-apiserver ${cs.map((c) => rssMb(c.pids.apiserver)).join('/')} MB, kube-controller-manager ${cs.map((c) => rssMb(c.pids.controllerManager)).join('/')} MB`;
  const t1 = performance.now();
  await kube.stop();
  process.stdout.write(`${line}; stop ${((performance.now() - t1) / 1000).toFixed(1)} s\n`);
}
