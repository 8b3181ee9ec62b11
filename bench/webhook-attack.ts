// The webhook under attack (issue 16), measured: the built bin as the Deployment runs it (its
// NODE_OPTIONS, --client-ca-file, an ECDSA serving certificate from gen-certs.sh, and, when the
// binaries of test/kube are there, --kubeconfig of a real kube-apiserver, so that its
// CertificateRotation informer is loaded and running as in a pod), on loopback.
//   1. resident memory at rest, then its peak (VmHWM) through an attack suite: every hostile shape
//      of test/webhook/attack-shapes.ts on both endpoints, six 2.8 MB reviews at once, 40 large
//      bodies at once (past the in-flight budget), slow headers and bodies, 3,000 silent TCP
//      connections; the ratio peak / rest (target <= 2);
//   2. the largest reply to any of it (target <= 64 KiB), and the time to answer the 2.8 MB review
//      of 240,000 unknown fields (against JSON.parse of that body in this process);
//   3. 5,000 new connections at once, each a TLS handshake with the client certificate and one
//      review, from client processes of their own: errors and p99 (target 0 and < 5 s, the
//      webhook's timeoutSeconds), against an empty Node HTTPS server with the same TLS settings;
//      again with Node's default listen backlog (511) to show what the backlog is worth; with the
//      kernel's listen-queue overflow counters and the load generator's own CPU beside each, since
//      the client processes share the machine's cores with the server;
//   4. resident memory at rest without a cluster configured, the baseline of the informers' cost.
// Every loop is bounded and ends by itself.
//   npx tsx bench/webhook-attack.ts     run it alone (needs `node webhook/build.mjs`);
//   BENCH_ATTACK_CONNECTIONS=N (default 5000), BENCH_ATTACK_CLIENTS=N client processes (default 4)
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, Agent, request } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSecureContext, connect as tlsConnect, type SecureContext } from 'node:tls';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './result.js';
import {
  attackShapesFixture,
  kubeFixture,
  webhookHelpersFixture,
  webhookObjectsFixture,
  webhookProcessFixture,
} from './fixtures.js';

const SELF = fileURLToPath(import.meta.url);
const WEBHOOK_BIN = fileURLToPath(new URL('../webhook/bin/mesh-cert-webhook', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_ATTACK_CONNECTIONS ?? 5000);
const CLIENTS = Number(process.env.BENCH_ATTACK_CLIENTS ?? 4);
const TIMEOUT_SECONDS = 5;
/** Node's own listen backlog when none is given. */
const NODE_DEFAULT_BACKLOG = 511;
const log = (s: string): void => void process.stderr.write(`[webhook-attack] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Tls {
  caPem: string;
  certFile: string;
  keyFile: string;
  clientCaFile: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** user + system CPU of a process so far, in ms (/proc, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The kernel's listen-queue counters (this network namespace): overflows drop SYNs or final ACKs. */
function listenCounters(): Record<
  'ListenOverflows' | 'ListenDrops' | 'TCPReqQFullDoCookies' | 'TCPReqQFullDrop',
  number
> {
  const lines = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const get = (n: string): number => Number(values[names.indexOf(n)] ?? NaN);
  return {
    ListenOverflows: get('ListenOverflows'),
    ListenDrops: get('ListenDrops'),
    TCPReqQFullDoCookies: get('TCPReqQFullDoCookies'),
    TCPReqQFullDrop: get('TCPReqQFullDrop'),
  };
}

function sysctl(name: string): string {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return 'unreadable';
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

/** The baseline: an empty Node HTTPS server with the webhook's TLS settings and client certificates. */
async function serveEmpty(certFile: string, keyFile: string, clientCaFile: string, backlog: number): Promise<void> {
  const { TLS_PROTOCOL_OPTIONS } = await import('../webhook/src/tls.js');
  const s = createServer(
    {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      ca: readFileSync(clientCaFile),
      requestCert: true,
      rejectUnauthorized: true,
      ...TLS_PROTOCOL_OPTIONS,
    },
    (req, res) => {
      req.resume();
      req.on('end', () => res.end('{}'));
    },
  );
  s.listen({ port: 0, host: '127.0.0.1', backlog }, () =>
    process.stdout.write(`READY https://127.0.0.1:${(s.address() as { port: number }).port}\n`),
  );
  process.once('SIGTERM', () => process.exit(0));
}

