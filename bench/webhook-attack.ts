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
//   3. resident memory at rest without a cluster configured, the baseline of the informers' cost.
// Every loop is bounded and ends by itself. New connections by the thousand: bench/webhook-flood.ts.
//   npx tsx bench/webhook-attack.ts     run it alone (needs `node webhook/build.mjs`)
import { Agent } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './result.js';
import {
  attackShapesFixture,
  webhookHelpersFixture,
  webhookObjectsFixture,
  webhookProcessFixture,
} from './fixtures.js';
import { benchTls, informerCluster, postOnce, startServer, status, type Tls } from './webhook-servers.js';

const log = (s: string): void => void process.stderr.write(`[webhook-attack] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Clients

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
  const { review } = await webhookHelpersFixture();
  const { issuedCertificate } = await webhookObjectsFixture();
  const { attackShapes, silentConnections } = await attackShapesFixture();
  const { deploymentEnv } = await webhookProcessFixture();
  const { MAX_REPLY_BYTES } = await import('../webhook/src/admission/limits.js');
  const backlog = (await import('../webhook/src/server.js')).DEFAULT_LIMITS.listenBacklog;

  const tls = await benchTls();
  const env = deploymentEnv();
  const kube = await informerCluster(log);
  const informer = kube ? ', CertificateRotation informer running' : ', no informer';
  log(`webhook with NODE_OPTIONS="${env.NODE_OPTIONS ?? ''}" (manifests/webhook/deployment.yaml)${informer}`);
  const webhook = await startServer('webhook', tls, {
    env,
    kubeconfig: kube?.kubeconfigPath,
    backlog,
    clientAuth: true,
  });
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

    // 2. six 2.8 MB reviews at once, then 40 large bodies at once (past the 8 MiB in-flight budget)
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
    const silent = await silentConnections(webhook.url, 3000);
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

    // 6. at rest without a cluster: what the informer costs
    const bare = await startServer('webhook', tls, { env, backlog, clientAuth: true });
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
    );
  } finally {
    agent.destroy();
    webhook.child.kill('SIGTERM');
    await kube?.stop();
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchWebhookAttack()) {
    console.log(
      `${r.name}: ${r.value.toFixed(2)} ${r.unit} (baseline ${r.baselineName}: ${r.baseline.toFixed(2)}; ratio ${r.ratio.toFixed(2)}${r.target ? `; target ${r.target}` : ''})`,
    );
  }
}
