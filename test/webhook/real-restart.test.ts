// On a real kube-apiserver (test/kube): the apiserver calls the webhook with its client
// certificate, given to it the way an operator would (webhook/gen-certs.sh's kubeconfig and
// AdmissionConfiguration, passed with --admission-control-config-file), and the webhook, started
// with --client-ca-file, refuses everyone else. Both webhook configurations are registered as
// manifests/webhook/*.yaml has them, the validating one armed (failurePolicy Fail, as the webhook's
// leader sets it once it serves), by clientConfig.url and
// caBundle. Then a restart under a steady stream of writes: SIGTERM with --shutdown-delay, a new
// process on the same port once the old one has exited. No write is lost: every write the
// apiserver answered 201 is stored, every other one was refused with an error that names the
// webhook, none had no answer, no invalid object got in while the webhook was away, and once the
// new process serves, the writes pass again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'node:https';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findBinaries, startKube, type Kube, type KubeCluster } from '../kube/index.js';
import { issuedCertificate } from './fixtures.js';
import { GEN_CERTS, post, REPO, tmp } from './helpers.js';
import { startWebhookProcess, type WebhookProcess } from './webhook-process.js';
import { apiCall, freePort, type ApiReply } from '../real/helpers.js';

const NS = 'gloo-mesh';
const API = '/apis/certificates.mesh.gloo.solo.io/v1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let kube: Kube;
let cluster: KubeCluster;
let dir: string;
let port: number;
let admin: Agent;
const webhooks: WebhookProcess[] = [];

type Reply = ApiReply;

/** One call to the apiserver as its admin; never rejects (a transport failure is status 0). */
const api = (method: string, path: string, body?: unknown): Promise<Reply> =>
  apiCall(admin, cluster.url, method, path, body);

function startWebhook(): Promise<WebhookProcess> {
  return startWebhookProcess([
    '--port',
    String(port),
    '--tls-cert-file',
    join(dir, 'tls.crt'),
    '--tls-private-key-file',
    join(dir, 'tls.key'),
    '--client-ca-file',
    join(dir, 'client-ca.crt'),
    '--kubeconfig',
    kube.kubeconfigPath,
    '--shutdown-delay',
    '2',
    '--log-level',
    'warn',
  ]).then((w) => {
    webhooks.push(w);
    return w;
  });
}

beforeAll(async () => {
  findBinaries(); // fails first, naming `npx tsx test/kube/ensure.ts`
  dir = tmp('mesh-cert-real-restart-');
  port = await freePort();
  // The operator's steps: certificates and the apiserver's two files from gen-certs.sh, for a
  // webhook registered by URL (its kubeconfig user is named after the URL's host:port).
  execFileSync(
    GEN_CERTS,
    ['--out', dir, '--san', 'IP:127.0.0.1', '--webhook-host', `127.0.0.1:${port}`, '--kubeconfig-dir', dir],
    { stdio: 'pipe' },
  );
  kube = await startKube({
    clusters: ['mgmt'],
    timeoutMs: 120_000,
    apiserverArgs: [`--admission-control-config-file=${join(dir, 'admission-configuration.yaml')}`],
  });
  cluster = kube.clusters.get('mgmt')!;
  admin = new Agent({ keepAlive: true, maxSockets: 16, ca: cluster.caPem, cert: cluster.certPem, key: cluster.keyPem });
  expect(
    (await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })).status,
  ).toBe(201);
  await startWebhook();
  // manifests/webhook's configurations as written, pointed at the URL with our CA
  const caBundle = Buffer.from(readFileSync(join(dir, 'ca.crt'))).toString('base64');
  for (const file of ['validatingwebhookconfiguration.yaml', 'mutatingwebhookconfiguration.yaml']) {
    const config = parseAllDocuments(readFileSync(join(REPO, 'manifests/webhook', file), 'utf8'))[0]!.toJS() as {
      kind: string;
      webhooks: { clientConfig: { service?: { path: string }; url?: string; caBundle?: string } }[];
    };
    for (const w of config.webhooks)
      w.clientConfig = { url: `https://127.0.0.1:${port}${w.clientConfig.service!.path}`, caBundle };
    if (config.kind === 'ValidatingWebhookConfiguration')
      for (const w of config.webhooks) Object.assign(w, { failurePolicy: 'Fail' });
    const path = `/apis/admissionregistration.k8s.io/v1/${config.kind.toLowerCase()}s`;
    const r = await api('POST', path, config);
    expect(r.status, r.text).toBe(201);
  }
  // the configurations take effect within a second or so
  for (let i = 0; i < 100; i++) {
    const r = await api('POST', `${API}/namespaces/${NS}/certificaterequests?dryRun=All`, invalid('probe').object);
    if (r.status === 422 && r.message.includes('denied the request')) break;
    await sleep(100);
  }
}, 240_000);

