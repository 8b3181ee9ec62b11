// CLI start-up: median wall time of `kubectl-mesh_cert --help` and of `status` against a
// one-cluster sandbox, each beside `node -e 0` measured in the same run (interleaved, so that
// noise hits all three alike). Runnable alone: `tsx bench/cli.ts`.
import { execFileSync, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './result.js';
import { median } from './stats.js';
import { sandboxFixture } from './fixtures.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'plugin', 'bin', 'kubectl-mesh_cert');

/** Wall time of one run. Asynchronous: the sandbox serves from this process. */
function wall(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n')[0]}`));
      else resolve(ms);
    });
  });
}

export async function benchCli(opts: { runs?: number } = {}): Promise<BenchResult[]> {
  const runs = opts.runs ?? 21;
  execFileSync(process.execPath, [join(REPO, 'plugin', 'build.mjs')], { cwd: REPO, stdio: 'inherit' });
  const { startSandbox } = await sandboxFixture();
  const sandbox = await startSandbox({ clusters: ['bench'] });
  try {
    const env = { ...process.env, KUBECONFIG: sandbox.kubeconfigPath, NO_COLOR: '1' };
    const node: number[] = [];
    const help: number[] = [];
    const status: number[] = [];
    // Warm the file cache and the sandbox once; these runs are not counted.
    await wall(BIN, ['--help'], env);
    await wall(BIN, ['status'], env);
    for (let i = 0; i < runs; i++) {
      node.push(await wall(process.execPath, ['-e', '0'], env));
      help.push(await wall(BIN, ['--help'], env));
      status.push(await wall(BIN, ['status'], env));
    }
    const base = median(node);
    const h = median(help);
    const s = median(status);
    return [
      {
        name: 'kubectl-mesh_cert --help (median wall)',
        value: h,
        unit: 'ms',
        baseline: base,
        baselineName: 'node -e 0',
        ratio: h / base,
        target: '<= 5x',
      },
      {
        name: 'kubectl-mesh_cert status, 1-cluster sandbox (median wall)',
        value: s,
        unit: 'ms',
        baseline: base,
        baselineName: 'node -e 0',
        ratio: s / base,
        target: '<= 10x',
      },
    ];
  } finally {
    await sandbox.stop();
  }
}

if (
  process.argv[1] &&
  resolve(process.argv[1]).replace(/\.ts$/, '') === fileURLToPath(import.meta.url).replace(/\.ts$/, '')
) {
  for (const r of await benchCli()) {
    console.log(
      `${r.name}: ${r.value.toFixed(1)} ${r.unit} (baseline ${r.baselineName}: ${r.baseline.toFixed(1)} ms; ratio ${r.ratio.toFixed(2)}; target ${r.target})`,
    );
  }
}
