// Admission cost as kube-apiserver itself measures it. One real cluster (test/kube), our webhook
// (the built bin, webhook/bin/mesh-cert-webhook with its bundle copied aside first, since other
// work may rebuild webhook/dist meanwhile; watching the cluster for CertificateRotations as in a
// deployment) and a no-op webhook (this file with --serve-noop: Fastify over the same TLS
// options and body limit, parsing the review and answering allowed=true with its uid), each in a
// process of its own. Both are registered as manifests/webhook/*.yaml registers ours (same rules,
// namespaceSelector, matchPolicy, timeoutSeconds, failurePolicy), by clientConfig.url
// https://127.0.0.1:PORT and caBundle, one pair at a time, never both.
//
// Each round writes the same stream of our kinds through the API (raw HTTPS, the admin client
// certificate, keep-alive), a Gloo Mesh issuance per cluster name: IssuedCertificate create, its
// status PENDING -> REQUESTED, CertificateRequest create, its status FINISHED with a certificate
// signed for it (schemas/x509, a fresh one per pair of rounds), IssuedCertificate ISSUED,
// PodBounceDirective create and status, IssuedCertificate FINISHED, an annotation update. Rounds
// alternate ours / no-op (the order flips every pair) to cancel drift. Before and after each round
// the apiserver's /metrics is scraped: the difference of
// apiserver_admission_webhook_admission_duration_seconds is that round's histogram per webhook
// and type (validating, admit). p99 is Prometheus's histogram_quantile (linear interpolation in
// the bucket). The histogram's buckets are kube-apiserver's (0.005, 0.025, 0.1, 0.5, 1, 2.5, 10,
// 25 s): when fewer than 1% of calls take over 5 ms the interpolated p99 is 4.95 ms whatever the
// latencies are, and when more do, it is 5-25 ms by how many exceed 5 ms, or 25-100 ms by how many
// exceed 25 ms. So the mean (sum / count, exact), the share of calls above 5 ms, the client's
// own wall time per write and the webhook processes' CPU per call are reported beside it. There
// can be more calls than writes: a PATCH that meets a stale cached object conflicts in storage and
// is retried by the apiserver, admission included.
//
// Then `kubectl apply -f` (the machine's kubectl) of a file of N objects of our kinds into a new
// namespace, wall time, with our webhooks registered against none, alternated.
//   npx tsx bench/apiserver-admission.ts    run it alone (needs `npx tsx test/kube/ensure.ts` once
//   and a built webhook: node webhook/build.mjs). BENCH_ADMISSION_PAIRS (rounds per side, default
//   5), BENCH_ADMISSION_CLUSTERS (issuances per round, 10 writes each, default 50),
//   BENCH_ADMISSION_LANES (issuances written at once, default 4), BENCH_ADMISSION_APPLY_OBJECTS
//   (default 60), BENCH_ADMISSION_APPLY_PAIRS (default 5).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { Agent, request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as yamlStringify } from 'yaml';
import type { BenchResult } from './result.js';
import { median } from './stats.js';
import { cpuMs } from './webhook-servers.js';
import { kubeFixture, webhookHelpersFixture } from './fixtures.js';
import { textBase64 as b64 } from '#schemas/x509/pem.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const WEBHOOK_BIN = join(REPO, 'webhook/bin/mesh-cert-webhook');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

const PAIRS = Number(process.env.BENCH_ADMISSION_PAIRS ?? 5);
const CLUSTERS = Number(process.env.BENCH_ADMISSION_CLUSTERS ?? 50);
const LANES = Number(process.env.BENCH_ADMISSION_LANES ?? 4);
const APPLY_OBJECTS = Number(process.env.BENCH_ADMISSION_APPLY_OBJECTS ?? 60);
const APPLY_PAIRS = Number(process.env.BENCH_ADMISSION_APPLY_PAIRS ?? 5);
const WRITES_PER_CLUSTER = 10;
const METRIC = 'apiserver_admission_webhook_admission_duration_seconds';
const GROUP = 'certificates.mesh.gloo.solo.io';
const API = `/apis/${GROUP}/v1`;

