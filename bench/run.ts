// Runs every benchmark of the project and records the figures in bench/RESULTS.md.
// Each benchmark measures its own baseline in the same run (openssl speed, an empty Fastify
// handler, `node -e 0`, node:crypto key generation), so the ratios compare like with like on
// whatever machine runs this.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { BenchResult } from './result.js';

type Suite = { title: string; load: () => Promise<() => Promise<BenchResult[]>> };

const suites: Suite[] = [
  { title: 'Certificates (schemas/pki)', load: async () => (await import('./pki.js')).benchPki },
  { title: 'Admission webhook', load: async () => (await import('./webhook.js')).benchWebhook },
  { title: 'CLI start-up', load: async () => (await import('./cli.js')).benchCli },
  { title: 'Root rotation', load: async () => (await import('./rotate.js')).benchRotate },
];

const only = process.argv.slice(2);
const chosen = only.length ? suites.filter((s) => only.some((o) => s.title.toLowerCase().includes(o.toLowerCase()))) : suites;

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

const sections: string[] = [];
let failed = false;
for (const suite of chosen) {
  process.stderr.write(`\n== ${suite.title}\n`);
  try {
    const results = await (await suite.load())();
    const rows = results.map(
      (r) => `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.baselineName}: ${fmt(r.baseline)} | ${fmt(r.ratio)} | ${r.target ?? ''} |`,
    );
    for (const r of results) {
      console.log(`${r.name}: ${fmt(r.value)} ${r.unit}  (baseline ${r.baselineName}: ${fmt(r.baseline)}; ratio ${fmt(r.ratio)}${r.target ? `; target ${r.target}` : ''})`);
    }
    sections.push(`## ${suite.title}\n\n| figure | value | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
  } catch (err) {
    failed = true;
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`${suite.title}: failed: ${msg}`);
    sections.push(`## ${suite.title}\n\nfailed: ${msg}\n`);
  }
}

if (only.length === 0) {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  const header = `# Benchmark results\n\nLatest run: ${new Date().toISOString().slice(0, 10)} on ${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.\nProduced by \`npm run bench\`; every ratio is against a baseline measured in the same run.\n\n`;
  writeFileSync(new URL('./RESULTS.md', import.meta.url), header + sections.join('\n'));
}
process.exitCode = failed ? 1 : 0;
