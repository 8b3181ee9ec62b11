// The webhook under a flood of new connections (issue 16): 5,000 at once, each a full TLS
// handshake (no keep-alive, no session resumption) and one review, from test/loadgen, a Go
// program: Go's crypto/tls is kube-apiserver's own TLS stack, and it costs the shared cores less
// than Node clients did, so that on a small machine the figure measures the servers more than the
// client. Measured against the built webhook as its pod runs it (the Deployment's NODE_OPTIONS,
// an ECDSA serving certificate, the informers on a real kube-apiserver when test/kube is built).
//   1. the install as shipped: as many replicas as manifests/webhook/deployment.yaml runs (3),
//      without client certificates (the default install; manifests/components/client-auth is
//      opt-in), new connections spread over them in turn as a Service spreads them over its
//      endpoints: errors and p99 (target 0 and < 5 s, the webhook's timeoutSeconds), beside as
//      many empty Node HTTPS servers with the same TLS and heap settings;
//   2. the same with client certificates (the client-auth component), beside the empty servers
//      asking for them too;
//   3. one replica alone, beside one empty server: what one process does with one core; a
//      connection that waited past connectionQueueTimeoutMs (4 s) is closed (shed), so that the
//      apiserver applies its failurePolicy at once instead of timing out;
//   4. one replica with Node's default listen backlog (511): what --listen-backlog is worth.
// All servers and the load generator share this machine's cores (in a cluster each replica has a
// node's cores to itself, by the Deployment's anti-affinity): the kernel's listen-queue counters,
// the servers' CPU and the generator's CPU a connection are printed beside each figure. Every
// server set is warmed first (1,000 connections, 50 at a time), as a pod that has been serving.
//   npx tsx bench/webhook-flood.ts     run it alone (needs `node webhook/build.mjs`);
//   BENCH_FLOOD_CONNECTIONS=N (default 5000)
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult } from './result.js';
import { loadgenFixture, webhookHelpersFixture, webhookObjectsFixture, webhookProcessFixture } from './fixtures.js';
import {
  benchTls,
  cpuMs,
  informerCluster,
  listenCounters,
  startServer,
  status,
  stopServer,
  sysctl,
  type Server,
  type ServerOptions,
  type Tls,
} from './webhook-servers.js';

