// `npx tsx test/gloo-mesh/run-real.ts`: Gloo Mesh's own cert-agent and issuer (ensure.ts, or the
// folder GLOO_MESH_BIN names) against the real control plane (test/kube) with mesh-cert's CRDs
// installed and its webhook in the path (registered by URL with the rules of manifests/webhook/,
// failing closed). It creates what Gloo Mesh's networking translator would (the VirtualMesh root
// Secret, a PodBounceDirective and an IssuedCertificate, as v1.1 writes them), lets their
// controllers take the IssuedCertificate to FINISHED, then counts the writes on every object over
// the next 60 s. Prints the figures; exits non-zero when FINISHED is not reached within 120 s or
// an object is written more than MAX_WRITES_AFTER times in the 60 s (a loop).
//
// This is the body of issue 15's "the real thing" test, kept as a script until the module proxy
// serves github.com/solo-io/gloo-mesh (README.md): then it becomes a vitest suite (real backend only).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientRequest } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { createRootCa, generateRsaKey, parseCertificate } from '#schemas/x509/index.js';
import { startBackend } from '../backend/index.js';
import { startWebhook } from '../plugin/issue-rotate.helpers.js';
import { findGlooMesh } from './ensure.js';

const REPO = join(import.meta.dirname, '../..');
const NS = 'gloo-mesh';
const NAME = 'istiod-istio-system-cluster-1';
const G = `/apis/certificates.mesh.gloo.solo.io/v1/namespaces/${NS}`;
const OWNED = { 'owner.networking.mesh.gloo.solo.io': NS };
const MAX_WRITES_AFTER = 3;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = { [k: string]: any };
const kc = new KubeConfig();

async function httpsOptions(method: string): Promise<RequestOptions> {
  const opts: RequestOptions = { method, headers: { accept: 'application/json' }, agent: false };
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json; warnings: string[] }> {
  const opts = await httpsOptions(method);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload)
    Object.assign(opts.headers as Json, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    });
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, kc.getCurrentCluster()!.server), opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const warnings: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          if (res.rawHeaders[i]!.toLowerCase() === 'warning') warnings.push(res.rawHeaders[i + 1]!);
        let j: Json;
        try {
          j = JSON.parse(text) as Json;
        } catch {
          j = { text };
        }
        resolve({ status: res.statusCode ?? 0, body: j, warnings });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

interface Ev {
  t: number;
  type: string;
  key: string;
  state?: string;
  error?: string;
  generation?: number;
}
const events: Ev[] = [];

/** Every event on a collection, from now on. */
async function watch(path: string): Promise<ClientRequest> {
  const req = request(new URL(`${path}?watch=1`, kc.getCurrentCluster()!.server), await httpsOptions('GET'), (res) => {
    let buf = '';
    res.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as { type: string; object: Json };
        const o = e.object;
        events.push({
          t: Date.now(),
          type: e.type,
          key: `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`,
          state: o.status?.state,
          error: o.status?.error,
          generation: o.metadata.generation,
        });
      }
    });
  });
  req.on('error', () => {
    /* destroyed at the end */
  });
  req.end();
  return req;
}

function webhookConfigurations(url: string, caPem: string): { path: string; body: Json }[] {
  return (
    [
      ['mutatingwebhookconfiguration.yaml', 'mutatingwebhookconfigurations'],
      ['validatingwebhookconfiguration.yaml', 'validatingwebhookconfigurations'],
    ] as const
  ).map(([file, resource]) => {
    const doc = parseAllDocuments(readFileSync(join(REPO, 'manifests/webhook', file), 'utf8'))[0]!.toJS() as Json;
    for (const w of doc.webhooks as Json[]) {
      w.clientConfig = { url: `${url}${w.clientConfig.service.path}`, caBundle: b64(caPem) };
      w.failurePolicy = 'Fail';
    }
    return { path: `/apis/admissionregistration.k8s.io/v1/${resource}`, body: doc };
  });
}

function must(what: string, r: { status: number; body: Json; warnings: string[] }): void {
  console.log(`${what}: ${r.status}${r.warnings.length ? ` warnings ${JSON.stringify(r.warnings)}` : ''}`);
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
}

