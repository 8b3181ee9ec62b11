// Runs every benchmark of the project and records the figures in bench/RESULTS.md.
// Each benchmark measures its own baseline in the same run (openssl speed, an empty Fastify
// handler, `node -e 0`, node:crypto key generation), so the ratios compare like with like on
// whatever machine runs this. Each suite runs in a process of its own: the webhook's latency
// client shares its process's heap, and the garbage an earlier suite left there showed up as
// GC pauses in the webhook's p99.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpus, totalmem } from 'node:os';
import type { BenchResult } from './result.js';

type Suite = { title: string; load: () => Promise<() => Promise<BenchResult[]>> };

const suites: Suite[] = [
  { title: 'Certificates (schemas/x509)', load: async () => (await import('./pki.js')).benchPki },
  { title: 'Admission webhook', load: async () => (await import('./webhook.js')).benchWebhook },
  {
    title: 'Admission webhook memory at rest',
    load: async () => (await import('./webhook-memory.js')).benchWebhookMemory,
  },
  {
    title: 'Admission webhook under attack',
    load: async () => (await import('./webhook-attack.js')).benchWebhookAttack,
  },
  {
    title: 'Admission webhook under a flood of new connections',
    load: async () => (await import('./webhook-flood.js')).benchWebhookFlood,
  },
  {
    title: 'Admission through kube-apiserver',
    load: async () => (await import('./apiserver-admission.js')).benchApiserverAdmission,
  },
  { title: 'CLI start-up', load: async () => (await import('./cli.js')).benchCli },
  { title: 'Root rotation', load: async () => (await import('./rotate.js')).benchRotate },
  { title: 'Status across clusters', load: async () => (await import('./status.js')).benchStatus },
];

const SUITE_FLAG = '--suite';
const RESULT_LINE = 'BENCH-RESULTS ';

// Child mode: run one suite and hand its results to the parent on stdout.
const suiteIdx = process.argv.indexOf(SUITE_FLAG);
if (suiteIdx > 0) {
  const suite = suites.find((s) => s.title === process.argv[suiteIdx + 1]);
  if (!suite) throw new Error(`unknown suite ${process.argv[suiteIdx + 1]}`);
  const results = await (await suite.load())();
  // exit only once the line has reached the pipe: writes to a pipe finish asynchronously.
  process.stdout.write(`${RESULT_LINE}${JSON.stringify(results)}\n`, () => process.exit(0));
} else {
  await runAll();
}

async function runSuite(suite: Suite): Promise<BenchResult[]> {
  const child = promisify(execFile)(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), SUITE_FLAG, suite.title],
    {
      maxBuffer: 64 << 20,
    },
  );
  // The suite's progress and its servers' messages go to our stderr as they come.
  let lastLine = '';
  child.child.stderr?.on('data', (d: Buffer) => {
    process.stderr.write(d);
    lastLine = String(d).trim().split('\n').pop() ?? lastLine;
  });
  let stdout: string;
  try {
    ({ stdout } = await child);
  } catch (err) {
    // execFile's message repeats all of stderr, which has been shown already.
    const e = err as { code?: number | string; signal?: string };
    throw new Error(
      `the suite exited ${e.signal ?? `with ${e.code}`}${lastLine ? `: ${lastLine.slice(0, 300)}` : ''}`,
      { cause: err },
    );
  }
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_LINE));
  if (!line) throw new Error(`the ${suite.title} suite printed no results`);
  return JSON.parse(line.slice(RESULT_LINE.length)) as BenchResult[];
}

async function runAll(): Promise<void> {
  const only = process.argv.slice(2);
  const chosen = only.length
    ? suites.filter((s) => only.some((o) => s.title.toLowerCase().includes(o.toLowerCase())))
    : suites;

  function fmt(n: number): string {
    if (!Number.isFinite(n)) return String(n);
    return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
  }

  const sections: string[] = [];
  let failed = false;
  for (const suite of chosen) {
    process.stderr.write(`\n== ${suite.title}\n`);
    try {
      const results = await runSuite(suite);
      const rows = results.map(
        (r) =>
          `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.baselineName}: ${fmt(r.baseline)} | ${fmt(r.ratio)} | ${r.target ?? ''} |`,
      );
      for (const r of results) {
        console.log(
          `${r.name}: ${fmt(r.value)} ${r.unit}  (baseline ${r.baselineName}: ${fmt(r.baseline)}; ratio ${fmt(r.ratio)}${r.target ? `; target ${r.target}` : ''})`,
        );
      }
      sections.push(
        `## ${suite.title}\n\n| figure | value | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n${rows.join('\n')}\n`,
      );
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
}
