// The Helm chart (manifests/helm/mesh-cert) with the real helm (test/helm: helm.sh/helm/v4):
// lint; for the default values it renders the objects `kubectl kustomize manifests/` renders
// (the one source of truth: the CRDs are copies of manifests/crds, the webhook templates are
// checked here); its values; install and upgrade on a real control plane (test/kube).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findHelm } from '../helm/ensure.js';
import { startKube, type Kube } from '../kube/index.js';
import { staleCrds } from '../../plugin/release/chart.mjs';
import { cleanup, REPO, run, tmp } from './helpers.js';

type Obj = any;
const CHART = join(REPO, 'manifests', 'helm', 'mesh-cert');
const NS = 'mesh-cert-system';
const helm = findHelm();

const docs = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
const key = (o: Obj): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const render = (...args: string[]): Obj[] =>
  docs(run(helm, ['template', 'mesh-cert', CHART, '-n', NS, ...args]).stdout);
const kustomize = (): Obj[] =>
  docs(execFileSync('/usr/bin/kubectl', ['kustomize', join(REPO, 'manifests')]).toString());
const find = (objs: Obj[], kind: string): Obj => objs.find((o) => o.kind === kind);

/** Helm-only metadata the comparison ignores: the CRDs' keep annotation (crds.keep). */
function withoutHelmOnly(o: Obj): Obj {
  const c = structuredClone(o);
  if (c.kind === 'CustomResourceDefinition' && c.metadata.annotations) {
    delete c.metadata.annotations['helm.sh/resource-policy'];
    if (!Object.keys(c.metadata.annotations).length) delete c.metadata.annotations;
  }
  return c;
}

/** Objects of `a` and `b` that differ or are missing on one side, as lines. */
function differences(a: Obj[], b: Obj[]): string[] {
  const bm = new Map(b.map((o) => [key(o), o]));
  const out: string[] = [];
  for (const o of a) {
    const other = bm.get(key(o));
    if (!other) out.push(`${key(o)}: kustomize only`);
    else if (!isDeepStrictEqual(o, other))
      out.push(`${key(o)}: differs\n  kustomize: ${JSON.stringify(o)}\n  helm:      ${JSON.stringify(other)}`);
    bm.delete(key(o));
  }
  for (const k of bm.keys()) out.push(`${k}: helm only`);
  return out;
}