const run = promisify(execFile);
const CONNECTIONS = Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 5000);
const TIMEOUT_SECONDS = 5;
/** Node's own listen backlog when none is given. */
const NODE_DEFAULT_BACKLOG = 511;
const WARM_UP = { connections: 1000, concurrency: 50 };
const log = (s: string): void => void process.stderr.write(`[webhook-flood] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What test/loadgen prints. */
interface LoadgenReport {
  latenciesMs: number[];
  errors: Record<string, number>;
  cpuMs: number;
  wallMs: number;
}

interface Flood {
  ok: number;
  errors: number;
  /** The distinct error messages, a few. */
  errorKinds: string[];
  p50: number;
  p99: number;
  /** Answered within the webhook's timeoutSeconds: what the apiserver would have used. */
  inTime: number;
  /** The servers' CPU and the load generator's, a connection. */
  serverCpu: number;
  clientCpu: number;
  wallMs: number;
  /** How the kernel's listen-queue counters moved meanwhile. */
  overflows: number;
}

interface Loadgen {
  bin: string;
  tls: Tls;
  bodyFile: string;
}

async function loadgen(
  g: Loadgen,
  servers: Server[],
  clientAuth: boolean,
  n: number,
  opts: { concurrency?: number; timeoutSeconds: number },
): Promise<LoadgenReport> {
  const args = [
    '-urls',
    servers.map((s) => `${s.url}/validate`).join(','),
    '-n',
    String(n),
    '-concurrency',
    String(opts.concurrency ?? 0),
    '-timeout',
    `${opts.timeoutSeconds}s`,
    '-ca',
    g.tls.caFile,
    '-body',
    g.bodyFile,
    ...(clientAuth ? ['-cert', g.tls.clientCertFile, '-key', g.tls.clientKeyFile] : []),
  ];
  const { stdout } = await run(g.bin, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as LoadgenReport;
}

async function flood(g: Loadgen, servers: Server[], clientAuth: boolean, who: string): Promise<Flood> {
  const warm = await loadgen(g, servers, clientAuth, WARM_UP.connections, {
    concurrency: WARM_UP.concurrency,
    timeoutSeconds: 30,
  });
  const warmErrors = Object.values(warm.errors).reduce((a, b) => a + b, 0);
  if (warmErrors) throw new Error(`${who}: ${warmErrors} errors while warming up: ${Object.keys(warm.errors)[0]}`);
  await sleep(500);
  const cpu0 = servers.reduce((a, s) => a + cpuMs(s.pid), 0);
  const before = listenCounters();
  // The apiserver gives up after timeoutSeconds: so does the client, and a connection it dropped
  // is an error, not a long latency.
  const r = await loadgen(g, servers, clientAuth, CONNECTIONS, { timeoutSeconds: TIMEOUT_SECONDS });
  const after = listenCounters();
  // a server that died mid-flood has no CPU to read (floodSet reports it)
  const cpuOf = (s: Server): number => (s.child.exitCode === null ? cpuMs(s.pid) : NaN);
  const serverCpu = (servers.reduce((a, s) => a + cpuOf(s), 0) - cpu0) / CONNECTIONS;
  const lat = [...r.latenciesMs].sort((a, b) => a - b);
  // nearest rank: the smallest latency with at least p of them at or below it
  const q = (p: number): number => lat[Math.max(0, Math.ceil(p * lat.length) - 1)] ?? NaN;
  const f: Flood = {
    ok: lat.length,
    errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
    errorKinds: Object.entries(r.errors)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([m, c]) => `${c}x ${m}`),
    p50: q(0.5),
    p99: q(0.99),
    inTime: lat.filter((ms) => ms < TIMEOUT_SECONDS * 1000).length,
    serverCpu,
    clientCpu: r.cpuMs / CONNECTIONS,
    wallMs: r.wallMs,
    overflows: after.ListenOverflows - before.ListenOverflows,
  };
  log(
    `${who}: ${f.ok} answered (${f.inTime} within ${TIMEOUT_SECONDS} s), ${f.errors} errors${f.errors ? ` (${f.errorKinds.join('; ')})` : ''}, ` +
      `p50 ${f.p50.toFixed(0)} ms, p99 ${f.p99.toFixed(0)} ms, last answer after ${(f.wallMs / 1000).toFixed(1)} s; ` +
      `servers ${f.serverCpu.toFixed(2)} ms CPU a connection, load generator ${f.clientCpu.toFixed(2)}; listen queue overflows ${f.overflows}`,
  );
  return f;
}

/** Starts `count` servers, floods them, checks the webhooks' metrics, stops them. */
async function floodSet(
  g: Loadgen,
  mode: 'webhook' | 'empty',
  count: number,
  o: ServerOptions,
  who: string,
  problems: string[],
): Promise<Flood & { peakMiB: number; restMiB: number }> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startServer(mode, g.tls, o)));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const exited = (): string[] =>
      servers.flatMap((s, i) =>
        s.child.exitCode !== null ? [`${who}: server ${i} exited (${s.child.exitCode})`] : [],
      );
    const restMiB = status(servers[0]!.pid, 'VmRSS');
    const f = await flood(g, servers, o.clientAuth, who);
    // a server that died mid-flood has no /proc entry left to read: say so first
    if (exited().length) {
      problems.push(...exited());
      return { ...f, peakMiB: NaN, restMiB };
    }
    const peakMiB = status(servers[0]!.pid, 'VmHWM');
    for (const [i, s] of servers.entries()) {
      if (mode !== 'webhook' || !s.healthUrl) continue;
      const metrics = (
        await fetch(`${s.healthUrl}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text())
      ).split('\n');
      const dropped = metrics.filter((l) => l.startsWith('mesh_cert_webhook_connections_dropped_total'));
      if (dropped.length) log(`${who}, replica ${i}: ${dropped.join(', ')}`);
      const fallbacks = metrics.filter((l) => l.includes('result="error"'));
      if (fallbacks.length) problems.push(`${who}: fallbacks: ${fallbacks.join(', ')}`);
    }
    return { ...f, peakMiB, restMiB };
  } finally {
    await Promise.all(servers.map((s) => stopServer(s)));
  }
}

