// The webhook's own TLS (--tls-mode self) on a real kube-apiserver, run as a local process with
// the identity and permissions of manifests/webhook/rbac.yaml (applied as shipped, with the empty
// certificate Secret of manifests/webhook/certificate-secret.yaml). Both webhook configurations
// are manifests/webhook's, registered by URL (the Service's name leads nowhere from here) and,
// as shipped, without a caBundle and with the validating webhook on failurePolicy Ignore.
//  - Before the webhook runs, writes pass (it stays out of the way); once it runs, with no step by
//    hand, the caBundle is in place, the validating webhook is armed (Fail) and it judges writes.
//  - With a 30 s serving certificate and a 60 s CA, the serving certificate and then the CA are
//    renewed while a stream of writes goes through kube-apiserver: none fails.
//  - Two replicas: one holds the Lease and is the only one that writes (the audit log, by
//    User-Agent); when it stops, it hands the Lease over and the other one writes.
//  - Files mode (Helm's certManager and manual): the webhook arms the validating webhook only
//    once the caBundle someone else put in (cainjector, gen-certs.sh) verifies what it serves.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kube, KubeCluster, KubeUser } from '../kube/index.js';
import {
  apiCall,
  applyObjects,
  auditArgs,
  freePort,
  auditedRequests,
  eventually,
  kubectlOk,
  readManifest,
  REPO,
  run,
  startTimed,
} from './helpers.js';
import { startWebhookProcess, webhookBundle, type WebhookProcess } from '../webhook/webhook-process.js';
import { SERVING_CERTIFICATE_ANNOTATION } from '#schemas/src/annotations.js';

const NS = 'mesh-cert-system';
const SA_USER = `system:serviceaccount:${NS}:mesh-cert-webhook`;
const SA_GROUPS = ['system:serviceaccounts', `system:serviceaccounts:${NS}`];
const SECRET = 'mesh-cert-webhook-certs';
const API = '/apis/certificates.mesh.gloo.solo.io/v1';

let kube: Kube | undefined;
let cluster: KubeCluster;
let kc: string;
let identity: KubeUser;
let dir: string;
let admin: Agent;
let port: number;
const webhooks: WebhookProcess[] = [];

const ok = (args: string[], input?: string) => kubectlOk(kc, args, { input });

/** A call to kube-apiserver as its admin, over one kept-alive connection pool. */
const api = (method: string, path: string, body?: unknown) => apiCall(admin, cluster.url, method, path, body);

/** A CertificateRequest the CRD admits and only the webhook refuses (its CSR is no PEM CSR). */
const onlyTheWebhookRefuses = (name: string) =>
  api('POST', `${API}/namespaces/default/certificaterequests?dryRun=All`, {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRequest',
    metadata: { name, namespace: 'default' },
    spec: { certificateSigningRequest: Buffer.from('not a certificate request').toString('base64') },
  });
const valid = (name: string) =>
  api('POST', `${API}/namespaces/default/issuedcertificates?dryRun=All`, {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'IssuedCertificate',
    metadata: { name, namespace: 'default' },
    spec: { hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod'] },
  });
const DENIED = 'admission webhook "validate.mesh-cert.io" denied the request';

/** The webhook in self mode as the Deployment runs it, here with the ServiceAccount's identity. */
async function startSelf(extra: string[] = []): Promise<WebhookProcess & { identity: string }> {
  const w = await startWebhookProcess([
    '--tls-mode',
    'self',
    '--kubeconfig',
    identity.kubeconfigPath,
    '--namespace',
    NS,
    '--tls-secret',
    SECRET,
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
    '--cert-check-interval',
    '1s',
    '--port',
    String(port),
    '--log-level',
    'info',
    ...extra,
  ]);
  webhooks.push(w);
  const id = /"identity":"([^"]+)"/.exec(w.output())?.[1];
  if (!id) throw new Error(`no identity logged: ${w.output()}`);
  return Object.assign(w, { identity: id });
}

async function secretData(): Promise<Record<string, string>> {
  const s = JSON.parse(await ok(['get', 'secret', SECRET, '-n', NS, '-o', 'json']));
  return Object.fromEntries(
    Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString('utf8'),
    ]),
  );
}

