// `npx tsx test/conformance/run.ts [--kube KUBECONFIG] [--sandbox KUBECONFIG] [--only ID,ID] [--verbose]`
// The differential suite outside vitest: prints every case's verdict, the table and the score.
// By default it starts both servers; --kube / --sandbox attach to running ones instead (a
// kubeconfig with a context "conf": `npm run kube -- --clusters conf --kubeconfig FILE`), which
// makes repeated runs quick (each run uses fresh namespaces).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CASES } from './cases/index.js';
import { runCase, table, type CaseResult } from './harness.js';
import { prepare, release, type Side } from './suite.js';
import { attachTarget, startKubeTarget, startSandboxTarget } from './targets.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kube: { type: 'string' },
      sandbox: { type: 'string' },
      only: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      json: { type: 'string' },
    },
    strict: true,
  });
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cases = only ? CASES.filter((c) => only.some((o) => c.id === o || c.id.startsWith(o) || c.area === o)) : CASES;
  let sb: Side | undefined;
  let kube: Side | undefined;
  try {
    [sb, kube] = await Promise.all([
      (values.sandbox ? Promise.resolve(attachTarget('sandbox', values.sandbox)) : startSandboxTarget()).then(prepare),
      (values.kube ? Promise.resolve(attachTarget('kube', values.kube)) : startKubeTarget()).then(prepare),
    ]);
    const suffix = values.kube || values.sandbox ? `-${randomBytes(2).toString('hex')}` : '';
    const results: CaseResult[] = [];
    for (const c of cases) {
      const r = await runCase(c, sb, kube, suffix);
      results.push(r);
      process.stdout.write(`${r.verdict.padEnd(8)} ${c.id} (${r.ms.sandbox} / ${r.ms.kube} ms)\n`);
      if (r.verdict !== 'match' && r.detail)
        process.stdout.write(`         ${r.detail.replace(/\n/g, '\n         ')}\n`);
      if (values.verbose && r.verdict === 'diverges') {
        process.stdout.write(
          `  sandbox log:\n${r.sandbox.map((o) => `    ${JSON.stringify(o)}`).join('\n')}\n  kube log:\n${r.kube.map((o) => `    ${JSON.stringify(o)}`).join('\n')}\n`,
        );
      }
    }
    process.stdout.write(`\n${table(results)}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
  } finally {
    await Promise.all([release(sb), release(kube)]);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