export async function benchWebhookFlood(): Promise<BenchResult[]> {
  const { ensureLoadgen } = await loadgenFixture();
  const { review, tmp } = await webhookHelpersFixture();
  const { issuedCertificate } = await webhookObjectsFixture();
  const { deploymentEnv, deploymentReplicas } = await webhookProcessFixture();
  const backlog = (await import('../webhook/src/server.js')).DEFAULT_LIMITS.listenBacklog;
  const bodyFile = join(tmp(), 'review.json');
  writeFileSync(bodyFile, JSON.stringify(review('IssuedCertificate', 'CREATE', issuedCertificate())));
  const g: Loadgen = { bin: await ensureLoadgen({ log }), tls: await benchTls(), bodyFile };
  const env = deploymentEnv();
  const replicas = deploymentReplicas();
  const kube = await informerCluster(log);
  const base: ServerOptions = { env, kubeconfig: kube?.kubeconfigPath, backlog, clientAuth: false };
  log(
    `${CONNECTIONS} new connections at once; net.core.somaxconn ${sysctl('net.core.somaxconn')}, net.ipv4.tcp_max_syn_backlog ${sysctl('net.ipv4.tcp_max_syn_backlog')}, ${cpus().length} cores; ` +
      `webhook with NODE_OPTIONS="${env.NODE_OPTIONS ?? ''}"${kube ? ', informers on a real kube-apiserver' : ', no informers'}`,
  );
  const problems: string[] = [];
  try {
    const measure = (
      mode: 'webhook' | 'empty',
      n: number,
      o: ServerOptions,
      who: string,
    ): ReturnType<typeof floodSet> => floodSet(g, mode, n, o, who, problems);
    const mtls = { ...base, clientAuth: true };
    const shipped = await measure('webhook', replicas, base, `${replicas} webhook replicas`);
    const shippedEmpty = await measure('empty', replicas, base, `${replicas} empty servers`);
    const withCerts = await measure('webhook', replicas, mtls, `${replicas} replicas, client certificates`);
    const withCertsEmpty = await measure('empty', replicas, mtls, `${replicas} empty, client certificates`);
    const one = await measure('webhook', 1, base, 'one webhook replica');
    const oneEmpty = await measure('empty', 1, base, 'one empty server');
    const one511 = await measure(
      'webhook',
      1,
      { ...base, backlog: NODE_DEFAULT_BACKLOG },
      `one replica, --listen-backlog ${NODE_DEFAULT_BACKLOG}`,
    );
    if (problems.length) throw new Error(problems.join('; '));

    const N = `${CONNECTIONS} new connections at once`;
    const R = `${replicas} replicas (the Deployment), no client certificates`;
    const EMPTY = (n: number): string => `${n} empty Node HTTPS server${n > 1 ? 's' : ''}, same TLS`;
    const CERTS = `${EMPTY(replicas)}, client certificates`;
    /** A figure beside its baseline; counts that may be 0 divide by at least 1. */
    const row = (
      name: string,
      unit: string,
      value: number,
      baseline: number,
      baselineName: string,
      target?: string,
      count = false,
    ): BenchResult => ({
      name: `${N}, ${name}`,
      value,
      unit,
      baseline,
      baselineName,
      ratio: count ? (value === 0 ? 0 : value / Math.max(1, baseline)) : value / baseline,
      target,
    });
    const report = 'report only';
    return [
      row(`${R}: errors`, 'errors', shipped.errors, shippedEmpty.errors, EMPTY(replicas), '0', true),
      row(
        `${R}: answered within timeoutSeconds (${TIMEOUT_SECONDS} s)`,
        'connections',
        shipped.inTime,
        shippedEmpty.inTime,
        EMPTY(replicas),
        `${CONNECTIONS}`,
        true,
      ),
      row(`${R}: p50`, 'ms', shipped.p50, shippedEmpty.p50, EMPTY(replicas)),
      row(`${R}: p99`, 'ms', shipped.p99, shippedEmpty.p99, EMPTY(replicas), `< ${TIMEOUT_SECONDS * 1000} ms`),
      row(`${R}: servers' CPU a connection`, 'ms', shipped.serverCpu, shippedEmpty.serverCpu, EMPTY(replicas)),
      row(
        `${R}: listen queue overflows (kernel ListenOverflows)`,
        'overflows',
        shipped.overflows,
        shippedEmpty.overflows,
        EMPTY(replicas),
        report,
        true,
      ),
      row(
        `${R}: resident memory peak of one replica (VmHWM)`,
        'MiB',
        shipped.peakMiB,
        shipped.restMiB,
        'the same replica at start',
        report,
      ),
      row(
        `${replicas} replicas with client certificates (client-auth component): errors`,
        'errors',
        withCerts.errors,
        withCertsEmpty.errors,
        CERTS,
        report,
        true,
      ),
      row(`${replicas} replicas with client certificates: p99`, 'ms', withCerts.p99, withCertsEmpty.p99, CERTS, report),
      row(
        `one replica alone: answered within ${TIMEOUT_SECONDS} s`,
        'connections',
        one.inTime,
        oneEmpty.inTime,
        EMPTY(1),
        report,
        true,
      ),
      row('one replica alone: p99 of those answered', 'ms', one.p99, oneEmpty.p99, EMPTY(1), report),
      row(
        `one replica, --listen-backlog ${NODE_DEFAULT_BACKLOG} (Node's default): p99`,
        'ms',
        one511.p99,
        one.p99,
        `--listen-backlog ${backlog}`,
        report,
      ),
      row(
        `one replica, --listen-backlog ${NODE_DEFAULT_BACKLOG}: listen queue overflows (kernel ListenOverflows)`,
        'overflows',
        one511.overflows,
        one.overflows,
        `--listen-backlog ${backlog}`,
        report,
        true,
      ),
      row(
        `${R}: the load generator's CPU a connection (on the same cores)`,
        'ms',
        shipped.clientCpu,
        shipped.serverCpu,
        "the servers' CPU a connection",
        report,
      ),
    ];
  } finally {
    await kube?.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchWebhookFlood()) {
    console.log(
      `${r.name}: ${r.value.toFixed(2)} ${r.unit} (baseline ${r.baselineName}: ${r.baseline.toFixed(2)}; ratio ${r.ratio.toFixed(2)}${r.target ? `; target ${r.target}` : ''})`,
    );
  }
}