async function validating(): Promise<{ failurePolicy: string; caBundle?: string }> {
  const v = JSON.parse(await ok(['get', 'validatingwebhookconfiguration', 'mesh-cert-webhook', '-o', 'json']));
  const w = v.webhooks[0];
  return {
    failurePolicy: w.failurePolicy,
    caBundle: w.clientConfig.caBundle ? Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8') : undefined,
  };
}

const pems = (text: string | undefined): string[] =>
  text?.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];

/** The certificate the webhook presents, by its SHA-256 fingerprint. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(
      { host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'mesh-cert-webhook.mesh-cert-system.svc' },
      () => {
        const fp = s.getPeerCertificate().fingerprint256;
        s.end();
        resolve(fp);
      },
    );
    s.on('error', reject);
  });
}

/** The Secret back to what manifests/webhook ships (no data), and the configurations as shipped. */
async function resetToShipped(): Promise<void> {
  const s = JSON.parse(await ok(['get', 'secret', SECRET, '-n', NS, '-o', 'json']));
  await ok(
    ['replace', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: SECRET, namespace: NS, resourceVersion: s.metadata.resourceVersion, labels: s.metadata.labels },
      type: 'Opaque',
    }),
  );
  await register();
}

/** manifests/webhook's two configurations as shipped (no caBundle; validating Ignore), by URL. */
async function register(): Promise<void> {
  const configs = [
    ...(await readManifest('manifests/webhook/validatingwebhookconfiguration.yaml')),
    ...(await readManifest('manifests/webhook/mutatingwebhookconfiguration.yaml')),
  ];
  for (const c of configs)
    for (const w of c.webhooks) w.clientConfig = { url: `https://127.0.0.1:${port}${w.clientConfig.service.path}` };
  for (const c of configs) await ok(['delete', c.kind.toLowerCase(), c.metadata.name, '--ignore-not-found']);
  await applyObjects(kc, 'mgmt', configs);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-cert-real-self-tls-'));
  ({ kube } = await startTimed({ clusters: ['mgmt'], apiserverArgs: await auditArgs(dir, [SA_USER]) }));
  kc = kube.kubeconfigPath;
  cluster = kube.clusters.get('mgmt')!;
  admin = new Agent({ keepAlive: true, maxSockets: 4, ca: cluster.caPem, cert: cluster.certPem, key: cluster.keyPem });
  // the webhook as it ships: its bundle, built aside so webhook/dist is left to whoever runs it
  webhookBundle();
  // as shipped: the namespace, the RBAC and the empty certificate Secret
  await ok([
    'apply',
    '-f',
    'manifests/webhook/namespace.yaml',
    '-f',
    'manifests/webhook/rbac.yaml',
    '-f',
    'manifests/webhook/certificate-secret.yaml',
  ]);
  identity = await kube.mintUser({ cluster: 'mgmt', user: SA_USER, groups: SA_GROUPS });
  port = await freePort();
  await register();
}, 180_000);

