// The admission webhook run with exactly the identity and permissions manifests/webhook/rbac.yaml
// gives it, on a real kube-apiserver: a client certificate for the ServiceAccount's user name
// and groups (RBAC matches a ServiceAccount subject by that user name), rbac.yaml applied as it
// is, the webhook process (its esbuild bundle, as webhook/bin runs it) started with that
// kubeconfig and registered by URL and caBundle with the rules of manifests/webhook/*.yaml.
// Admission works (its CertificateRotation cache lists and watches with those rights), and
// kube-apiserver's audit log shows every request it made and RBAC's decision on each.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsr, createRootCa, generateRsaKey } from '#schemas/x509/index.js';
import type { Kube, KubeUser } from '../kube/index.js';
import {
  applyObjects,
  auditArgs,
  auditedRequests,
  eventually,
  kubectl,
  kubectlOk,
  readManifest,
  REPO,
  run,
  startTimed,
} from './helpers.js';
import { startWebhookProcess, webhookBundle, type WebhookProcess } from '../webhook/webhook-process.js';

const SA_USER = 'system:serviceaccount:mesh-cert-system:mesh-cert-webhook';
const SA_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:mesh-cert-system'];

let kube: Kube | undefined;
let kc: string;
let identity: KubeUser;
let dir: string;
let certs: { cert: string; key: string; caPem: string };
const webhooks: WebhookProcess[] = [];

const ok = (args: string[], input?: string) => kubectlOk(kc, args, { input });
const k = (args: string[], input?: string) => kubectl(kc, args, { input });

/** `mesh-cert-webhook --kubeconfig F` from the bundle, on free ports; resolves once it serves. */
async function startWebhook(kubeconfig: string): Promise<WebhookProcess> {
  const w = await startWebhookProcess([
    '--tls-cert-file',
    certs.cert,
    '--tls-private-key-file',
    certs.key,
    '--kubeconfig',
    kubeconfig,
    '--log-level',
    'info',
  ]);
  webhooks.push(w);
  return w;
}

const readyz = async (w: WebhookProcess): Promise<number> => (await fetch(`${w.healthUrl}/readyz`)).status;

/** manifests/webhook's two configurations, as written, but pointing at `url` with our CA. */
async function register(url: string): Promise<void> {
  const caBundle = Buffer.from(certs.caPem).toString('base64');
  const configs = [
    ...(await readManifest('manifests/webhook/validatingwebhookconfiguration.yaml')),
    ...(await readManifest('manifests/webhook/mutatingwebhookconfiguration.yaml')),
  ];
  for (const c of configs) {
    // armed as the webhook's leader arms the validating one once it serves (webhook-self-tls.test.ts)
    for (const w of c.webhooks)
      Object.assign(w, {
        clientConfig: { url: `${url}${w.clientConfig.service.path}`, caBundle },
        ...(c.kind === 'ValidatingWebhookConfiguration' ? { failurePolicy: 'Fail' } : {}),
      });
  }
  await applyObjects(kc, 'mgmt', configs);
}

const rotation = (name: string, vm: string) => ({
  apiVersion: 'certificates.mesh.gloo.solo.io/v1',
  kind: 'CertificateRotation',
  metadata: { name, namespace: 'gloo-mesh' },
  spec: {
    virtualMesh: { name: vm, namespace: 'gloo-mesh' },
    newRootCaSecret: { name: `${name}-root`, namespace: 'gloo-mesh' },
  },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-cert-real-webhook-'));
  const [started, gen] = await Promise.all([
    (async () => startTimed({ clusters: ['mgmt'], apiserverArgs: await auditArgs(dir, [SA_USER]) }))(),
    run(join(REPO, 'webhook/gen-certs.sh'), ['--out', join(dir, 'tls'), '--san', 'IP:127.0.0.1']),
  ]);
  kube = started.kube;
  kc = kube.kubeconfigPath;
  // the webhook as it ships: its bundle, built aside so webhook/dist is left to whoever runs it
  webhookBundle();
  if (gen.code !== 0) throw new Error(`gen-certs.sh: ${gen.stderr}`);
  certs = {
    cert: join(dir, 'tls/tls.crt'),
    key: join(dir, 'tls/tls.key'),
    caPem: readFileSync(join(dir, 'tls/ca.crt'), 'utf8'),
  };
  // rbac.yaml exactly as shipped (its namespace first), and the ServiceAccount's user as a client certificate
  await ok(['apply', '-f', 'manifests/webhook/namespace.yaml', '-f', 'manifests/webhook/rbac.yaml']);
  identity = await kube.mintUser({ cluster: 'mgmt', user: SA_USER, groups: SA_GROUPS });
  for (const ns of ['gloo-mesh', 'istio-system']) await ok(['create', 'namespace', ns]);
}, 180_000);