describe('the Helm chart', () => {
  it('helm lint --strict passes', () => {
    const r = run(helm, ['lint', '--strict', CHART]);
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it("holds manifests/crds' CRDs as they are (node plugin/release/chart.mjs copies them)", () => {
    expect(staleCrds()).toEqual([]);
  });

  it('renders, for the default values, the objects kustomize renders from manifests/', () => {
    const k = kustomize();
    // the release namespace is helm's (--create-namespace) unless namespace.create
    expect(
      differences(
        k.filter((o) => o.kind !== 'Namespace'),
        render().map(withoutHelmOnly),
      ),
    ).toEqual([]);
    expect(differences(k, render('--set', 'namespace.create=true').map(withoutHelmOnly))).toEqual([]);
    // and the CRDs are kept on uninstall
    for (const crd of render().filter((o) => o.kind === 'CustomResourceDefinition'))
      expect(crd.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
  });

  it('sets replicas, resources, image, TLS and client CA from values', () => {
    const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    const objs = render(
      '--set',
      'replicas=2',
      '--set',
      'networkPolicy.enabled=false',
      '--set',
      'resources.requests.cpu=100m',
      '--set',
      'resources.limits.memory=512Mi',
      '--set',
      'image.repository=registry.example/mc',
      '--set',
      'image.tag=9.9.9',
      '--set',
      'tls.mode=manual',
      '--set',
      'tls.secretName=my-tls',
      '--set',
      `tls.caBundle=${caBundle}`,
      '--set-string',
      'clientCA.pem=-----BEGIN CERTIFICATE-----',
      '--set',
      'crds.install=false',
      '--set',
      'logLevel=debug',
    );
    const d = find(objs, 'Deployment');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.replicas).toBe(2);
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '160Mi' }, limits: { memory: '512Mi' } });
    expect(c.image).toBe('registry.example/mc:9.9.9');
    expect(c.args).toContain('--client-ca-file=/etc/mesh-cert-webhook/client-ca/ca.crt');
    expect(c.args).toContain('--log-level=debug');
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'my-tls' } });
    expect(pod.volumes).toContainEqual({ name: 'client-ca', configMap: { name: 'mesh-cert-webhook-client-ca' } });
    expect(find(objs, 'ConfigMap').data).toEqual({ 'ca.crt': '-----BEGIN CERTIFICATE-----' });
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])
      expect(find(objs, kind).webhooks[0].clientConfig.caBundle).toBe(caBundle);
    expect(objs.filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
    expect(objs.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    expect(c.args).toEqual(expect.arrayContaining(['--max-connections=512', '--max-in-flight=256']));
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(find(render('--set', `image.digest=${digest}`), 'Deployment').spec.template.spec.containers[0].image).toBe(
      `ghcr.io/mesh-cert/mesh-cert-webhook@${digest}`,
    );
    const existing = find(
      render('--set', 'clientCA.configMap=apiserver-ca', '--set', 'clientCA.key=ca.pem'),
      'Deployment',
    ).spec.template.spec;
    expect(existing.volumes).toContainEqual({ name: 'client-ca', configMap: { name: 'apiserver-ca' } });
    expect(existing.containers[0].args).toContain('--client-ca-file=/etc/mesh-cert-webhook/client-ca/ca.pem');
  });

  it('tls.mode: self by default (no volume, the empty Secret, its Role), certManager (Certificates, CA injection, files), manual (files, caBundle)', () => {
    const args = (objs: Obj[]): string[] => find(objs, 'Deployment').spec.template.spec.containers[0].args;
    const arming = [
      '--validating-webhook-configuration=mesh-cert-webhook',
      '--mutating-webhook-configuration=mesh-cert-webhook',
      '--leader-election-lease=mesh-cert-webhook-leader',
    ];
    const self = render('--set', 'tls.self.caLifetime=8760h', '--set', 'tls.self.servingCertLifetime=720h');
    expect(args(self)).toEqual(
      expect.arrayContaining([
        '--tls-mode=self',
        '--tls-secret=mesh-cert-webhook-certs',
        '--ca-lifetime=8760h',
        '--serving-cert-lifetime=720h',
        ...arming,
      ]),
    );
    expect(find(self, 'Deployment').spec.template.spec.volumes).toBeUndefined();
    expect(find(self, 'Secret')).toMatchObject({
      type: 'Opaque',
      metadata: { name: 'mesh-cert-webhook-certs', namespace: NS },
    });
    expect(find(self, 'Role').rules[0]).toEqual({
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: ['mesh-cert-webhook-certs'],
      verbs: ['get', 'update'],
    });

    const cm = render('--set', 'tls.mode=certManager', '--set', 'crds.install=false');
    expect(args(cm)).toEqual(
      expect.arrayContaining(['--tls-mode=files', '--tls-cert-file=/etc/mesh-cert-webhook/tls/tls.crt', ...arming]),
    );
    expect(find(cm, 'Deployment').spec.template.spec.volumes).toEqual([
      { name: 'tls', secret: { secretName: 'mesh-cert-webhook-tls' } },
    ]);
    expect(cm.filter((o) => o.kind === 'Secret')).toEqual([]);
    // no Secret rule: cert-manager writes the Secret; the Lease rules stay (the leader arms)
    expect(find(cm, 'Role').rules.map((r: Obj) => r.resources[0])).toEqual(['leases', 'leases']);
    const certs = cm.filter((o) => o.kind === 'Certificate');
    expect(certs.map((c) => c.metadata.name).sort()).toEqual(['mesh-cert-webhook-ca', 'mesh-cert-webhook-tls']);
    const serving = certs.find((c) => c.metadata.name === 'mesh-cert-webhook-tls');
    expect(serving.spec).toMatchObject({
      secretName: 'mesh-cert-webhook-tls',
      privateKey: { algorithm: 'ECDSA', size: 256 },
      dnsNames: [`mesh-cert-webhook.${NS}.svc`, `mesh-cert-webhook.${NS}.svc.cluster.local`],
      issuerRef: { name: 'mesh-cert-webhook-ca', kind: 'Issuer' },
    });
    expect(
      cm
        .filter((o) => o.kind === 'Issuer')
        .map((i) => Object.keys(i.spec)[0])
        .sort(),
    ).toEqual(['ca', 'selfSigned']);
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(find(cm, kind).metadata.annotations).toEqual({
        'cert-manager.io/inject-ca-from': `${NS}/mesh-cert-webhook-tls`,
      });
      expect(find(cm, kind).webhooks[0].clientConfig.caBundle).toBeUndefined();
    }
    // an Issuer of yours instead of the chart's CA
    const own = render(
      '--set',
      'tls.mode=certManager',
      '--set',
      'tls.certManager.issuerRef.kind=ClusterIssuer',
      '--set',
      'tls.certManager.issuerRef.name=corp-ca',
      '--set',
      'crds.install=false',
    );
    expect(own.filter((o) => o.kind === 'Issuer')).toEqual([]);
    expect(find(own, 'Certificate').spec.issuerRef).toEqual({ kind: 'ClusterIssuer', name: 'corp-ca' });

    // manual: the caBundle only there
    const manual = render('--set', 'tls.mode=manual', '--set', 'tls.caBundle=QUJD');
    expect(args(manual)).toEqual(expect.arrayContaining(['--tls-mode=files', ...arming]));
    expect(find(manual, 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.caBundle).toBe('QUJD');
    expect(
      find(render('--set', 'tls.caBundle=QUJD'), 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.caBundle,
    ).toBeUndefined();
    // every mode renders the validating webhook Ignore, for the webhook to arm
    for (const objs of [self, cm, manual])
      expect(find(objs, 'ValidatingWebhookConfiguration').webhooks[0].failurePolicy).toBe('Ignore');
  });

  it('refuses an unknown tls.mode, naming the three', () => {
    const r = run(helm, ['template', 'mesh-cert', CHART, '-n', NS, '--set', 'tls.mode=self-signed'], {
      allowFail: true,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("at '/tls/mode': value must be one of 'self', 'certManager', 'manual'");
  });

  describe('on a real control plane', () => {
    let kube: Kube;
    let dir: string;
    const ctx = 'c1';
    const k = (...args: string[]): string =>
      run('kubectl', ['--kubeconfig', kube.kubeconfigPath, '--context', ctx, ...args]).stdout;
    const h = (...args: string[]): string =>
      run(helm, [...args, '--kubeconfig', kube.kubeconfigPath, '--kube-context', ctx], {
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(dir, 'cache'),
          HELM_CONFIG_HOME: join(dir, 'config'),
          HELM_DATA_HOME: join(dir, 'data'),
        },
      }).stdout;

    beforeAll(async () => {
      dir = tmp('helm');
      // no CRDs: the chart installs them
      kube = await startKube({ clusters: [ctx], crds: false });
    }, 180_000);
    afterAll(async () => {
      await kube?.stop();
      cleanup(dir);
    });

    it('installs, upgrades (keeping what the webhook wrote: its Secret, the caBundle) and uninstalls, keeping the CRDs', () => {
      h('install', 'mesh-cert', CHART, '-n', NS, '--create-namespace');
      expect(h('status', 'mesh-cert', '-n', NS)).toMatch(/STATUS: deployed/);
      const crds = k('get', 'crds', '-o', 'name').split('\n').filter(Boolean).sort();
      expect(crds).toHaveLength(5);
      for (const name of crds) k('wait', '--for=condition=Established', '--timeout=60s', name);
      const deploy = JSON.parse(k('get', 'deployment', 'mesh-cert-webhook', '-n', NS, '-o', 'json')) as Obj;
      expect(deploy.spec.replicas).toBe(3);
      expect(deploy.spec.template.spec.containers[0].image).toBe('ghcr.io/mesh-cert/mesh-cert-webhook:0.1.0');
      for (const kind of ['service', 'serviceaccount', 'poddisruptionbudget'])
        k('get', kind, 'mesh-cert-webhook', '-n', NS);
      for (const kind of [
        'validatingwebhookconfiguration',
        'mutatingwebhookconfiguration',
        'clusterrole',
        'clusterrolebinding',
      ])
        k('get', kind, 'mesh-cert-webhook');

      // what the webhook's leader writes once it runs (tls.mode self; no kubelet runs it here)
      const ca = Buffer.from('a CA').toString('base64');
      k(
        'patch',
        'validatingwebhookconfiguration',
        'mesh-cert-webhook',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: ca }]),
      );
      k(
        'patch',
        'secret',
        'mesh-cert-webhook-certs',
        '-n',
        NS,
        '--type=merge',
        '-p',
        JSON.stringify({ data: { 'ca.crt': ca } }),
      );
      writeFileSync(
        join(dir, 'values.yaml'),
        'replicas: 2\nimage:\n  tag: 0.1.1\nresources:\n  limits:\n    memory: 300Mi\n',
      );
      h('upgrade', 'mesh-cert', CHART, '-n', NS, '-f', join(dir, 'values.yaml'));
      expect(h('history', 'mesh-cert', '-n', NS)).toMatch(/\n2\s.*deployed/);
      const after = JSON.parse(k('get', 'deployment', 'mesh-cert-webhook', '-n', NS, '-o', 'json')) as Obj;
      expect(after.spec.replicas).toBe(2);
      expect(after.spec.template.spec.containers[0].image).toBe('ghcr.io/mesh-cert/mesh-cert-webhook:0.1.1');
      expect(after.spec.template.spec.containers[0].resources.limits.memory).toBe('300Mi');
      expect(
        JSON.parse(k('get', 'validatingwebhookconfiguration', 'mesh-cert-webhook', '-o', 'json')).webhooks[0]
          .clientConfig.caBundle,
      ).toBe(ca);
      expect(JSON.parse(k('get', 'secret', 'mesh-cert-webhook-certs', '-n', NS, '-o', 'json')).data).toEqual({
        'ca.crt': ca,
      });

      // the plugin reads the chart's CRDs as its own and finds the webhook not running (no kubelet here)
      const v = JSON.parse(
        run(join(REPO, 'plugin/bin/kubectl-mesh_cert'), [
          'version',
          '--kubeconfig',
          kube.kubeconfigPath,
          '--context',
          ctx,
          '-o',
          'json',
        ]).stdout,
      ) as Obj;
      expect(v.server.crds.map((c: Obj) => c.match)).toEqual(Array(5).fill('identical'));
      // the controller-manager made the pods; nothing schedules them here, so none answers
      expect(v.server.webhook).toMatchObject({
        namespace: NS,
        images: ['ghcr.io/mesh-cert/mesh-cert-webhook:0.1.1'],
        versions: [],
      });
      expect(v.server.webhook.pods.length).toBeGreaterThan(0);
      for (const p of v.server.webhook.pods) expect(p).toMatchObject({ phase: 'Pending', error: 'pod is Pending' });
      const text = run(join(REPO, 'plugin/bin/kubectl-mesh_cert'), [
        'version',
        '--kubeconfig',
        kube.kubeconfigPath,
        '--context',
        ctx,
      ]).stdout;
      expect(text).toMatch(/^Webhook: unknown \(0 of \d+ pods answered; mesh-cert-webhook-\S+: pod is Pending/m);
      expect(text).toMatch(
        /^ {2}issuedcertificates\.certificates\.mesh\.gloo\.solo\.io: v1 schema [0-9a-f]{12} \(same schema as this client\)$/m,
      );

      h('uninstall', 'mesh-cert', '-n', NS);
      expect(k('get', 'deployments', '-n', NS, '-o', 'name')).toBe('');
      expect(k('get', 'crds', '-o', 'name').split('\n').filter(Boolean)).toHaveLength(5);
    }, 240_000);
  });
});