afterAll(async () => {
  for (const w of webhooks) await w.stop();
  admin?.destroy();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the webhook's own TLS on a real control plane, with the permissions of manifests/webhook/rbac.yaml", () => {
  it('stays out of the way until it serves; then, with no step by hand, its CA is injected, the validating webhook armed, and writes judged', async () => {
    // no webhook yet, no caBundle: writes pass (failurePolicy Ignore as shipped)
    expect(await validating()).toEqual({ failurePolicy: 'Ignore', caBundle: undefined });
    expect((await onlyTheWebhookRefuses('before')).status).toBe(201);

    const w = await startSelf();
    const armed = await eventually(
      'the validating webhook armed',
      async () => {
        const v = await validating();
        return v.failurePolicy === 'Fail' && v.caBundle ? v : undefined;
      },
      30_000,
    );
    const data = await secretData();
    expect(Object.keys(data).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    // the caBundle is the Secret's bundle: the one CA, ECDSA P-256, ten years; it signed the serving certificate
    expect(armed.caBundle).toBe(data['ca-bundle.crt']);
    const ca = new X509Certificate(data['ca.crt']!);
    const serving = new X509Certificate(data['tls.crt']!);
    expect(pems(armed.caBundle)).toEqual(pems(data['ca.crt']));
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(serving.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(serving.checkIssued(ca) && serving.verify(ca.publicKey)).toBe(true);
    const years = (x: X509Certificate) => (Date.parse(x.validTo) - Date.parse(x.validFrom)) / (365 * 86_400_000);
    expect(Math.round(years(ca))).toBe(10);
    expect(Math.round(years(serving))).toBe(1);
    expect(serving.subjectAltName).toBe(
      'DNS:mesh-cert-webhook, DNS:mesh-cert-webhook.mesh-cert-system, DNS:mesh-cert-webhook.mesh-cert-system.svc, DNS:mesh-cert-webhook.mesh-cert-system.svc.cluster.local, IP Address:127.0.0.1',
    );
    expect(await servedFingerprint()).toBe(serving.fingerprint256);
    // the certificate it serves is published on both configurations, for `check` (no key in it)
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const published = await eventually(
        `the serving certificate published on the ${kind}`,
        async () =>
          JSON.parse(await ok(['get', kind, 'mesh-cert-webhook', '-o', 'json'])).metadata.annotations?.[
            SERVING_CERTIFICATE_ANNOTATION
          ] as string | undefined,
        15_000,
      );
      expect(new X509Certificate(published).fingerprint256).toBe(serving.fingerprint256);
      expect(published).not.toContain('PRIVATE KEY');
    }
    // the mutating webhook got the same bundle and stays Ignore
    const m = JSON.parse(await ok(['get', 'mutatingwebhookconfiguration', 'mesh-cert-webhook', '-o', 'json']))
      .webhooks[0];
    expect([m.failurePolicy, Buffer.from(m.clientConfig.caBundle, 'base64').toString('utf8')]).toEqual([
      'Ignore',
      data['ca-bundle.crt'],
    ]);

    // kube-apiserver calls it with that trust: an object only the webhook refuses is denied, a valid one admitted
    const denied = await eventually(
      'a denial by the webhook',
      async () => {
        const r = await onlyTheWebhookRefuses('after');
        return r.status === 422 ? r : undefined;
      },
      15_000,
    );
    expect(denied.message).toContain(DENIED);
    expect((await valid('after')).status).toBe(201);

    // a re-apply of the shipped configuration puts Ignore back: the webhook arms it again
    await ok([
      'patch',
      'validatingwebhookconfiguration',
      'mesh-cert-webhook',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }]),
    ]);
    await eventually('re-armed', async () => (await validating()).failurePolicy === 'Fail', 15_000);

    // every request it made was allowed, each of the kinds rbac.yaml names for it was used, and
    // its writes touched only its own objects, by name
    const reqs = (await auditedRequests(cluster.apiserverLog, SA_USER)).filter((r) => r.userAgent.includes(w.identity));
    expect(reqs.filter((r) => r.decision !== 'allow')).toEqual([]);
    const seen = [
      ...new Set(reqs.map((r) => `${r.verb} ${r.resource}.${r.apiGroup}${r.name ? ` ${r.name}` : ''}`)),
    ].sort();
    expect(seen).toEqual([
      'create leases.coordination.k8s.io mesh-cert-webhook-leader',
      'get leases.coordination.k8s.io mesh-cert-webhook-leader',
      'get mutatingwebhookconfigurations.admissionregistration.k8s.io mesh-cert-webhook',
      `get secrets. ${SECRET}`,
      'get validatingwebhookconfigurations.admissionregistration.k8s.io mesh-cert-webhook',
      'patch mutatingwebhookconfigurations.admissionregistration.k8s.io mesh-cert-webhook',
      'patch validatingwebhookconfigurations.admissionregistration.k8s.io mesh-cert-webhook',
      'update leases.coordination.k8s.io mesh-cert-webhook-leader',
      `update secrets. ${SECRET}`,
    ]);
    // and no private key ever reached its log
    expect(w.output()).not.toContain('PRIVATE KEY');
    await w.stop();
  }, 120_000);

  it('renews a 30 s serving certificate and a 60 s CA while a stream of writes through kube-apiserver sees no failure', async () => {
    await resetToShipped();
    const w = await startSelf(['--serving-cert-lifetime', '30s', '--ca-lifetime', '60s']);
    await eventually('armed', async () => (await validating()).failurePolicy === 'Fail', 30_000);
    await eventually('judged', async () => (await onlyTheWebhookRefuses('warm-up')).status === 422, 15_000);
    const first = await secretData();
    const served = new Set<string>();
    const cas = new Set<string>([first['ca.crt']!]);
    let bundleOfTwo = false;
    const failures: string[] = [];
    let writes = 0;
    // until the first CA has been replaced and has expired (its end is 60 s after it was made)
    const caEnd = Date.parse(new X509Certificate(first['ca.crt']!).validTo);
    while (Date.now() < caEnd + 8_000) {
      const i = writes;
      const [d, v] = await Promise.all([onlyTheWebhookRefuses(`stream-${i}`), valid(`stream-${i}`)]);
      writes += 2;
      if (d.status !== 422 || !d.message.includes(DENIED)) failures.push(`refused object: ${d.status} ${d.message}`);
      if (v.status !== 201) failures.push(`valid object: ${v.status} ${v.message}`);
      if (writes % 10 === 0) {
        served.add(await servedFingerprint());
        const now = await secretData();
        cas.add(now['ca.crt']!);
        if (pems((await validating()).caBundle).length === 2) bundleOfTwo = true;
      }
    }
    process.stdout.write(
      `[real] self TLS renewal: ${writes} writes, ${served.size} serving certificates seen, ${cas.size} CAs, ${failures.length} failures\n`,
    );
    expect(failures).toEqual([]);
    // the serving certificate was renewed (more than once), the CA too, with both CAs trusted during the overlap
    expect(served.size).toBeGreaterThanOrEqual(2);
    expect(cas.size).toBe(2);
    expect(bundleOfTwo).toBe(true);
    // and after the first CA expired, the bundle holds only the new one
    const last = await secretData();
    await eventually(
      'the expired CA dropped from the caBundle',
      async () => JSON.stringify(pems((await validating()).caBundle)) === JSON.stringify(pems(last['ca.crt'])),
      10_000,
    );
    expect(w.output()).toMatch(/serving certificate renewal/);
    expect(w.output()).toMatch(/CA renewal: made the next CA/);
    expect(w.output()).toMatch(/CA renewal: the next CA, trusted by the API server, takes over/);
    await w.stop();
  }, 180_000);

  it('two replicas: only the one holding the Lease writes; stopped, it hands over to the other', async () => {
    await resetToShipped();
    const since = (await auditedRequests(cluster.apiserverLog, SA_USER)).length;
    const a = await startSelf();
    const b = await startSelf(['--port', '0']);
    const holder = async () =>
      JSON.parse(await ok(['get', 'lease', 'mesh-cert-webhook-leader', '-n', NS, '-o', 'json'])).spec
        .holderIdentity as string;
    await eventually('armed', async () => (await validating()).failurePolicy === 'Fail', 30_000);
    const leaderId = await holder();
    expect([a.identity, b.identity]).toContain(leaderId);
    const [leader, other] = leaderId === a.identity ? [a, b] : [b, a];
    // both serve the one certificate in the Secret
    const serving = new X509Certificate((await secretData())['tls.crt']!);
    for (const w of [leader, other]) {
      const port = Number(new URL(w.url).port);
      const fp = await new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.end();
        });
        s.on('error', reject);
      });
      expect(fp).toBe(serving.fingerprint256);
    }
    // a few more rounds of checks by both
    await eventually(
      'the other replica has read the Secret a few times',
      async () => {
        const reqs = (await auditedRequests(cluster.apiserverLog, SA_USER)).slice(since);
        return (
          reqs.filter((r) => r.userAgent.includes(other.identity) && r.verb === 'get' && r.resource === 'secrets')
            .length >= 3
        );
      },
      20_000,
    );
    const reqs = (await auditedRequests(cluster.apiserverLog, SA_USER)).slice(since);
    const writes = (id: string) =>
      reqs.filter((r) => r.userAgent.includes(id) && ['create', 'update', 'patch'].includes(r.verb));
    expect(writes(leader.identity).map((r) => r.resource)).toEqual(
      expect.arrayContaining(['secrets', 'leases', 'validatingwebhookconfigurations', 'mutatingwebhookconfigurations']),
    );
    // the other one may have tried to create the Lease first (refused: it exists), and wrote nothing
    expect(
      writes(other.identity).filter((r) => !(r.verb === 'create' && r.resource === 'leases' && r.code === 409)),
    ).toEqual([]);

    await leader.stop();
    await eventually('the other replica holds the Lease', async () => (await holder()) === other.identity, 30_000);
    await eventually(
      'and writes: it renews the Lease',
      async () => {
        const after = (await auditedRequests(cluster.apiserverLog, SA_USER)).slice(since);
        return after.some(
          (r) => r.userAgent.includes(other.identity) && r.verb === 'update' && r.resource === 'leases',
        );
      },
      15_000,
    );
    expect(other.output()).toContain('became the leader');
    await other.stop();
  }, 120_000);

  it('files mode: arms the validating webhook only once the caBundle put in by someone else verifies the certificate it serves', async () => {
    await resetToShipped();
    const gen = await run(join(REPO, 'webhook/gen-certs.sh'), ['--out', join(dir, 'files'), '--san', 'IP:127.0.0.1']);
    expect(gen.code, gen.stderr).toBe(0);
    const other = await run(join(REPO, 'webhook/gen-certs.sh'), ['--out', join(dir, 'other')]);
    expect(other.code, other.stderr).toBe(0);
    const setBundle = async (caFile: string) => {
      const caBundle = Buffer.from(await readFile(caFile)).toString('base64');
      for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
        await ok([
          'patch',
          kind,
          'mesh-cert-webhook',
          '--type=json',
          '-p',
          JSON.stringify([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }]),
        ]);
      }
    };
    // a CA that did not sign the served certificate: left unarmed, writes pass
    await setBundle(join(dir, 'other/ca.crt'));
    const since = (await auditedRequests(cluster.apiserverLog, SA_USER)).length;
    const w = await startWebhookProcess([
      '--tls-cert-file',
      join(dir, 'files/tls.crt'),
      '--tls-private-key-file',
      join(dir, 'files/tls.key'),
      '--kubeconfig',
      identity.kubeconfigPath,
      '--namespace',
      NS,
      '--validating-webhook-configuration',
      'mesh-cert-webhook',
      '--mutating-webhook-configuration',
      'mesh-cert-webhook',
      '--cert-check-interval',
      '1s',
      '--port',
      String(port),
      '--log-level',
      'info',
    ]);
    webhooks.push(w);
    await eventually(
      'a few checks of the configuration',
      async () => {
        const reqs = (await auditedRequests(cluster.apiserverLog, SA_USER)).slice(since);
        return reqs.filter((r) => r.verb === 'get' && r.resource === 'validatingwebhookconfigurations').length >= 3;
      },
      30_000,
    );
    expect((await validating()).failurePolicy).toBe('Ignore');
    expect((await onlyTheWebhookRefuses('unarmed')).status).toBe(201);
    // the right CA, as cert-manager's cainjector would put it: armed, and judged
    await setBundle(join(dir, 'files/ca.crt'));
    await eventually('armed', async () => (await validating()).failurePolicy === 'Fail', 30_000);
    const denied = await eventually(
      'a denial by the webhook',
      async () => {
        const r = await onlyTheWebhookRefuses('armed');
        return r.status === 422 ? r : undefined;
      },
      15_000,
    );
    expect(denied.message).toContain(DENIED);
    // it touched no Secret: files mode leaves the certificate to whoever made it
    const reqs = (await auditedRequests(cluster.apiserverLog, SA_USER)).slice(since);
    expect(reqs.filter((r) => r.resource === 'secrets')).toEqual([]);
    expect(reqs.filter((r) => r.decision !== 'allow')).toEqual([]);
    await w.stop();
  }, 120_000);
});