afterAll(async () => {
  for (const w of webhooks) await w.stop();
  admin?.destroy();
  await kube?.stop();
});

interface Obj {
  resource: 'issuedcertificates' | 'certificaterequests';
  object: Record<string, unknown>;
}

function metadata(o: Record<string, unknown>, name: string): Record<string, unknown> {
  o.metadata = { name, namespace: NS };
  return o;
}

/** An IssuedCertificate as Gloo Mesh writes it. */
const valid = (name: string): Obj => ({
  resource: 'issuedcertificates',
  object: metadata(issuedCertificate(name), name),
});

/**
 * A CertificateRequest the CRD admits (its CSR is base64, `format: byte`) and only the webhook
 * refuses (it is no PEM CSR): what proves that the webhook judged, or was away.
 */
const invalid = (name: string): Obj => ({
  resource: 'certificaterequests',
  object: metadata(
    {
      apiVersion: 'certificates.mesh.gloo.solo.io/v1',
      kind: 'CertificateRequest',
      spec: { certificateSigningRequest: Buffer.from('not a certificate request').toString('base64') },
    },
    name,
  ),
});

const create = (o: Obj): Promise<Reply> => api('POST', `${API}/namespaces/${NS}/${o.resource}`, o.object);

describe('the apiserver authenticates to the webhook with its client certificate', () => {
  it('calls it: an object only the webhook refuses is denied by the webhook', async () => {
    const r = await create(invalid('only-the-webhook-refuses'));
    expect(r.status, r.text).toBe(422);
    expect(r.message).toContain('admission webhook "validate.mesh-cert.io" denied the request');
    expect((await create(valid('admitted'))).status).toBe(201);
    const metrics = await (await fetch(`${webhooks[0]!.healthUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /mesh_cert_webhook_requests_total\{endpoint="validate",kind="CertificateRequest",operation="CREATE",result="denied"\} [1-9]/,
    );
    // every call the apiserver made came with its certificate
    expect(metrics).not.toMatch(/mesh_cert_webhook_tls_client_errors_total\{reason="(no|bad)_certificate"\} [1-9]/);
    expect(metrics).toMatch(
      /mesh_cert_webhook_requests_total\{endpoint="mutate",kind="IssuedCertificate",operation="CREATE",result="allowed"\} [1-9]/,
    );
  });

  it('refuses a client without that certificate', async () => {
    const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x' } });
    await expect(
      post(`https://127.0.0.1:${port}`, '/validate', body, { ca: readFileSync(join(dir, 'ca.crt'), 'utf8') }),
    ).rejects.toThrow(/certificate|socket hang up|ECONNRESET/);
    // the apiserver's own client certificate (the kubeconfig gen-certs.sh wrote for it) is accepted
    const ok = await post(`https://127.0.0.1:${port}`, '/validate', body, {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(dir, 'apiserver-client.crt'), 'utf8'),
      key: readFileSync(join(dir, 'apiserver-client.key'), 'utf8'),
    });
    expect(ok.status).toBe(200);
    expect(ok.json.response.uid).toBe('x');
  });
});