const log = (s: string): void => void process.stderr.write(`[apiserver-admission] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The no-op webhook (child mode)

async function serveNoop(cert: string, key: string): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({
    https: { cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' },
    bodyLimit: 3 * 1024 * 1024,
    logger: false,
  });
  const allow = async (req: { body: unknown }): Promise<unknown> => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: (req.body as { request?: { uid?: string } } | null)?.request?.uid ?? '', allowed: true },
  });
  app.post('/validate', allow);
  app.post('/mutate', allow);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`READY ${url}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/**
 * A copy of the built bin and its bundle (webhook/bin, webhook/dist) in `dir`: other work on the
 * machine may rebuild webhook/dist (build.mjs empties it first) while this suite runs.
 */
async function snapshotWebhook(dir: string): Promise<string> {
  const dist = join(REPO, 'webhook/dist');
  for (let i = 0; ; i++) {
    // a build in progress: dist empty or written less than 2 s ago
    const ready = existsSync(join(dist, 'main.js')) && Date.now() - statSync(join(dist, 'main.js')).mtimeMs > 2000;
    if (ready) break;
    if (i > 120)
      throw new Error(
        'webhook/dist/main.js is missing: build the webhook first (npm run build, or node webhook/build.mjs)',
      );
    await sleep(500);
  }
  mkdirSync(join(dir, 'bin'), { recursive: true });
  cpSync(dist, join(dir, 'dist'), { recursive: true });
  copyFileSync(WEBHOOK_BIN, join(dir, 'bin/mesh-cert-webhook'));
  return join(dir, 'bin/mesh-cert-webhook');
}

function startServer(
  mode: 'ours' | 'noop',
  bin: string,
  cert: string,
  key: string,
  kubeconfig: string,
  started: ChildProcess[],
  deathTied: (bin: string, args: string[]) => [string, string[]],
): Promise<{ url: string; healthUrl?: string; child: ChildProcess }> {
  const args =
    mode === 'ours'
      ? [
          bin,
          '--port',
          '0',
          '--health-port',
          '0',
          '--tls-cert-file',
          cert,
          '--tls-private-key-file',
          key,
          '--kubeconfig',
          kubeconfig,
        ]
      : ['--import', 'tsx', SELF, '--serve-noop', cert, key];
  const env = { ...process.env };
  delete env.KUBECONFIG;
  // as test/kube starts its processes: a server dies with this process even when it is SIGKILLed
  const [cmd, argv] = deathTied(process.execPath, args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /(?:READY|serving admission on) (https:\/\/[^\s]+)/.exec(out);
      if (!m) return;
      const health = /health and metrics on (http:\/\/\S+)/.exec(out);
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({ url: m[1]!, healthUrl: health?.[1], child });
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) =>
      reject(new Error(`${mode} webhook exited ${code} before serving: ${out.slice(0, 300)}`)),
    );
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    httpRequest(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', () => resolve(0))
      .end();
  });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    })
      .on('error', reject)
      .end();
  });
}

// ---------------------------------------------------------------------------------------------
// The apiserver client: admin client certificate, keep-alive

interface Creds {
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}
interface Reply {
  status: number;
  text: string;
  warnings: string[];
}