function startServer(
  mode: 'webhook' | 'empty',
  tls: Tls,
  env: Record<string, string>,
  kubeconfig: string | undefined,
  backlog: number,
): Promise<{ url: string; healthUrl?: string; child: ChildProcess }> {
  const args =
    mode === 'webhook'
      ? [
          WEBHOOK_BIN,
          '--port',
          '0',
          '--health-port',
          '0',
          '--tls-cert-file',
          tls.certFile,
          '--tls-private-key-file',
          tls.keyFile,
          '--client-ca-file',
          tls.clientCaFile,
          '--log-level',
          'error',
          '--listen-backlog',
          String(backlog),
          ...(kubeconfig ? ['--kubeconfig', kubeconfig] : []),
        ]
      : ['--import', 'tsx', SELF, '--serve-empty', tls.certFile, tls.keyFile, tls.clientCaFile, String(backlog)];
  const e: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_SERVICE_HOST: '', ...env };
  delete e.KUBECONFIG;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: e });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /(?:READY|serving admission on) (https:\/\/\S+)/.exec(out);
      if (!m) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({ url: m[1]!, healthUrl: /health and metrics on (http:\/\/\S+)/.exec(out)?.[1], child });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${mode} server exited ${code} before serving: ${out.slice(0, 300)}`)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Clients

function postOnce(
  url: string,
  path: string,
  body: string,
  agent: Agent,
  timeoutMs = 30_000,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Client process: `n` new connections at once when told to go, one review each; reports latencies. */
async function floodClient(): Promise<void> {
  const msg = await new Promise<{
    url: string;
    n: number;
    body: string;
    caPem: string;
    certPem: string;
    keyPem: string;
  }>((r) => process.once('message', r as never));
  const ctx: SecureContext = createSecureContext({ ca: msg.caPem, cert: msg.certPem, key: msg.keyPem });
  process.send!({ ready: true });
  await new Promise((r) => process.once('message', r));
  const latencies: number[] = [];
  const errors: string[] = [];
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: msg.n }, async () => {
      const agent = new Agent({ keepAlive: false, secureContext: ctx, maxSockets: 1 } as ConstructorParameters<
        typeof Agent
      >[0]);
      const t = performance.now();
      try {
        const r = await postOnce(msg.url, '/validate', msg.body, agent, 60_000);
        if (r.status === 200 && !r.text.includes('"allowed":false')) latencies.push(performance.now() - t);
        else errors.push(`HTTP ${r.status} ${r.text.slice(0, 120)}`);
      } catch (e) {
        errors.push((e as Error).message.slice(0, 120));
      } finally {
        agent.destroy();
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  process.send!({ latencies, errors, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
}

interface FloodResult {
  p50: number;
  p99: number;
  max: number;
  errors: string[];
  ok: number;
  /** Answered within the webhook's timeoutSeconds: what the apiserver would have used. */
  inTime: number;
  /** Wall time from "go" to the last answer, and the client processes' CPU in it. */
  wallMs: number;
  clientCpuMs: number;
  /** How the kernel's listen-queue counters moved meanwhile. */
  overflows: number;
  cookies: number;
}

async function flood(url: string, tls: Tls, body: string, total: number): Promise<FloodResult> {
  const kids = Array.from({ length: CLIENTS }, () =>
    fork(SELF, ['--flood-client'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const per = Math.ceil(total / CLIENTS);
  await Promise.all(
    kids.map((k, i) => {
      const ready = new Promise((r) => k.once('message', r));
      k.send({
        url,
        n: Math.min(per, total - i * per),
        body,
        caPem: tls.caPem,
        certPem: tls.clientCertPem,
        keyPem: tls.clientKeyPem,
      });
      return ready;
    }),
  );
  const results = kids.map(
    (k) => new Promise<{ latencies: number[]; errors: string[]; cpuMs: number }>((r) => k.once('message', r as never)),
  );
  const before = listenCounters();
  const t0 = performance.now();
  for (const k of kids) k.send('go');
  const all = await Promise.all(results);
  const wallMs = performance.now() - t0;
  const after = listenCounters();
  const lat = all.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const errors = all.flatMap((r) => r.errors);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return {
    p50: q(0.5),
    p99: q(0.99),
    max: lat[lat.length - 1] ?? NaN,
    errors,
    ok: lat.length,
    inTime: lat.filter((ms) => ms < TIMEOUT_SECONDS * 1000).length,
    wallMs,
    clientCpuMs: all.reduce((a, r) => a + r.cpuMs, 0),
    overflows: after.ListenOverflows - before.ListenOverflows,
    cookies: after.TCPReqQFullDoCookies - before.TCPReqQFullDoCookies,
  };
}

function tlsSocket(url: string, tls: Tls): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tlsConnect(
      { host: u.hostname, port: Number(u.port), ca: tls.caPem, cert: tls.clientCertPem, key: tls.clientKeyPem },
      () => resolve(s),
    );
    s.once('error', reject);
  });
}

/** Sends a request slowly; resolves with how long until the server closed the connection. */
async function slowRequest(url: string, tls: Tls, kind: 'headers' | 'body'): Promise<number> {
  const s = await tlsSocket(url, tls);
  const t = performance.now();
  s.on('error', () => undefined);
  s.on('data', () => undefined);
  const closed = new Promise<number>((r) => s.once('close', () => r(performance.now() - t)));
  s.write(
    kind === 'headers'
      ? 'POST /validate HTTP/1.1\r\nHost: x\r\n'
      : 'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"apiVersion":',
  );
  const drip = setInterval(() => s.writable && s.write(kind === 'headers' ? 'X-Drip: 1\r\n' : ' '), 400);
  const ms = await Promise.race([closed, sleep(60_000).then(() => Infinity)]);
  clearInterval(drip);
  s.destroy();
  return ms;
}

// ---------------------------------------------------------------------------------------------

export async function benchWebhookAttack(): Promise<BenchResult[]> {
  const { genServingCert, genClientCert, review } = await webhookHelpersFixture();
  const { issuedCertificate } = await webhookObjectsFixture();
  const { attackShapes } = await attackShapesFixture();
  const { deploymentEnv } = await webhookProcessFixture();
  const { MAX_REPLY_BYTES } = await import('../webhook/src/admission/limits.js');
  const backlog = (await import('../webhook/src/server.js')).DEFAULT_LIMITS.listenBacklog;

  const serving = genServingCert();
  const client = genClientCert(undefined, true);
  const tls: Tls = {
    caPem: serving.caPem,
    certFile: serving.certFile,
    keyFile: serving.keyFile,
    clientCaFile: client.caFile,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
  };
  const env = deploymentEnv();
  // a real apiserver for the informers (CertificateRotation cache, expiry exporter), as in a pod
  let kube: { kubeconfigPath: string; stop(): Promise<void> } | undefined;
  try {
    const { findBinaries, startKube } = await kubeFixture();
    findBinaries();
    kube = await startKube({ clusters: ['mgmt'], waitForControllers: false, timeoutMs: 120_000 });
  } catch (err) {
    log(
      `no kube-apiserver (${(err as Error).message.split('\n')[0]}): measuring without the CertificateRotation informer`,
    );
  }
  const informer = kube ? ', CertificateRotation informer running' : ', no informer';
  log(`webhook with NODE_OPTIONS="${env.NODE_OPTIONS ?? ''}" (manifests/webhook/deployment.yaml)${informer}`);
  const webhook = await startServer('webhook', tls, env, kube?.kubeconfigPath, backlog);
  const pid = webhook.child.pid!;
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 8,
    ca: tls.caPem,
    cert: tls.clientCertPem,
    key: tls.clientKeyPem,
  });
  const small = JSON.stringify(review('IssuedCertificate', 'CREATE', issuedCertificate()));
  const results: BenchResult[] = [];
  const problems: string[] = [];
  let largestReply = 0;
  const check = (what: string, r: { status: number; text: string }): void => {
    largestReply = Math.max(largestReply, Buffer.byteLength(r.text));
    if (r.status >= 500) problems.push(`${what}: HTTP ${r.status}`);
  };
  try {
    for (let i = 0; i < 20; i++)
      for (const p of ['/validate', '/mutate']) check('warm-up', await postOnce(webhook.url, p, small, agent));
    await sleep(2000);
    const idle = status(pid, 'VmRSS');
    log(`at rest: ${idle.toFixed(1)} MiB`);

    // 1. every hostile shape on both endpoints
    const shapes = attackShapes('bench');
    let largestBody = 0;
    for (const s of shapes) {
      largestBody = Math.max(largestBody, s.body.length);
      for (const p of ['/validate', '/mutate']) check(s.name, await postOnce(webhook.url, p, s.body, agent));
    }
    const amp = shapes.find((s) => s.name === 'unknown-fields')!;
    const times: number[] = [];
    const parses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      check('unknown-fields', await postOnce(webhook.url, '/validate', amp.body, agent));
      times.push(performance.now() - t);
      const p = performance.now();
      JSON.parse(amp.body);
      parses.push(performance.now() - p);
    }
    log(`shapes done: ${status(pid, 'VmHWM').toFixed(1)} MiB peak`);

    // 2. six 2.8 MB reviews at once, then 40 large bodies at once (past the 16 MiB in-flight budget)
    const six = new Agent({
      keepAlive: true,
      maxSockets: 40,
      ca: tls.caPem,
      cert: tls.clientCertPem,
      key: tls.clientKeyPem,
    });
    (await Promise.all(Array.from({ length: 6 }, () => postOnce(webhook.url, '/validate', amp.body, six)))).forEach(
      (r) => check('six at once', r),
    );
    const large = shapes.find((s) => s.name === 'large-valid')!;
    let overloaded = 0;
    (await Promise.all(Array.from({ length: 40 }, () => postOnce(webhook.url, '/validate', large.body, six)))).forEach(
      (r) => {
        check('forty at once', r);
        if (r.text.includes('"code":429')) overloaded++;
      },
    );
    six.destroy();
    log(
      `forty large bodies at once: ${overloaded} answered 429 (in-flight budget); ${status(pid, 'VmHWM').toFixed(1)} MiB peak`,
    );

    // 3. slow headers and bodies (four of each), while reviews go on
    const slow = Promise.all([
      ...Array.from({ length: 4 }, () => slowRequest(webhook.url, tls, 'headers')),
      ...Array.from({ length: 4 }, () => slowRequest(webhook.url, tls, 'body')),
    ]);
    for (let i = 0; i < 20; i++) {
      check('during slow clients', await postOnce(webhook.url, '/validate', small, agent));
      await sleep(200);
    }
    const cuts = await slow;
    const headerCut = Math.max(...cuts.slice(0, 4));
    const bodyCut = Math.max(...cuts.slice(4));
    log(
      `slow headers cut after ${(headerCut / 1000).toFixed(1)} s, slow bodies after ${(bodyCut / 1000).toFixed(1)} s`,
    );

    // 4. 3,000 bare TCP connections that never speak
    const u = new URL(webhook.url);
    const silent = await Promise.all(
      Array.from(
        { length: 3000 },
        () =>
          new Promise<Socket>((resolve) => {
            const s = netConnect(Number(u.port), u.hostname, () => resolve(s));
            s.on('error', () => resolve(s));
          }),
      ),
    );
    const fresh = new Agent({ keepAlive: false, ca: tls.caPem, cert: tls.clientCertPem, key: tls.clientKeyPem });
    const during = performance.now();
    check('during a silent flood', await postOnce(webhook.url, '/validate', small, fresh));
    const duringMs = performance.now() - during;
    fresh.destroy();
    await Promise.all(silent.map((s) => (s.destroyed ? undefined : new Promise((r) => s.once('close', r)))));
    await sleep(1000);
    const suitePeak = status(pid, 'VmHWM');
    log(
      `silent flood: a new connection's review took ${duringMs.toFixed(0)} ms; suite peak ${suitePeak.toFixed(1)} MiB`,
    );

    // 5. 5,000 new connections at once: the webhook, the empty server, the webhook with Node's default backlog
    log(
      `${CONNECTIONS} new connections at once from ${CLIENTS} client processes; net.core.somaxconn ${sysctl('net.core.somaxconn')}, net.ipv4.tcp_max_syn_backlog ${sysctl('net.ipv4.tcp_max_syn_backlog')}, net.ipv4.tcp_syncookies ${sysctl('net.ipv4.tcp_syncookies')}, ${cpus().length} cores`,
    );
    const measure = async (
      who: string,
      url: string,
      serverPid: number,
    ): Promise<FloodResult & { serverCpu: number }> => {
      const c0 = cpuMs(serverPid);
      const r = { ...(await flood(url, tls, small, CONNECTIONS)), serverCpu: 0 };
      r.serverCpu = (cpuMs(serverPid) - c0) / CONNECTIONS;
      const share = (100 * r.clientCpuMs) / (r.wallMs * cpus().length);
      log(
        `${who}: ${r.ok} answered (${r.inTime} within ${TIMEOUT_SECONDS} s), ${r.errors.length} errors (${[...new Set(r.errors)].slice(0, 3).join('; ')}), p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, ` +
          `server ${r.serverCpu.toFixed(2)} ms CPU a connection; clients ${(r.clientCpuMs / CONNECTIONS).toFixed(2)} ms CPU a connection (${share.toFixed(0)}% of all cores over ${(r.wallMs / 1000).toFixed(1)} s); ` +
          `listen queue overflows ${r.overflows}, SYN cookies ${r.cookies}`,
      );
      return r;
    };
    const ours = await measure('webhook', webhook.url, pid);
    const floodPeak = status(pid, 'VmHWM');
    log(`webhook peak ${floodPeak.toFixed(1)} MiB`);
    if (webhook.child.exitCode !== null) problems.push(`the webhook exited (${webhook.child.exitCode})`);
    const health = await fetch(`${webhook.healthUrl}/metrics`).then((r) => r.text());
    log(
      health
        .split('\n')
        .filter((l) => /^mesh_cert_webhook_(connections_dropped_total|tls_client_errors_total)/.test(l))
        .join(', '),
    );
    const errorsMetric = health.split('\n').filter((l) => l.includes('result="error"'));
    if (errorsMetric.length) problems.push(`fallbacks: ${errorsMetric.join(', ')}`);
    agent.destroy();
    webhook.child.kill('SIGTERM');

    const empty = await startServer('empty', tls, {}, undefined, backlog);
    const theirs = await measure('empty server', empty.url, empty.child.pid!);
    empty.child.kill('SIGTERM');

    const nodeBacklog = await startServer('webhook', tls, env, kube?.kubeconfigPath, NODE_DEFAULT_BACKLOG);
    const ours511 = await measure(
      `webhook, --listen-backlog ${NODE_DEFAULT_BACKLOG}`,
      nodeBacklog.url,
      nodeBacklog.child.pid!,
    );
    nodeBacklog.child.kill('SIGTERM');

    // 6. at rest without a cluster: what the informer costs
    const bare = await startServer('webhook', tls, env, undefined, backlog);
    const bareAgent = new Agent({
      keepAlive: true,
      maxSockets: 8,
      ca: tls.caPem,
      cert: tls.clientCertPem,
      key: tls.clientKeyPem,
    });
    for (let i = 0; i < 20; i++)
      for (const p of ['/validate', '/mutate']) await postOnce(bare.url, p, small, bareAgent);
    bareAgent.destroy();
    await sleep(2000);
    const bareIdle = status(bare.child.pid!, 'VmRSS');
    bare.child.kill('SIGTERM');
    log(`at rest without a cluster configured: ${bareIdle.toFixed(1)} MiB`);

    if (problems.length) throw new Error(problems.join('; '));
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const EMPTY = 'empty Node HTTPS server, same TLS';
    const N = `${CONNECTIONS} new connections at once`;
    results.push(
      {
        name: `resident memory at rest (after warm-up${informer})`,
        value: idle,
        unit: 'MiB',
        baseline: bareIdle,
        baselineName: 'the same, no cluster configured',
        ratio: idle / bareIdle,
        target: 'report only',
      },
      {
        name: 'resident memory peak through the attack suite (VmHWM)',
        value: suitePeak,
        unit: 'MiB',
        baseline: idle,
        baselineName: 'at rest',
        ratio: suitePeak / idle,
        target: '<= 2',
      },
      {
        name: `resident memory peak after ${N} too`,
        value: floodPeak,
        unit: 'MiB',
        baseline: idle,
        baselineName: 'at rest',
        ratio: floodPeak / idle,
        target: 'report only',
      },
      {
        name: 'largest reply to any attack shape',
        value: largestReply,
        unit: 'bytes',
        baseline: largestBody,
        baselineName: 'largest request body',
        ratio: largestReply / largestBody,
        target: `<= ${MAX_REPLY_BYTES} bytes`,
      },
      {
        name: `2.8 MB review of 240,000 unknown fields: answered in (median of 5)`,
        value: median(times),
        unit: 'ms',
        baseline: median(parses),
        baselineName: 'JSON.parse of that body in the client',
        ratio: median(times) / median(parses),
      },
      {
        name: 'slow headers cut after',
        value: headerCut / 1000,
        unit: 's',
        baseline: 5,
        baselineName: 'headers timeout',
        ratio: headerCut / 5000,
        target: '<= 1.3',
      },
      {
        name: 'slow body cut after',
        value: bodyCut / 1000,
        unit: 's',
        baseline: 10,
        baselineName: 'request timeout',
        ratio: bodyCut / 10_000,
        target: '<= 1.3',
      },
      {
        name: `${N} (TLS with client certificate, one review each): errors`,
        value: ours.errors.length,
        unit: 'errors',
        baseline: theirs.errors.length,
        baselineName: EMPTY,
        ratio: ours.errors.length === 0 ? 0 : ours.errors.length / Math.max(1, theirs.errors.length),
        target: '0',
      },
      {
        name: `${N}: answered within timeoutSeconds (${TIMEOUT_SECONDS} s)`,
        value: ours.inTime,
        unit: 'connections',
        baseline: theirs.inTime,
        baselineName: EMPTY,
        ratio: ours.inTime / Math.max(1, theirs.inTime),
        target: `${CONNECTIONS}`,
      },
      {
        name: `${N}: p50`,
        value: ours.p50,
        unit: 'ms',
        baseline: theirs.p50,
        baselineName: EMPTY,
        ratio: ours.p50 / theirs.p50,
      },
      {
        name: `${N}: p99`,
        value: ours.p99,
        unit: 'ms',
        baseline: theirs.p99,
        baselineName: EMPTY,
        ratio: ours.p99 / theirs.p99,
        target: `< ${TIMEOUT_SECONDS * 1000} ms`,
      },
      {
        name: `${N}: server CPU a connection`,
        value: ours.serverCpu,
        unit: 'ms',
        baseline: theirs.serverCpu,
        baselineName: EMPTY,
        ratio: ours.serverCpu / theirs.serverCpu,
      },
      {
        name: `${N}: listen queue overflows (kernel ListenOverflows)`,
        value: ours.overflows,
        unit: 'overflows',
        baseline: theirs.overflows,
        baselineName: EMPTY,
        ratio: ours.overflows / Math.max(1, theirs.overflows),
        target: 'report only',
      },
      {
        name: `${N}, --listen-backlog ${NODE_DEFAULT_BACKLOG} (Node's default): p99`,
        value: ours511.p99,
        unit: 'ms',
        baseline: ours.p99,
        baselineName: `--listen-backlog ${backlog}`,
        ratio: ours511.p99 / ours.p99,
        target: 'report only',
      },
      {
        name: `${N}, --listen-backlog ${NODE_DEFAULT_BACKLOG}: errors / listen queue overflows`,
        value: ours511.errors.length,
        unit: `errors / ${ours511.overflows} overflows`,
        baseline: ours.errors.length,
        baselineName: `--listen-backlog ${backlog} (${ours.overflows} overflows)`,
        ratio: ours511.errors.length / Math.max(1, ours.errors.length),
        target: 'report only',
      },
      {
        name: `${N}: the load generator's own CPU a connection (${CLIENTS} client processes on the same cores)`,
        value: ours.clientCpuMs / CONNECTIONS,
        unit: 'ms',
        baseline: ours.serverCpu,
        baselineName: "the webhook's CPU a connection",
        ratio: ours.clientCpuMs / CONNECTIONS / ours.serverCpu,
        target: 'report only',
      },
    );
  } finally {
    agent.destroy();
    webhook.child.kill('SIGTERM');
    await kube?.stop();
  }
  return results;
}

const argv = process.argv.slice(2);
if (argv[0] === '--serve-empty') {
  await serveEmpty(argv[1]!, argv[2]!, argv[3]!, Number(argv[4]));
} else if (argv[0] === '--flood-client') {
  await floodClient();
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchWebhookAttack()) {
    console.log(
      `${r.name}: ${r.value.toFixed(2)} ${r.unit} (baseline ${r.baselineName}: ${r.baseline.toFixed(2)}; ratio ${r.ratio.toFixed(2)}${r.target ? `; target ${r.target}` : ''})`,
    );
  }
}