async function main(): Promise<number> {
  const bin = process.env.GLOO_MESH_BIN ?? findGlooMesh().dir;
  const logs = mkdtempSync(join(tmpdir(), 'gloo-mesh-run-'));
  const backend = await startBackend('kube', ['cluster-1']);
  const webhook = await startWebhook();
  kc.loadFromFile(backend.kubeconfigPath);
  kc.setCurrentContext('cluster-1');
  const children: ChildProcess[] = [];
  const watches: ClientRequest[] = [];
  try {
    for (const ns of [NS, 'istio-system'])
      must(
        `namespace ${ns}`,
        await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
      );
    for (const c of webhookConfigurations(webhook.url, webhook.caPem)) must(c.path, await api('POST', c.path, c.body));
    await sleep(3000); // the apiserver picks the configurations up through an informer
    // what Gloo Mesh's networking translator and istiod would have made: the VirtualMesh root
    // (root-cert.pem + key.pem) and the root ConfigMap istiod distributes
    const rootKey = await generateRsaKey(2048);
    const root = createRootCa({ privateKeyPem: rootKey.privateKeyPem, subject: { O: 'gloo-mesh' }, ttlDays: 365 });
    const rootRef = { name: 'virtual-mesh.gloo-mesh', namespace: NS };
    must(
      'root Secret',
      await api('POST', `/api/v1/namespaces/${NS}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: rootRef,
        type: 'Opaque',
        data: { 'root-cert.pem': b64(root), 'key.pem': b64(rootKey.privateKeyPem) },
      }),
    );
    must(
      'istio-ca-root-cert',
      await api('POST', '/api/v1/namespaces/istio-system/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'istio-ca-root-cert', namespace: 'istio-system' },
        data: { 'root-cert.pem': root },
      }),
    );
    watches.push(
      ...(await Promise.all(
        [
          `${G}/issuedcertificates`,
          `${G}/certificaterequests`,
          `${G}/podbouncedirectives`,
          '/api/v1/namespaces/istio-system/secrets',
        ].map(watch),
      )),
    );
    await sleep(500);
    must(
      'PodBounceDirective',
      await api('POST', `${G}/podbouncedirectives`, {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'PodBounceDirective',
        metadata: { name: NAME, namespace: NS, labels: OWNED },
        spec: {
          podsToBounce: [
            {
              namespace: 'istio-system',
              labels: { app: 'istiod', istio: 'pilot' },
              rootCertSync: {
                secretRef: { name: 'cacerts', namespace: 'istio-system' },
                secretKey: 'root-cert.pem',
                configMapRef: { name: 'istio-ca-root-cert', namespace: 'istio-system' },
                configMapKey: 'root-cert.pem',
              },
            },
          ],
        },
      }),
    );
    // as the v1.1 translator writes it: both field generations, the VirtualMesh's cert options
    must(
      'IssuedCertificate',
      await api('POST', `${G}/issuedcertificates`, {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'IssuedCertificate',
        metadata: { name: NAME, namespace: NS, labels: OWNED },
        spec: {
          hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod-service-account'],
          org: 'Istio',
          signingCertificateSecret: rootRef,
          glooMeshCa: { signingCertificateSecret: rootRef },
          certOptions: { ttlDays: 365, rsaKeySizeBytes: 2048, orgName: 'acme', secretRotationGracePeriodRatio: 0.1 },
          issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
          podBounceDirective: { name: NAME, namespace: NS },
        },
      }),
    );
    const env = { ...process.env, KUBECONFIG: backend.kubeconfigPath };
    for (const name of ['cert-agent', 'cert-issuer']) {
      const log = createWriteStream(join(logs, `${name}.log`));
      const c = spawn(join(bin, name), ['--metrics-port', '0', '--context', 'cluster-1'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      c.stdout!.pipe(log);
      c.stderr!.pipe(log);
      children.push(c);
    }
    console.log(`started cert-agent and cert-issuer from ${bin}; logs in ${logs}`);
    const started = Date.now();
    let finished = 0;
    while (Date.now() - started < 120_000) {
      if ((await api('GET', `${G}/issuedcertificates/${NAME}`)).body.status?.state === 'FINISHED') {
        finished = Date.now();
        break;
      }
      await sleep(250);
    }
    if (!finished) {
      console.log(
        `NOT FINISHED after 120 s: ${JSON.stringify((await api('GET', `${G}/issuedcertificates/${NAME}`)).body.status)}`,
      );
      return 1;
    }
    console.log(`IssuedCertificate FINISHED ${finished - started} ms after the controllers started`);
    await sleep(60_000);
    const end = Date.now();
    let loop = false;
    for (const key of [...new Set(events.map((e) => e.key))]) {
      const all = events.filter((e) => e.key === key);
      const after = all.filter((e) => e.t > finished && e.t <= end).length;
      loop ||= after > MAX_WRITES_AFTER;
      console.log(
        `${key}: ${all.length} events before and during (${all.map((e) => `${e.type}${e.state ? `:${e.state}` : ''}${e.error ? ` (${e.error})` : ''}`).join(' ')}); ${after} in the 60 s after FINISHED`,
      );
    }
    const ic = (await api('GET', `${G}/issuedcertificates/${NAME}`)).body;
    console.log(
      `IssuedCertificate: status ${JSON.stringify(ic.status)}, generation ${ic.metadata.generation}, spec.certOptions ${JSON.stringify(ic.spec.certOptions)}`,
    );
    const cacerts = (await api('GET', '/api/v1/namespaces/istio-system/secrets/cacerts')).body;
    const ca = parseCertificate(Buffer.from(cacerts.data['ca-cert.pem'], 'base64').toString());
    console.log(
      `cacerts: keys ${Object.keys(cacerts.data ?? {}).join(', ')}; ca-cert.pem subject "${ca.subjectText}", CA ${ca.isCA}`,
    );
    return loop ? 1 : 0;
  } finally {
    for (const w of watches) w.destroy();
    for (const c of children) c.kill('SIGTERM');
    await sleep(500);
    await backend.stop();
    await webhook.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
