// The webhook's resident memory at rest with a cluster configured, beside the same bundle with
// none: what its cluster access costs. With a cluster the webhook runs the CertificateRotation
// cache and the CertificateRequest expiry exporter (two list+watch loops) and, with
// --tls-mode self, the certificate controller (a Secret, the webhook configurations, a Lease).
// All three reach the API server through webhook/src/kube-api.ts; this figure is what keeps a
// heavy client library from coming back.
//
// Needs the kube-apiserver binaries of test/kube (~/.cache/mesh-cert); the webhook runs as its
// pod does (the esbuild bundle, the Deployment's NODE_OPTIONS), as cluster admin here: RBAC is
// not what is measured. Each figure is the median of a few samples after a warm-up of reviews.
//
// BENCH_WEBHOOK_COMPARE=<another build's main.js> (webhook/build.mjs --outdir of an older tree)
// measures that bundle too, in the same run, with the same cluster, and reports this one's figures
// as a ratio to it: how a change to the webhook moved its memory.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { BenchResult } from './result.js';
import {
  kubeFixture,
  realClusterFixture,
  webhookHelpersFixture,
  webhookObjectsFixture,
  webhookProcessFixture,
} from './fixtures.js';

const log = (s: string): void => void process.stderr.write(`[webhook-memory] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const NS = 'mesh-cert-system';

/** Resident memory of a process now, in MiB. */
const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

interface Started {
  url: string;
  healthUrl: string;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** A bundle's main.js started as the pod runs it (the Deployment's env), once it serves. */
function startBundle(bundle: string, args: string[], env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [bundle, '--port', '0', '--health-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '', ...env },
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving admission on (https:\/\/\S+) .*health and metrics on (http:\/\/\S+)/.exec(out);
      if (m)
        resolve({
          url: m[1]!,
          healthUrl: m[2]!,
          pid: child.pid!,
          output: () => out,
          stop: () => (child.kill('SIGTERM'), exited),
        });
    });
    child.once('exit', (code) => reject(new Error(`${bundle} exited ${code} before serving: ${out.slice(-1000)}`)));
  });
}

function post(url: string, path: string, body: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function benchWebhookMemory(): Promise<BenchResult[]> {
  const { genServingCert, review } = await webhookHelpersFixture();
  const { issuedCertificate } = await webhookObjectsFixture();
  const { deploymentEnv, webhookBundle } = await webhookProcessFixture();
  const { findBinaries, startKube } = await kubeFixture();
  const { applyObjects, freePort, kubectlOk, readManifest, REPO } = await realClusterFixture();

  findBinaries();
  const kube = await startKube({ clusters: ['mgmt'], waitForControllers: false, timeoutMs: 120_000 });
  const kc = kube.kubeconfigPath;
  const serving = genServingCert();
  const small = JSON.stringify(review('IssuedCertificate', 'CREATE', issuedCertificate()));
  const port = await freePort();
  const files = ['--tls-cert-file', serving.certFile, '--tls-private-key-file', serving.keyFile];
  const self = [
    '--tls-mode',
    'self',
    '--kubeconfig',
    kc,
    '--namespace',
    NS,
    '--tls-secret',
    'mesh-cert-webhook-certs',
    '--service',
    'mesh-cert-webhook',
    '--tls-san',
    '127.0.0.1',
    '--validating-webhook-configuration',
    'mesh-cert-webhook',
    '--mutating-webhook-configuration',
    'mesh-cert-webhook',
    '--leader-election-lease',
    'mesh-cert-webhook-leader',
    '--port',
    String(port),
  ];

  const env = deploymentEnv();
  const compare = process.env.BENCH_WEBHOOK_COMPARE;

  /** Resident memory (MiB) of `bundle` started with `args`, at rest after a warm-up. */
  const atRest = async (what: string, args: string[], bundle = webhookBundle()): Promise<number> => {
    const w = await startBundle(bundle, [...args, '--log-level', 'error'], env);
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      ca: serving.caPem,
      rejectUnauthorized: !args.includes('self'),
    });
    try {
      for (let i = 0; i < 20; i++) for (const p of ['/validate', '/mutate']) await post(w.url, p, small, agent);
      await sleep(3000);
      const samples: number[] = [];
      for (let i = 0; i < 5; i++, await sleep(500)) samples.push(rssMiB(w.pid));
      const rss = [...samples].sort((a, b) => a - b)[2]!;
      if ((await fetch(`${w.healthUrl}/readyz`)).status !== 200)
        throw new Error(`${what}: not ready at rest: ${w.output().slice(-1000)}`);
      log(`${bundle === webhookBundle() ? '' : `${bundle}: `}${what}: ${rss.toFixed(1)} MiB at rest`);
      return rss;
    } finally {
      agent.destroy();
      await w.stop();
    }
  };

  try {
    // as shipped: the namespace and the empty certificate Secret; both configurations by URL
    await kubectlOk(kc, [
      'apply',
      '-f',
      `${REPO}manifests/webhook/namespace.yaml`,
      '-f',
      `${REPO}manifests/webhook/certificate-secret.yaml`,
    ]);
    const configs = [
      ...(await readManifest('manifests/webhook/validatingwebhookconfiguration.yaml')),
      ...(await readManifest('manifests/webhook/mutatingwebhookconfiguration.yaml')),
    ];
    for (const c of configs)
      for (const w of c.webhooks) w.clientConfig = { url: `https://127.0.0.1:${port}${w.clientConfig.service.path}` };
    await applyObjects(kc, 'mgmt', configs);

    const bare = await atRest('no cluster configured', files);
    const watching = await atRest('--kubeconfig (CertificateRotation cache, expiry exporter)', [
      ...files,
      '--kubeconfig',
      kc,
    ]);
    const selfTls = await atRest('--kubeconfig --tls-mode self (and the certificate controller)', self);
    // the certificate controller did its work (it is what the third figure includes)
    const secret = JSON.parse(
      await kubectlOk(kc, ['get', 'secret', 'mesh-cert-webhook-certs', '-n', NS, '-o', 'json']),
    ) as { data?: Record<string, string> };
    if (!Object.keys(secret.data ?? {}).length) throw new Error('--tls-mode self wrote nothing into its Secret');
    const base = 'the same bundle, no cluster configured';
    const results: BenchResult[] = [
      {
        name: 'resident memory at rest, --kubeconfig: CertificateRotation cache + expiry exporter',
        value: watching,
        unit: 'MiB',
        baseline: bare,
        baselineName: base,
        ratio: watching / bare,
        target: 'report only',
      },
      {
        name: 'resident memory at rest, --kubeconfig --tls-mode self: the above + certificate controller',
        value: selfTls,
        unit: 'MiB',
        baseline: bare,
        baselineName: base,
        ratio: selfTls / bare,
        target: 'report only',
      },
    ];
    if (compare) {
      const other = `${compare} (BENCH_WEBHOOK_COMPARE)`;
      const theirBare = await atRest('no cluster configured', files, compare);
      const theirWatching = await atRest('--kubeconfig', [...files, '--kubeconfig', kc], compare);
      const theirSelf = await atRest('--kubeconfig --tls-mode self', self, compare);
      results.push(
        {
          name: 'resident memory at rest, no cluster configured',
          value: bare,
          unit: 'MiB',
          baseline: theirBare,
          baselineName: other,
          ratio: bare / theirBare,
          target: 'report only',
        },
        {
          name: 'resident memory at rest, --kubeconfig',
          value: watching,
          unit: 'MiB',
          baseline: theirWatching,
          baselineName: other,
          ratio: watching / theirWatching,
          target: 'report only',
        },
        {
          name: 'resident memory at rest, --kubeconfig --tls-mode self',
          value: selfTls,
          unit: 'MiB',
          baseline: theirSelf,
          baselineName: other,
          ratio: selfTls / theirSelf,
          target: 'report only',
        },
      );
    }
    return results;
  } finally {
    await kube.stop();
  }
}