class Api {
  readonly agent: Agent;
  /** Warning headers seen on writes, with how often (an admission warning costs the apiserver and the client). */
  readonly warnings = new Map<string, number>();
  constructor(
    readonly c: Creds,
    sockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: c.caPem, cert: c.certPem, key: c.keyPem });
  }

  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.c.url),
        {
          method,
          agent: this.agent,
          timeout: 60_000,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          const w = res.headers.warning;
          const warnings = w === undefined ? [] : Array.isArray(w) ? w : [w];
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), warnings }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A write that must succeed; returns its wall time in ms. */
  async write(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<number> {
    const t = performance.now();
    const r = await this.call(
      method,
      path,
      body,
      method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
    );
    const ms = performance.now() - t;
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    for (const w of r.warnings) this.warnings.set(w, (this.warnings.get(w) ?? 0) + 1);
    return ms;
  }

  async metrics(): Promise<string> {
    const r = await this.call('GET', '/metrics');
    if (r.status !== 200) throw new Error(`GET /metrics: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    return r.text;
  }
}

// ---------------------------------------------------------------------------------------------
// Histograms from the Prometheus text format

/** Cumulative counts per upper bound (ascending, +Inf last), as the exposition gives them. */
interface Histogram {
  les: number[];
  cum: number[];
  sum: number;
  count: number;
}
type Histograms = Map<string, Histogram>; // key: `${name}|${type}`

function labelsOf(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Every series of METRIC, summed over operation and rejected, per webhook name and type. */
export function parseWebhookHistograms(text: string): Histograms {
  return parseHistograms(text, METRIC, ['name', 'type']);
}

/** Every series of a histogram, summed over the labels not in `by`, keyed by the `by` labels' values joined with |. */
export function parseHistograms(text: string, metric: string, by: string[]): Histograms {
  const acc = new Map<string, { buckets: Map<number, number>; sum: number; count: number }>();
  const re = new RegExp(`^${metric}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = re.exec(line);
    if (!m) continue;
    const l = labelsOf(m[2]!);
    const key = by.map((k) => l[k]).join('|');
    let h = acc.get(key);
    if (!h) acc.set(key, (h = { buckets: new Map(), sum: 0, count: 0 }));
    const v = Number(m[3]);
    if (m[1] === 'bucket') {
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      h.buckets.set(le, (h.buckets.get(le) ?? 0) + v);
    } else if (m[1] === 'sum') h.sum += v;
    else h.count += v;
  }
  const out: Histograms = new Map();
  for (const [k, h] of acc) {
    const les = [...h.buckets.keys()].sort((a, b) => a - b);
    out.set(k, { les, cum: les.map((le) => h.buckets.get(le)!), sum: h.sum, count: h.count });
  }
  return out;
}

function emptyLike(h: Histogram): Histogram {
  return { les: [...h.les], cum: h.les.map(() => 0), sum: 0, count: 0 };
}

function diff(after: Histogram | undefined, before: Histogram | undefined): Histogram | undefined {
  if (!after) return undefined;
  const b = before ?? emptyLike(after);
  if (b.les.join() !== after.les.join()) throw new Error('a histogram changed buckets between scrapes');
  return {
    les: after.les,
    cum: after.cum.map((c, i) => c - b.cum[i]!),
    sum: after.sum - b.sum,
    count: after.count - b.count,
  };
}

function add(a: Histogram | undefined, b: Histogram): Histogram {
  if (!a) return { ...b, les: [...b.les], cum: [...b.cum] };
  return { les: a.les, cum: a.cum.map((c, i) => c + b.cum[i]!), sum: a.sum + b.sum, count: a.count + b.count };
}

/** Prometheus's histogram_quantile (promql bucketQuantile): linear interpolation within the bucket. */
export function histogramQuantile(q: number, h: Histogram): number {
  const total = h.cum[h.cum.length - 1] ?? 0;
  if (total === 0 || h.les[h.les.length - 1] !== Infinity || h.les.length < 2) return NaN;
  let rank = q * total;
  const b = h.cum.findIndex((c) => c >= rank);
  if (b === h.les.length - 1) return h.les[h.les.length - 2]!; // in +Inf: the highest finite bound
  const end = h.les[b]!;
  if (b === 0 && end <= 0) return end;
  let start = 0;
  let count = h.cum[b]!;
  if (b > 0) {
    start = h.les[b - 1]!;
    count -= h.cum[b - 1]!;
    rank -= h.cum[b - 1]!;
  }
  return start + (end - start) * (rank / count);
}

/** Share of observations above the first bucket's bound. */
function aboveFirst(h: Histogram): number {
  return h.count ? 1 - h.cum[0]! / h.count : 0;
}

// ---------------------------------------------------------------------------------------------
// Registration, as manifests/webhook/*.yaml, by URL

type Mode = 'ours' | 'noop' | 'none';
const CONFIG_NAMES = { ours: 'mesh-cert-webhook', noop: 'bench-noop-webhook' } as const;
const HOOK_NAMES = {
  ours: { validating: 'validate.mesh-cert.io', admit: 'mutate.mesh-cert.io' },
  noop: { validating: 'validate.noop.bench.mesh-cert.io', admit: 'mutate.noop.bench.mesh-cert.io' },
} as const;
const KINDS_PATH = '/apis/admissionregistration.k8s.io/v1';

function configurations(
  mode: 'ours' | 'noop',
  url: string,
  caPem: string,
): { path: string; body: Record<string, unknown> }[] {
  return (['validating', 'mutating'] as const).map((which) => {
    const manifest = parseYaml(
      readFileSync(join(REPO, `manifests/webhook/${which}webhookconfiguration.yaml`), 'utf8'),
    ) as {
      kind: string;
      metadata: Record<string, unknown>;
      webhooks: Record<string, unknown>[];
    };
    if (manifest.webhooks.length !== 1)
      throw new Error(`manifests/webhook/${which}webhookconfiguration.yaml: expected one webhook`);
    const hook = manifest.webhooks[0]!;
    const cc = hook.clientConfig as { service: { path: string } };
    const webhooks = [
      {
        ...hook,
        name: HOOK_NAMES[mode][which === 'validating' ? 'validating' : 'admit'],
        clientConfig: { url: `${url}${cc.service.path}`, caBundle: b64(caPem) },
      },
    ];
    return {
      path: `${KINDS_PATH}/${which}webhookconfigurations`,
      body: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: manifest.kind,
        metadata: { name: CONFIG_NAMES[mode] },
        webhooks,
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The stream of writes

interface Material {
  rootPem: string;
  csrPem: string;
  signed: string[];
}

async function makeMaterial(): Promise<{ root: string; rootKey: string; csr: string; hosts: string[] }> {
  const { createCsr, createRootCa, generateRsaKey } = await import('#schemas/x509/index.js');
  const [rootKey, agentKey] = await Promise.all([generateRsaKey(2048), generateRsaKey(2048)]);
  const root = createRootCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { O: 'gloo-mesh', CN: 'relay-root-ca' },
    ttlDays: 365,
  });
  const hosts = ['spiffe://cluster-1/ns/istio-system/sa/istiod-service-account', 'istiod.istio-system.svc'];
  const csr = createCsr({ privateKeyPem: agentKey.privateKeyPem, subject: { O: 'gloo-mesh', OU: 'cluster-1' }, hosts });
  return { root, rootKey: rootKey.privateKeyPem, csr, hosts };
}

/** A certificate of its own for each CertificateRequest: the webhook meets each one cold, as in a mesh. */
async function signFor(m: Awaited<ReturnType<typeof makeMaterial>>, count: number): Promise<Material> {
  const { signIntermediate } = await import('#schemas/x509/index.js');
  const signed = Array.from({ length: count }, () =>
    signIntermediate({ csrPem: m.csr, issuerCertPem: m.root, issuerKeyPem: m.rootKey, hosts: m.hosts, ttlDays: 30 }),
  );
  return { rootPem: m.root, csrPem: m.csr, signed };
}

function issuedCertificate(name: string): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: 'IssuedCertificate',
    metadata: {
      name,
      labels: { 'cluster.multicluster.solo.io': name, 'owner.networking.mesh.gloo.solo.io': 'gloo-mesh' },
      annotations: {
        'parents.networking.mesh.gloo.solo.io':
          '{"networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh":[{"name":"virtual-mesh","namespace":"gloo-mesh"}]}',
      },
    },
    spec: {
      hosts: [
        `spiffe://${name}/ns/istio-system/sa/istiod-service-account`,
        `spiffe://${name}/ns/istio-system/sa/istio-ingressgateway-service-account`,
      ],
      certOptions: { ttlDays: 365, rsaKeySizeBytes: 4096, orgName: 'gloo-mesh', secretRotationGracePeriodRatio: 0.1 },
      glooMeshCa: { signingCertificateSecret: { name: 'relay-root-tls-secret', namespace: 'gloo-mesh' } },
      issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
      podBounceDirective: { name, namespace: 'istio-system' },
    },
  };
}

function certificateRequest(name: string, csrPem: string): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: 'CertificateRequest',
    metadata: {
      name,
      labels: { 'cluster.multicluster.solo.io': name, 'agent.certificates.mesh.gloo.solo.io': 'gloo-mesh' },
    },
    spec: { certificateSigningRequest: b64(csrPem) },
  };
}

