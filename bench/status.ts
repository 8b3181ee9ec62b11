// `kubectl mesh-cert status` across 100 managed clusters against `status` across 1, in the same
// sandbox and the same run (issue 13). Each managed cluster holds one FINISHED IssuedCertificate
// of one VirtualMesh (issued by the engine, bench/mesh.ts), so status reads every cluster's
// objects and issued Secret and checks the mesh's trust. Both commands name the management
// cluster; the 100-cluster one takes every other context as managed (the default), the 1-cluster
// one `--managed-clusters c001`. Median wall time of interleaved runs (the built CLI, as bench/cli.ts runs
// it); target: within 3x.
// Run alone: npx tsx bench/status.ts  (BENCH_STATUS_CLUSTERS=20, BENCH_STATUS_RUNS=5 to vary)
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateRsaKey } from '#schemas/x509/index.js';
import { MGMT, createRootSecret, isMain, issueMesh, startMeshSandbox } from './mesh.js';
import type { BenchResult } from './result.js';
import { median } from './stats.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'plugin', 'bin', 'kubectl-mesh_cert');
const MANAGED = Number(process.env.BENCH_STATUS_CLUSTERS ?? 100);
const RUNS = Number(process.env.BENCH_STATUS_RUNS ?? 9);

const log = (msg: string) => process.stderr.write(`status: ${msg}\n`);

/** Wall time and stdout of one run; a non-zero exit rejects with its stderr. Asynchronous: the sandbox serves from this process. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0)
        reject(
          new Error(
            `kubectl-mesh_cert ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(0, 3).join(' | ')}`,
          ),
        );
      else resolve({ ms, stdout });
    });
  });
}

/** The table must show every managed cluster's certificate FINISHED, or the timing is of something else. */
function expectRows(stdout: string, clusters: string[], what: string): void {
  const finished = new Set(
    stdout
      .split('\n')
      .filter((l) => /\bIssuedCertificate\b/.test(l) && /\bFINISHED\b/.test(l))
      .map((l) => l.trim().split(/\s+/)[0]),
  );
  const missing = clusters.filter((c) => !finished.has(c));
  if (missing.length)
    throw new Error(
      `${what}: no FINISHED IssuedCertificate row for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
    );
  if (finished.size !== clusters.length)
    throw new Error(`${what}: IssuedCertificate rows for ${finished.size} clusters, expected ${clusters.length}`);
}

export async function benchStatus(): Promise<BenchResult[]> {
  execFileSync(process.execPath, [join(REPO, 'plugin', 'build.mjs')], { cwd: REPO, stdio: 'inherit' });
  const t0 = performance.now();
  const mesh = await startMeshSandbox(MANAGED);
  try {
    const { mgmt, managed, names } = mesh;
    const root = { namespace: 'gloo-mesh', name: 'bench-root' };
    // Long-lived, so that status has no expiry to warn about (it exits 1 within --warn-days).
    await createRootSecret(mgmt, root, 'bench root', 3650);
    // One key for every cluster's intermediate: status only reads them, and 100 new keys would
    // add a minute of set-up on a small machine.
    const shared = generateRsaKey(2048);
    await issueMesh({
      mgmt,
      managed,
      vm: { namespace: 'gloo-mesh', name: 'bench-vm' },
      signing: root,
      ttlDays: 365,
      makeKey: () => shared,
    });
    log(`${MANAGED} managed clusters issued in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const env = { ...process.env, KUBECONFIG: mesh.sandbox.kubeconfigPath, NO_COLOR: '1' };
    const all = ['status', '--mgmt-context', MGMT];
    const one = ['status', '--mgmt-context', MGMT, '--managed-clusters', names[0]!];
    // Warm the file cache and the sandbox once, and check what each sees; not counted.
    expectRows((await run(all, env)).stdout, names, `status across ${MANAGED}`);
    expectRows((await run(one, env)).stdout, [names[0]!], 'status across 1');
    const many: number[] = [];
    const single: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      single.push((await run(one, env)).ms);
      many.push((await run(all, env)).ms);
    }
    const m = median(many);
    const s = median(single);
    log(
      `across ${MANAGED}: ${many.map((x) => x.toFixed(0)).join(' ')} ms; across 1: ${single.map((x) => x.toFixed(0)).join(' ')} ms`,
    );
    return [
      {
        name: `kubectl-mesh_cert status, ${MANAGED} managed clusters + mgmt, one FINISHED IssuedCertificate each (median wall of ${RUNS})`,
        value: m,
        unit: 'ms',
        baseline: s,
        baselineName: 'status --managed-clusters c001: 1 managed cluster + mgmt, same sandbox (ms)',
        ratio: m / s,
        target: '<= 3x',
      },
    ];
  } finally {
    await mesh.stop();
  }
}

if (isMain(import.meta.url)) {
  for (const r of await benchStatus()) {
    console.log(
      `${r.name}: ${r.value.toFixed(0)} ${r.unit}; ${r.baselineName}: ${r.baseline.toFixed(0)}; ratio ${r.ratio.toFixed(2)} (target ${r.target})`,
    );
  }
}