afterAll(async () => {
  for (const w of webhooks) await w.stop();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the webhook with the identity and permissions of manifests/webhook/rbac.yaml', () => {
  it("that identity holds exactly rbac.yaml's rules beyond what every authenticated user has", async () => {
    const whoami = JSON.parse(await kubectlOk(identity.kubeconfigPath, ['auth', 'whoami', '-o', 'json']));
    expect(whoami.status.userInfo.username).toBe(SA_USER);
    expect(whoami.status.userInfo.groups).toEqual([...SA_GROUPS, 'system:authenticated']);
    // against another user of the same groups: what the default roles give every (service account) user
    const rows = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => l.trim().split(/\s{2,}/));
    const extra = async (ns: string) => {
      const mine = rows(await kubectlOk(identity.kubeconfigPath, ['auth', 'can-i', '--list', '-n', ns]));
      const peer = rows(
        await kubectlOk(kc, [
          'auth',
          'can-i',
          '--list',
          '-n',
          ns,
          '--as',
          'system:serviceaccount:mesh-cert-system:someone-else',
          ...SA_GROUPS.flatMap((g) => ['--as-group', g]),
        ]),
      );
      return mine.filter((r) => !peer.some((p) => p.join('|') === r.join('|')));
    };
    // cluster-wide: CertificateRequests and CertificateRotations read; its own two webhook configurations, by name
    const clusterWide = [
      ['certificaterequests.certificates.mesh.gloo.solo.io', '[]', '[]', '[list watch]'],
      ['certificaterotations.certificates.mesh.gloo.solo.io', '[]', '[]', '[list watch]'],
      ['mutatingwebhookconfigurations.admissionregistration.k8s.io', '[]', '[mesh-cert-webhook]', '[get patch]'],
      ['validatingwebhookconfigurations.admissionregistration.k8s.io', '[]', '[mesh-cert-webhook]', '[get patch]'],
    ];
    expect((await extra('default')).sort()).toEqual(clusterWide);
    // in its namespace also: its certificate Secret and its Lease by name, and creating a Lease
    expect((await extra('mesh-cert-system')).sort()).toEqual(
      [
        ...clusterWide,
        ['leases.coordination.k8s.io', '[]', '[]', '[create]'],
        ['leases.coordination.k8s.io', '[]', '[mesh-cert-webhook-leader]', '[get update]'],
        ['secrets', '[]', '[mesh-cert-webhook-certs]', '[get update]'],
      ].sort(),
    );
    for (const denied of [
      ['get', 'certificaterotations.certificates.mesh.gloo.solo.io'],
      ['list', 'secrets'],
      ['list', 'issuedcertificates.certificates.mesh.gloo.solo.io'],
      ['create', 'secrets', '-n', 'mesh-cert-system'],
      ['get', 'secrets/other', '-n', 'mesh-cert-system'],
      ['patch', 'validatingwebhookconfigurations/someone-elses'],
      ['update', 'leases/other', '-n', 'mesh-cert-system'],
    ]) {
      expect((await kubectl(identity.kubeconfigPath, ['auth', 'can-i', ...denied])).stdout.trim()).toBe('no');
    }
  });

  it('starts with that kubeconfig, syncs its CertificateRotation cache and admits and denies through kube-apiserver', async () => {
    const w = await startWebhook(identity.kubeconfigPath);
    await eventually('/readyz 200 (CertificateRotation cache synced)', async () => (await readyz(w)) === 200, 20_000);
    await register(w.url);

    // a valid IssuedCertificate is admitted; its deprecated spec.org is mapped by the mutating webhook
    const ic = {
      apiVersion: 'certificates.mesh.gloo.solo.io/v1',
      kind: 'IssuedCertificate',
      metadata: { name: 'istiod-ca', namespace: 'istio-system' },
      spec: {
        hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod'],
        org: 'acme',
        issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
      },
    };
    const created = await k(['create', '-f', '-'], JSON.stringify(ic));
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/Warning: .*spec\.org/);
    const stored = JSON.parse(await ok(['get', 'issuedcertificate', 'istiod-ca', '-n', 'istio-system', '-o', 'json']));
    expect(stored.spec.certOptions.orgName).toBe('acme');

    // illegal status moves: PENDING -> FINISHED of an IssuedCertificate (the CRD's CEL transition
    // rule answers first, then the webhook would); a CertificateRequest FINISHED with a
    // certificate that does not chain to its signingRootCa (only the webhook can tell)
    const move = await k([
      'patch',
      'issuedcertificate',
      'istiod-ca',
      '-n',
      'istio-system',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"state":"FINISHED"}}',
    ]);
    expect(move.code).not.toBe(0);
    expect(move.stderr).toContain('IssuedCertificate cannot move status.state from PENDING to FINISHED');
    const { privateKeyPem } = await generateRsaKey(2048);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await ok(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'CertificateRequest',
        metadata: { name: 'istiod-ca', namespace: 'istio-system' },
        spec: {
          certificateSigningRequest: b64(
            createCsr({ privateKeyPem, subject: { O: 'acme', CN: 'istiod-ca' }, hosts: [] }),
          ),
        },
      }),
    );
    const selfSigned = createRootCa({ privateKeyPem, subject: { CN: 'not signed by the root' }, ttlDays: 1 });
    const otherRoot = createRootCa({
      privateKeyPem: (await generateRsaKey(2048)).privateKeyPem,
      subject: { CN: 'some root' },
      ttlDays: 1,
    });
    const finish = await k([
      'patch',
      'certificaterequest',
      'istiod-ca',
      '-n',
      'istio-system',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          state: 'FINISHED',
          observedGeneration: 1,
          signedCertificate: b64(selfSigned),
          signingRootCa: b64(otherRoot),
        },
      }),
    ]);
    expect(finish.code).not.toBe(0);
    // the webhook's denial reads like the API server's own (422 Invalid); no CEL rule verifies chains
    expect(finish.stderr).toContain(
      'The CertificateRequest "istiod-ca" is invalid: status.signedCertificate: Invalid value: does not chain to status.signingRootCa',
    );

    // the one-active-rotation rule reads the cache the watch keeps: a second active rotation of
    // the same VirtualMesh, created after the first, is refused
    await ok(['create', '-f', '-'], JSON.stringify(rotation('rotate-1', 'vm')));
    const second = await eventually(
      'the second rotation refused',
      async () => {
        const r = await k(['create', '-f', '-'], JSON.stringify(rotation('rotate-2', 'vm')));
        if (r.code === 0) {
          // admitted before the watch delivered rotate-1: remove it and try again
          await ok(['delete', 'certificaterotation', 'rotate-2', '-n', 'gloo-mesh']);
          return undefined;
        }
        return r;
      },
      10_000,
    );
    expect(second.stderr).toContain(
      'VirtualMesh gloo-mesh/vm already has an active CertificateRotation gloo-mesh/rotate-1',
    );
    // another VirtualMesh is not affected
    await ok(['create', '-f', '-'], JSON.stringify(rotation('rotate-other', 'vm-other')));
    // once rotate-1 is gone (a delete arrives through the watch), a new one is admitted
    await ok(['delete', 'certificaterotation', 'rotate-1', '-n', 'gloo-mesh']);
    await eventually(
      'rotate-2 admitted after rotate-1 was deleted',
      async () => (await k(['create', '-f', '-'], JSON.stringify(rotation('rotate-2', 'vm')))).code === 0,
      10_000,
    );
    // nothing it asked the API server for was refused (denials of reviews are logged at info)
    expect(
      w
        .output()
        .split('\n')
        .filter((l) => /"level":"(warn|error|fatal)"/.test(l) && /forbidden/i.test(l)),
    ).toEqual([]);
    await w.stop();
  });

  it("kube-apiserver's audit log: the webhook only listed and watched CertificateRotations and CertificateRequests, each request allowed", async () => {
    const reqs = (await auditedRequests(kube!.clusters.get('mgmt')!.apiserverLog, SA_USER)).filter(
      (r) => r.resource && !r.userAgent.startsWith('kubectl'),
    );
    // client-node's user agent (the tests' own kubectl auth calls as this identity are left out)
    expect(reqs.length).toBeGreaterThan(0);
    const seen = [
      ...new Set(
        reqs.map(
          (r) => `${r.decision} ${r.verb} ${r.resource}.${r.apiGroup}${r.namespace ? ` -n ${r.namespace}` : ''}`,
        ),
      ),
    ].sort();
    expect(seen).toEqual([
      'allow list certificaterequests.certificates.mesh.gloo.solo.io',
      'allow list certificaterotations.certificates.mesh.gloo.solo.io',
      'allow watch certificaterequests.certificates.mesh.gloo.solo.io',
      'allow watch certificaterotations.certificates.mesh.gloo.solo.io',
    ]);
  });

  it('without the ClusterRoleBinding it is never ready, says why, and refuses CertificateRotation writes it cannot judge; restored, it recovers', async () => {
    const binding = await ok(['get', 'clusterrolebinding', 'mesh-cert-webhook', '-o', 'json']);
    await ok(['delete', 'clusterrolebinding', 'mesh-cert-webhook']);
    await eventually(
      'RBAC sees the binding gone',
      async () =>
        (
          await kubectl(identity.kubeconfigPath, [
            'auth',
            'can-i',
            'list',
            'certificaterotations.certificates.mesh.gloo.solo.io',
          ])
        ).stdout.trim() === 'no',
    );
    const w = await startWebhook(identity.kubeconfigPath);
    await register(w.url);
    await eventually(
      'the failed list logged',
      async () => /CertificateRotation list\/watch on \S+ failed/.test(w.output()),
      10_000,
    );
    // the log names the refused verb and resource, with the API server's whole message
    expect(w.output()).toMatch(
      /CertificateRotation list\/watch on \S+ failed \(list: 403 Forbidden: [^)]*cannot list resource \\"certificaterotations\\"/,
    );
    expect(await readyz(w)).not.toBe(200);
    const r = await k(['create', '-f', '-'], JSON.stringify(rotation('rotate-3', 'vm-3')));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the webhook has not finished listing CertificateRotations yet');
    // rbac.yaml's binding back: the informer's retry (backoff up to 30 s) lists and the webhook becomes ready
    const b = JSON.parse(binding);
    await applyObjects(kc, 'mgmt', [
      {
        apiVersion: b.apiVersion,
        kind: b.kind,
        metadata: { name: b.metadata.name, labels: b.metadata.labels },
        roleRef: b.roleRef,
        subjects: b.subjects,
      },
    ]);
    await eventually('/readyz 200 after the binding is back', async () => (await readyz(w)) === 200, 40_000, 250);
    await eventually(
      'rotate-3 admitted',
      async () => (await k(['create', '-f', '-'], JSON.stringify(rotation('rotate-3', 'vm-3')))).code === 0,
      10_000,
    );
    await w.stop();
  }, 90_000);

  it('with list but not watch, the cache lists, logs the refused watch, keeps retrying and is not ready', async () => {
    const role = JSON.parse(await ok(['get', 'clusterrole', 'mesh-cert-webhook', '-o', 'json']));
    await ok([
      'patch',
      'clusterrole',
      'mesh-cert-webhook',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/rules/0/verbs', value: ['list'] }]),
    ]);
    try {
      await eventually(
        'RBAC sees watch gone',
        async () =>
          (
            await kubectl(identity.kubeconfigPath, [
              'auth',
              'can-i',
              'watch',
              'certificaterotations.certificates.mesh.gloo.solo.io',
            ])
          ).stdout.trim() === 'no',
      );
      const w = await startWebhook(identity.kubeconfigPath);
      await eventually(
        'the refused watch logged',
        async () =>
          /CertificateRotation list\/watch on \S+ failed \(watch: 403 Forbidden: [^)]*cannot watch resource \\"certificaterotations\\"/.test(
            w.output(),
          ),
        15_000,
      );
      // a list alone goes stale unseen: without a watch the webhook is not ready
      expect(await readyz(w)).not.toBe(200);
      await w.stop();
    } finally {
      await ok([
        'patch',
        'clusterrole',
        'mesh-cert-webhook',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'replace', path: '/rules/0/verbs', value: role.rules[0].verbs }]),
      ]);
    }
  }, 60_000);
});