function podBounceDirective(name: string): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: 'PodBounceDirective',
    metadata: {
      name,
      labels: { 'cluster.multicluster.solo.io': name, 'owner.networking.mesh.gloo.solo.io': 'gloo-mesh' },
    },
    spec: {
      podsToBounce: [
        {
          namespace: 'istio-system',
          labels: { app: 'istiod' },
          waitForReplicas: 1,
          rootCertSync: {
            secretRef: { name: 'cacerts', namespace: 'istio-system' },
            secretKey: 'root-cert.pem',
            configMapRef: { name: 'istio-ca-root-cert', namespace: 'istio-system' },
            configMapKey: 'root-cert.pem',
          },
        },
        { namespace: 'istio-system', labels: { app: 'istio-ingressgateway' } },
      ],
    },
  };
}

const STEPS = [
  'IssuedCertificate create',
  'IssuedCertificate status PENDING',
  'CertificateRequest create',
  'IssuedCertificate status REQUESTED',
  'CertificateRequest status FINISHED',
  'IssuedCertificate status ISSUED',
  'PodBounceDirective create',
  'PodBounceDirective status',
  'IssuedCertificate status FINISHED',
  'IssuedCertificate annotation',
] as const;

/** One Gloo Mesh issuance: WRITES_PER_CLUSTER writes, in order (STEPS). Returns each write's wall time. */
async function issuance(api: Api, ns: string, name: string, signedPem: string, m: Material): Promise<number[]> {
  const base = `${API}/namespaces/${ns}`;
  const ic = `${base}/issuedcertificates/${name}`;
  const icStatus = (state: string) => api.write('PATCH', `${ic}/status`, { status: { state, observedGeneration: 1 } });
  const t: number[] = [];
  t.push(await api.write('POST', `${base}/issuedcertificates`, issuedCertificate(name)));
  t.push(await icStatus('PENDING'));
  t.push(await api.write('POST', `${base}/certificaterequests`, certificateRequest(name, m.csrPem)));
  t.push(await icStatus('REQUESTED'));
  t.push(
    await api.write('PATCH', `${base}/certificaterequests/${name}/status`, {
      status: {
        state: 'FINISHED',
        observedGeneration: 1,
        signedCertificate: b64(signedPem),
        signingRootCa: b64(m.rootPem),
        certChain: b64(signedPem + m.rootPem),
      },
    }),
  );
  t.push(await icStatus('ISSUED'));
  t.push(await api.write('POST', `${base}/podbouncedirectives`, podBounceDirective(name)));
  t.push(
    await api.write('PATCH', `${base}/podbouncedirectives/${name}/status`, {
      status: { podsBounced: [{ bouncedPods: [`istiod-7d9c-${name}`] }] },
    }),
  );
  t.push(await icStatus('FINISHED'));
  t.push(
    await api.write('PATCH', ic, {
      metadata: { annotations: { 'bench.mesh-cert.io/reconciled': new Date().toISOString() } },
    }),
  );
  return t;
}