describe('a restart under a steady stream of writes', () => {
  it('loses no write: each is stored and answered 201, or refused naming the webhook; the next ones pass', async () => {
    interface Write {
      name: string;
      resource: string;
      valid: boolean;
      start: number;
      end: number;
      r: Reply;
    }
    const writes: Write[] = [];
    let stop = false;
    let n = 0;
    const lane = async (id: number): Promise<void> => {
      while (!stop) {
        const i = n++;
        const name = `w-${id}-${i}`;
        // one write in five is one the webhook must deny
        const isValid = i % 5 !== 4;
        const o = isValid ? valid(name) : invalid(name);
        const start = Date.now();
        const r = await create(o);
        writes.push({ name, resource: o.resource, valid: isValid, start, end: Date.now(), r });
        await sleep(20);
      }
    };
    const lanes = Array.from({ length: 4 }, (_, i) => lane(i));
    await sleep(2000);

    // SIGTERM: /readyz fails at once, reviews are served 2 s more, then the listener closes and
    // in-flight reviews finish; the new process takes the port once the old one has exited.
    const old = webhooks[webhooks.length - 1]!;
    // with the CertificateRotation informer running (what a pod has beside the attack bench's figures)
    const rss = { nowMiB: Number(old.rssMiB().toFixed(1)), peakMiB: Number(old.peakRssMiB().toFixed(1)) };
    const sigterm = Date.now();
    const exited = old.stop('SIGTERM');
    await sleep(300);
    expect((await fetch(`${old.healthUrl}/readyz`)).status).toBe(503);
    expect(await exited).toBe(0);
    const down = Date.now();
    const fresh = await startWebhook();
    const up = Date.now();
    await sleep(3000);
    stop = true;
    await Promise.all(lanes);

    const outcome = (w: Write): string =>
      w.r.status === 201 ? 'stored' : w.r.status === 0 ? 'no answer' : `refused ${w.r.status}`;
    const summary = {
      webhookRss: rss,
      writes: writes.length,
      duringShutdownDelay: writes.filter((w) => w.start >= sigterm && w.end <= down).length,
      gapMs: up - down,
      refusedByWebhookDown: writes.filter((w) => w.r.status !== 201 && /failed calling webhook/.test(w.r.message))
        .length,
      refusedWith: [
        ...new Set(
          writes
            .filter((w) => w.valid && w.r.status !== 201)
            .map((w) => `${w.r.status} ${w.r.message.replace(/\d{4,5}/g, 'N')}`),
        ),
      ],
    };
    process.stdout.write(`[real-restart] ${JSON.stringify(summary)}\n`);

    // every write had an answer
    expect(writes.filter((w) => w.r.status === 0).map((w) => `${w.name}: ${w.r.message}`)).toEqual([]);
    // the apiserver's answers are the truth: 201 means stored, anything else means not stored
    const stored = new Set<string>();
    for (const resource of ['issuedcertificates', 'certificaterequests']) {
      const list = await api('GET', `${API}/namespaces/${NS}/${resource}`);
      expect(list.status).toBe(200);
      for (const o of (JSON.parse(list.text) as { items: { metadata: { name: string } }[] }).items)
        stored.add(o.metadata.name);
    }
    for (const w of writes)
      expect(stored.has(w.name), `${w.name}: ${outcome(w)} ${w.r.message}`).toBe(w.r.status === 201);
    // no invalid object got in: denied by the webhook, or refused while it was away
    for (const w of writes.filter((x) => !x.valid)) {
      expect(w.r.status, w.name).not.toBe(201);
      expect(w.r.message).toMatch(
        /admission webhook "validate\.mesh-cert\.io" denied the request|failed calling webhook "validate\.mesh-cert\.io"/,
      );
    }
    // a valid write was refused only while no webhook listened, and said so
    for (const w of writes.filter((x) => x.valid && x.r.status !== 201)) {
      expect(w.r.message, w.name).toMatch(/failed calling webhook "validate\.mesh-cert\.io"/);
      expect(w.end, `${w.name} refused at ${w.end - sigterm} ms after SIGTERM`).toBeGreaterThanOrEqual(sigterm);
      expect(w.start, `${w.name} refused, started ${w.start - up} ms after the new webhook served`).toBeLessThanOrEqual(
        up + 1000,
      );
    }
    // during the shutdown delay the old process still judged
    expect(summary.duringShutdownDelay).toBeGreaterThan(0);
    for (const w of writes.filter((x) => x.start >= sigterm && x.end <= sigterm + 1500))
      expect(outcome(w), `${w.name} ${w.r.message}`).toBe(w.valid ? 'stored' : 'refused 422');
    // and once the new one serves, every write passes again
    const after = writes.filter((w) => w.start >= up + 1000);
    expect(after.length).toBeGreaterThan(10);
    for (const w of after) expect(outcome(w), `${w.name} ${w.r.message}`).toBe(w.valid ? 'stored' : 'refused 422');
    expect(fresh.exited()).toBe(false);
  }, 120_000);
});