/** Every write's wall time in ms, by step (STEPS). */
async function stream(api: Api, ns: string, m: Material): Promise<number[][]> {
  const times: number[][] = STEPS.map(() => []);
  let next = 0;
  await Promise.all(
    Array.from({ length: LANES }, async () => {
      for (let i = next++; i < CLUSTERS; i = next++) {
        const t = await issuance(api, ns, `cluster-${i}`, m.signed[i % m.signed.length]!, m);
        t.forEach((ms, step) => times[step]!.push(ms));
      }
    }),
  );
  return times;
}

async function createNamespace(api: Api, name: string): Promise<void> {
  await api.write('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

// ---------------------------------------------------------------------------------------------

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

const ms = (s: number): number => s * 1000;

export async function benchApiserverAdmission(): Promise<BenchResult[]> {
  const { startKube, deathTied } = await kubeFixture();
  const { genServingCert } = await webhookHelpersFixture();

  const work = mkdtempSync(join(tmpdir(), 'mesh-cert-bench-admission-'));
  const cert = genServingCert(join(work, 'certs'));
  const t0 = performance.now();
  const kube = await startKube({ clusters: ['bench'] });
  log(`cluster ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (kube ${kube.release})`);
  const c = kube.clusters.get('bench')!;
  const api = new Api(c, LANES + 2);
  const servers: ChildProcess[] = [];
  try {
    const bin = await snapshotWebhook(join(work, 'webhook'));
    const [ours, noop] = await Promise.all([
      startServer('ours', bin, cert.certFile, cert.keyFile, kube.kubeconfigPath, servers, deathTied),
      startServer('noop', bin, cert.certFile, cert.keyFile, kube.kubeconfigPath, servers, deathTied),
    ]);
    // ours is ready once its CertificateRotation cache has synced
    for (let i = 0; ours.healthUrl && (await httpStatus(`${ours.healthUrl}/readyz`)) !== 200; i++) {
      if (i > 300) throw new Error('our webhook never became ready');
      await sleep(100);
    }
    log(`webhooks: ours ${ours.url}, no-op ${noop.url}`);
    const configs = {
      ours: configurations('ours', ours.url, cert.caPem),
      noop: configurations('noop', noop.url, cert.caPem),
    };

    await createNamespace(api, 'bench-probe');
    let probes = 0;
    const calls = (hs: Histograms, name: string): number =>
      (hs.get(`${name}|validating`)?.count ?? 0) + (hs.get(`${name}|admit`)?.count ?? 0);
    /** Registers `mode`'s pair only, and waits until writes reach that pair and nothing else. */
    const use = async (mode: Mode): Promise<void> => {
      for (const m of ['ours', 'noop'] as const) {
        for (const which of ['validating', 'mutating']) {
          const r = await api.call('DELETE', `${KINDS_PATH}/${which}webhookconfigurations/${CONFIG_NAMES[m]}`);
          if (r.status !== 200 && r.status !== 404)
            throw new Error(`deleting ${CONFIG_NAMES[m]}: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
        }
      }
      if (mode !== 'none') for (const cfg of configs[mode]) await api.write('POST', cfg.path, cfg.body);
      // The apiserver picks configurations up through an informer: probe until two writes in a row
      // went through exactly the registered pair (both its webhooks, once each; the other pair not).
      let clean = 0;
      for (let i = 0; clean < 2; i++) {
        if (i > 200) throw new Error(`registration of ${mode} never took effect`);
        const before = parseWebhookHistograms(await api.metrics());
        await api.write(
          'POST',
          `${API}/namespaces/bench-probe/issuedcertificates`,
          issuedCertificate(`probe-${probes++}`),
        );
        const after = parseWebhookHistograms(await api.metrics());
        const count = (hs: Histograms, name: string, type: string): number => hs.get(`${name}|${type}`)?.count ?? 0;
        const only = (['ours', 'noop'] as const).every((m) => {
          const want = m === mode ? 1 : 0;
          return (['validating', 'admit'] as const).every(
            (type) => count(after, HOOK_NAMES[m][type], type) - count(before, HOOK_NAMES[m][type], type) === want,
          );
        });
        clean = only ? clean + 1 : 0;
        if (!only) await sleep(100);
      }
    };

    const material = await makeMaterial();
    const pooled: Record<
      'ours' | 'noop',
      { validating?: Histogram; admit?: Histogram; writes: number[]; steps: number[][]; cpuMs: number; calls: number }
    > = {
      ours: { writes: [], steps: STEPS.map(() => []), cpuMs: 0, calls: 0 },
      noop: { writes: [], steps: STEPS.map(() => []), cpuMs: 0, calls: 0 },
    };
    /** Our handler's own time (mesh_cert_webhook_request_duration_seconds), per endpoint, over our rounds. */
    const handler = new Map<string, Histogram>();
    const OUR_METRIC = 'mesh_cert_webhook_request_duration_seconds';
    const ourMetrics = async (): Promise<Histograms> =>
      ours.healthUrl
        ? parseHistograms(await httpGet(`${ours.healthUrl}/metrics`), OUR_METRIC, ['endpoint'])
        : new Map();
    const pidOf = { ours: ours.child.pid!, noop: noop.child.pid! };
    /** The apiserver's histogram per webhook, type and operation, over the measured rounds. */
    const byOperation = new Map<string, Histogram>();
    const perRound: { mode: 'ours' | 'noop'; v: number; a: number; vMean: number; aMean: number }[] = [];
    // warm-up: each pair once, a short stream (TLS connections, JIT in the webhooks and the apiserver)
    for (const mode of ['ours', 'noop'] as const) {
      await use(mode);
      const ns = `bench-warm-${mode}`;
      await createNamespace(api, ns);
      await stream(api, ns, await signFor(material, CLUSTERS));
    }
    for (let pair = 0; pair < PAIRS; pair++) {
      const m = await signFor(material, CLUSTERS);
      const order: ('ours' | 'noop')[] = pair % 2 === 0 ? ['ours', 'noop'] : ['noop', 'ours'];
      for (const mode of order) {
        await use(mode);
        const ns = `bench-${pair}-${mode}`;
        await createNamespace(api, ns);
        // one more write on the fresh registration, outside the measurement
        await api.write(
          'POST',
          `${API}/namespaces/bench-probe/issuedcertificates`,
          issuedCertificate(`probe-${probes++}`),
        );
        const handlerBefore = mode === 'ours' ? await ourMetrics() : undefined;
        const beforeText = await api.metrics();
        const before = parseWebhookHistograms(beforeText);
        api.warnings.clear();
        const cpu0 = cpuMs(pidOf[mode]);
        const ts = performance.now();
        const steps = await stream(api, ns, m);
        const wall = performance.now() - ts;
        const cpu = cpuMs(pidOf[mode]) - cpu0;
        const afterText = await api.metrics();
        const after = parseWebhookHistograms(afterText);
        if (api.warnings.size)
          log(`${mode}: warnings on writes: ${[...api.warnings].map(([w, n]) => `${n} x ${w}`).join('; ')}`);
        const byOpBefore = parseHistograms(beforeText, METRIC, ['name', 'type', 'operation']);
        for (const [k, h] of parseHistograms(afterText, METRIC, ['name', 'type', 'operation'])) {
          if (!k.startsWith(`${HOOK_NAMES[mode].validating}|`) && !k.startsWith(`${HOOK_NAMES[mode].admit}|`)) continue;
          const d = diff(h, byOpBefore.get(k));
          if (d && d.count > 0) byOperation.set(k, add(byOperation.get(k), d));
        }
        if (handlerBefore) {
          for (const [k, h] of await ourMetrics()) {
            const d = diff(h, handlerBefore.get(k));
            if (d && d.count > 0) handler.set(k, add(handler.get(k), d));
          }
        }
        const times = steps.flat();
        const v = diff(
          after.get(`${HOOK_NAMES[mode].validating}|validating`),
          before.get(`${HOOK_NAMES[mode].validating}|validating`),
        );
        const a = diff(after.get(`${HOOK_NAMES[mode].admit}|admit`), before.get(`${HOOK_NAMES[mode].admit}|admit`));
        const other = mode === 'ours' ? 'noop' : 'ours';
        const leaked =
          calls(after, HOOK_NAMES[other].validating) -
          calls(before, HOOK_NAMES[other].validating) +
          calls(after, HOOK_NAMES[other].admit) -
          calls(before, HOOK_NAMES[other].admit);
        const want = CLUSTERS * WRITES_PER_CLUSTER;
        // At least one call per write: a PATCH that meets a stale object (the apiserver patches the
        // cached object first) conflicts in storage and is retried, admission included.
        if (!v || !a || v.count < want || a.count < want || leaked !== 0) {
          throw new Error(
            `round ${pair}/${mode}: expected at least ${want} validating and ${want} mutating calls to ${mode} only; got ${v?.count}, ${a?.count}, ${leaked} to the other pair`,
          );
        }
        pooled[mode].validating = add(pooled[mode].validating, v);
        pooled[mode].admit = add(pooled[mode].admit, a);
        pooled[mode].writes.push(...times);
        steps.forEach((t, i) => pooled[mode].steps[i]!.push(...t));
        pooled[mode].cpuMs += cpu;
        pooled[mode].calls += v.count + a.count;
        const row = {
          mode,
          v: histogramQuantile(0.99, v),
          a: histogramQuantile(0.99, a),
          vMean: v.sum / v.count,
          aMean: a.sum / a.count,
        };
        perRound.push(row);
        log(
          `pair ${pair} ${mode.padEnd(4)}: ${want} writes (${v.count} validating, ${a.count} mutating calls) in ${(wall / 1000).toFixed(1)} s; validating p99 ${ms(row.v).toFixed(2)} ms mean ${ms(row.vMean).toFixed(2)} ms ` +
            `(${(aboveFirst(v) * 100).toFixed(1)}% > 5 ms); mutating p99 ${ms(row.a).toFixed(2)} ms mean ${ms(row.aMean).toFixed(2)} ms (${(aboveFirst(a) * 100).toFixed(1)}% > 5 ms); ` +
            `write p50 ${q(times, 0.5).toFixed(1)} ms p99 ${q(times, 0.99).toFixed(1)} ms; webhook CPU ${cpu} ms; buckets [${v.les.join(', ')}] cumulative v [${v.cum.join(', ')}] a [${a.cum.join(', ')}]`,
        );
      }
    }

    log('client wall time per write step, p50 / p99 ms, ours vs no-op:');
    STEPS.forEach((step, i) => {
      const o = pooled.ours.steps[i]!;
      const n = pooled.noop.steps[i]!;
      log(
        `  ${step.padEnd(36)} ${q(o, 0.5).toFixed(1)} / ${q(o, 0.99).toFixed(1)}  vs  ${q(n, 0.5).toFixed(1)} / ${q(n, 0.99).toFixed(1)}`,
      );
    });
    log(`${METRIC} per webhook, type and operation, over the measured rounds:`);
    for (const [k, h] of [...byOperation].sort()) {
      log(
        `  ${k.padEnd(52)} ${String(h.count).padStart(5)} calls, mean ${ms(h.sum / h.count).toFixed(2)} ms, ${(aboveFirst(h) * 100).toFixed(1)}% > 5 ms, p99 ${ms(histogramQuantile(0.99, h)).toFixed(2)} ms; cumulative [${h.cum.join(', ')}]`,
      );
    }
    log(
      `our handler's own time (${OUR_METRIC}, buckets ${[...handler.values()][0]?.les.join(', ')} s), over our rounds:`,
    );
    for (const [k, h] of [...handler].sort()) {
      log(
        `  ${k.padEnd(40)} ${String(h.count).padStart(5)} reviews, mean ${ms(h.sum / h.count).toFixed(3)} ms, p99 ${ms(histogramQuantile(0.99, h)).toFixed(2)} ms`,
      );
    }

    // kubectl apply of N objects of our kinds into a new namespace: ours registered vs none
    const applyFile = join(work, 'objects.yaml');
    const third = Math.ceil(APPLY_OBJECTS / 3);
    const objects: Record<string, unknown>[] = [];
    for (let i = 0; objects.length < APPLY_OBJECTS; i++) {
      const kind = Math.floor(i / third);
      const name = `apply-${i % third}`;
      objects.push(
        kind === 0
          ? issuedCertificate(name)
          : kind === 1
            ? certificateRequest(name, material.csr)
            : podBounceDirective(name),
      );
    }
    writeFileSync(applyFile, objects.map((o) => yamlStringify(o)).join('---\n'));
    const cacheDir = join(work, 'kubectl-cache');
    const kubectlApply = (ns: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const t = performance.now();
        execFile(
          KUBECTL,
          ['--kubeconfig', kube.kubeconfigPath, '--cache-dir', cacheDir, '-n', ns, 'apply', '-f', applyFile],
          { maxBuffer: 16 << 20 },
          (err, _out, stderr) => {
            const wall = performance.now() - t;
            if (err) reject(new Error(`kubectl apply -n ${ns}: ${stderr || err.message}`));
            else resolve(wall);
          },
        );
      });
    const applied: Record<'ours' | 'none', number[]> = { ours: [], none: [] };
    let applies = 0;
    for (const mode of ['ours', 'none'] as const) {
      await use(mode);
      const ns = `apply-warm-${mode}`;
      await createNamespace(api, ns);
      await kubectlApply(ns); // discovery cache, page cache for the binary, the webhook's connections
    }
    for (let pair = 0; pair < APPLY_PAIRS; pair++) {
      for (const mode of pair % 2 === 0 ? (['ours', 'none'] as const) : (['none', 'ours'] as const)) {
        await use(mode);
        const ns = `apply-${applies++}`;
        await createNamespace(api, ns);
        const wall = await kubectlApply(ns);
        applied[mode].push(wall);
        log(
          `kubectl apply ${APPLY_OBJECTS} objects, ${mode === 'ours' ? 'our webhooks' : 'no webhook'}: ${wall.toFixed(0)} ms`,
        );
      }
    }
    await use('none');

    const rounds = PAIRS;
    const results: BenchResult[] = [];
    const perRoundRatios = (key: 'v' | 'a'): string => {
      const o = perRound.filter((r) => r.mode === 'ours');
      const n = perRound.filter((r) => r.mode === 'noop');
      return o.map((r, i) => (r[key] / n[i]![key]).toFixed(2)).join(', ');
    };
    for (const [type, label, key] of [
      ['validating', 'validating', 'v'],
      ['admit', 'mutating', 'a'],
    ] as const) {
      const ho = pooled.ours[type]!;
      const hn = pooled.noop[type]!;
      results.push({
        name: `kube-apiserver ${METRIC} p99, ${label} webhook, ${ho.count} calls per side over ${rounds} alternated rounds (per-round ratios ${perRoundRatios(key)}; above 5 ms, the first bucket: ours ${(aboveFirst(ho) * 100).toFixed(1)}%, no-op ${(aboveFirst(hn) * 100).toFixed(1)}%)`,
        value: ms(histogramQuantile(0.99, ho)),
        unit: 'ms',
        baseline: ms(histogramQuantile(0.99, hn)),
        baselineName: 'no-op Fastify webhook, same registration and stream',
        ratio: histogramQuantile(0.99, ho) / histogramQuantile(0.99, hn),
        target: '<= 1.2',
      });
    }
    for (const [type, label] of [
      ['validating', 'validating'],
      ['admit', 'mutating'],
    ] as const) {
      const ho = pooled.ours[type]!;
      const hn = pooled.noop[type]!;
      results.push({
        name: `kube-apiserver ${METRIC} mean (sum / count), ${label} webhook, same calls`,
        value: ms(ho.sum / ho.count),
        unit: 'ms',
        baseline: ms(hn.sum / hn.count),
        baselineName: 'no-op Fastify webhook, same registration and stream',
        ratio: ho.sum / ho.count / (hn.sum / hn.count),
        target: 'report only',
      });
    }
    const wo = pooled.ours.writes;
    const wn = pooled.noop.writes;
    results.push(
      {
        name: `API write wall time seen by the client, p50 (${wo.length} writes per side, ${LANES} at a time)`,
        value: q(wo, 0.5),
        unit: 'ms',
        baseline: q(wn, 0.5),
        baselineName: 'no-op Fastify webhook, same registration and stream',
        ratio: q(wo, 0.5) / q(wn, 0.5),
        target: 'report only',
      },
      {
        name: `API write wall time seen by the client, p99 (${wo.length} writes per side, ${LANES} at a time)`,
        value: q(wo, 0.99),
        unit: 'ms',
        baseline: q(wn, 0.99),
        baselineName: 'no-op Fastify webhook, same registration and stream',
        ratio: q(wo, 0.99) / q(wn, 0.99),
        target: 'report only',
      },
      {
        name: 'webhook process CPU (user + system) per webhook call, over the measured rounds',
        value: pooled.ours.cpuMs / pooled.ours.calls,
        unit: 'ms',
        baseline: pooled.noop.cpuMs / pooled.noop.calls,
        baselineName: 'no-op Fastify webhook, same registration and stream',
        ratio: pooled.ours.cpuMs / pooled.ours.calls / (pooled.noop.cpuMs / pooled.noop.calls),
        target: 'report only',
      },
      {
        name: `kubectl apply -f of ${APPLY_OBJECTS} objects (IssuedCertificate, CertificateRequest, PodBounceDirective) into a new namespace, median wall of ${APPLY_PAIRS}`,
        value: median(applied.ours),
        unit: 'ms',
        baseline: median(applied.none),
        baselineName: 'no webhook registered',
        ratio: median(applied.ours) / median(applied.none),
        target: 'report only',
      },
    );
    return results;
  } finally {
    for (const s of servers) s.kill('SIGTERM');
    api.agent.destroy();
    await kube.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--serve-noop') {
  await serveNoop(argv[1]!, argv[2]!);
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchApiserverAdmission()) {
    console.log(
      `${r.name}: ${r.value.toFixed(3)} ${r.unit} (baseline ${r.baselineName}: ${r.baseline.toFixed(3)}; ratio ${r.ratio.toFixed(3)}${r.target ? `; target ${r.target}` : ''})`,
    );
  }
}
