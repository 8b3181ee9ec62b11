// `kubectl apply -k manifests/` whole, as a user installs mesh-cert, on a real kube-apiserver
// (test/kube) that starts without our CRDs: the CRDs pass the real structural-schema and CEL
// cost checks and become Established, the webhook's namespace, RBAC, Service, Deployment, PDB and
// both webhook configurations are accepted. No kubelet runs, so the webhook's pods stay Pending;
// the validating webhook ships with failurePolicy Ignore (the webhook arms it, Fail, once it
// serves with its injected CA: webhook-self-tls.test.ts), so writes of our kinds pass meanwhile
// instead of failing for want of a webhook.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { Kube } from '../kube/index.js';
import { eventually, kubectl, kubectlOk, startTimed } from './helpers.js';

let kube: Kube | undefined;
let kc: string;
const k = (args: string[], input?: string) => kubectl(kc, args, { input });
const ok = (args: string[], input?: string) => kubectlOk(kc, args, { input });

/** What `kubectl kustomize manifests/` renders: kind/name/namespace of each object. */
let rendered: { kind: string; apiVersion: string; name: string; namespace?: string }[] = [];

beforeAll(async () => {
  ({ kube } = await startTimed({ clusters: ['mgmt'], crds: false }));
  kc = kube.kubeconfigPath;
  const docs = parseAllDocuments(await ok(['kustomize', 'manifests/'])).map((d) => d.toJS());
  rendered = docs.map((o: any) => ({
    kind: o.kind,
    apiVersion: o.apiVersion,
    name: o.metadata.name,
    namespace: o.metadata.namespace,
  }));
}, 180_000);

afterAll(async () => {
  await kube?.stop();
});

const line = (o: { kind: string; apiVersion: string; name: string }) => {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.name}`;
};

describe('kubectl apply -k manifests/ on a real control plane', () => {
  it('renders every part of the install', () => {
    expect(rendered.map((o) => `${o.kind}/${o.name}`).sort()).toEqual([
      'ClusterRole/mesh-cert-webhook',
      'ClusterRoleBinding/mesh-cert-webhook',
      'CustomResourceDefinition/certificaterequests.certificates.mesh.gloo.solo.io',
      'CustomResourceDefinition/certificaterotations.certificates.mesh.gloo.solo.io',
      'CustomResourceDefinition/issuedcertificates.certificates.mesh.gloo.solo.io',
      'CustomResourceDefinition/podbouncedirectives.certificates.mesh.gloo.solo.io',
      'CustomResourceDefinition/virtualmeshcertificatesigningrequests.security.zephyr.solo.io',
      'Deployment/mesh-cert-webhook',
      'MutatingWebhookConfiguration/mesh-cert-webhook',
      'Namespace/mesh-cert-system',
      'NetworkPolicy/mesh-cert-webhook',
      'PodDisruptionBudget/mesh-cert-webhook',
      'Role/mesh-cert-webhook',
      'RoleBinding/mesh-cert-webhook',
      'Secret/mesh-cert-webhook-certs',
      'Service/mesh-cert-webhook',
      'ServiceAccount/mesh-cert-webhook',
      'ValidatingWebhookConfiguration/mesh-cert-webhook',
    ]);
  });

  it('--dry-run=server on an empty cluster: every cluster-scoped object is accepted; namespaced ones wait for the namespace', async () => {
    // A server-side dry run creates nothing, so the objects inside mesh-cert-system are answered
    // NotFound for their namespace: kube-apiserver's behaviour, not a fault of the manifests.
    const r = await k(['apply', '-k', 'manifests/', '--dry-run=server']);
    const namespaced = rendered.filter((o) => o.namespace);
    for (const o of rendered.filter((x) => !x.namespace))
      expect(r.stdout).toContain(`${line(o)} created (server dry run)`);
    const errors = r.stderr.trim().split('\n').filter(Boolean);
    expect(errors).toHaveLength(namespaced.length);
    for (const e of errors)
      expect(e).toBe(
        'Error from server (NotFound): error when creating "manifests/": namespaces "mesh-cert-system" not found',
      );
    // nothing was written
    expect((await k(['get', 'namespace', 'mesh-cert-system'])).code).not.toBe(0);
    expect((await ok(['get', 'crd', '-o', 'name'])).trim()).toBe('');
  });

  it('applies whole: every object created, no warning', async () => {
    const r = await k(['apply', '-k', 'manifests/']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    for (const o of rendered) expect(r.stdout).toContain(`${line(o)} created`);
    expect(r.stdout.trim().split('\n')).toHaveLength(rendered.length);
  });

  it('the CRDs are structural, within the CEL cost budget, and Established', async () => {
    const crds = rendered.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.name);
    await ok(['wait', '--for=condition=Established', '--timeout=30s', ...crds.map((n) => `crd/${n}`)]);
    let celRules = 0;
    for (const name of crds) {
      const crd = JSON.parse(await ok(['get', 'crd', name, '-o', 'json']));
      const cond = Object.fromEntries(
        (crd.status.conditions as { type: string; status: string }[]).map((c) => [c.type, c.status]),
      );
      expect(cond, name).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
      expect(cond.NonStructuralSchema, name).toBeUndefined();
      celRules += (JSON.stringify(crd.spec).match(/"x-kubernetes-validations"/g) ?? []).length;
    }
    // the CEL rules were there to be costed (an over-budget rule is refused at create)
    expect(celRules).toBeGreaterThan(0);
    // and the API serves each kind
    const resources = await ok(['api-resources', '--api-group=certificates.mesh.gloo.solo.io', '-o', 'name']);
    expect(resources.trim().split('\n').sort()).toEqual([
      'certificaterequests.certificates.mesh.gloo.solo.io',
      'certificaterotations.certificates.mesh.gloo.solo.io',
      'issuedcertificates.certificates.mesh.gloo.solo.io',
      'podbouncedirectives.certificates.mesh.gloo.solo.io',
    ]);
  });

  it('namespace, RBAC, Service, Deployment, PDB and webhook configurations exist as written', async () => {
    const ns = JSON.parse(await ok(['get', 'namespace', 'mesh-cert-system', '-o', 'json']));
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of rendered.filter((x) => x.kind !== 'CustomResourceDefinition')) {
      const args = [
        'get',
        `${o.kind.toLowerCase()}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''),
        o.name,
        '-o',
        'name',
      ];
      expect((await k(o.namespace ? [...args, '-n', o.namespace] : args)).code, `${o.kind}/${o.name}`).toBe(0);
    }
    const vwc = JSON.parse(await ok(['get', 'validatingwebhookconfiguration', 'mesh-cert-webhook', '-o', 'json']));
    expect(vwc.webhooks.map((w: any) => [w.name, w.failurePolicy, w.clientConfig.service])).toEqual([
      [
        'validate.mesh-cert.io',
        'Ignore',
        { name: 'mesh-cert-webhook', namespace: 'mesh-cert-system', path: '/validate', port: 443 },
      ],
    ]);
    const mwc = JSON.parse(await ok(['get', 'mutatingwebhookconfiguration', 'mesh-cert-webhook', '-o', 'json']));
    expect(mwc.webhooks.map((w: any) => [w.name, w.failurePolicy])).toEqual([['mutate.mesh-cert.io', 'Ignore']]);
    // the Service got a cluster IP; the ServiceAccount is bound to the ClusterRole
    const svc = JSON.parse(await ok(['get', 'service', 'mesh-cert-webhook', '-n', 'mesh-cert-system', '-o', 'json']));
    expect(svc.spec.clusterIP).toMatch(/^10\.0\.0\.\d+$/);
    const can = async (...args: string[]) =>
      (
        await k(['auth', 'can-i', ...args, '--as', 'system:serviceaccount:mesh-cert-system:mesh-cert-webhook'])
      ).stdout.trim();
    expect(await can('watch', 'certificaterotations.certificates.mesh.gloo.solo.io')).toBe('yes');
    expect(await can('update', 'secrets/mesh-cert-webhook-certs', '-n', 'mesh-cert-system')).toBe('yes');
    expect(await can('patch', 'validatingwebhookconfigurations/mesh-cert-webhook')).toBe('yes');
    // the certificate Secret is shipped empty, for the webhook to fill
    const secret = JSON.parse(
      await ok(['get', 'secret', 'mesh-cert-webhook-certs', '-n', 'mesh-cert-system', '-o', 'json']),
    );
    expect([secret.type, secret.data]).toEqual(['Opaque', undefined]);
  });

  it("the Deployment's pods pass the namespace's restricted Pod Security admission (they stay Pending: no kubelet)", async () => {
    // The ReplicaSet controller (kube-controller-manager) creates the pods; a pod template that
    // broke the `restricted` profile would be refused here (FailedCreate), not at run time.
    const pods = await eventually(
      '3 webhook pods created',
      async () => {
        const list = JSON.parse(
          await ok([
            'get',
            'pods',
            '-n',
            'mesh-cert-system',
            '-l',
            'app.kubernetes.io/name=mesh-cert-webhook',
            '-o',
            'json',
          ]),
        );
        return list.items.length === 3 ? list.items : undefined;
      },
      30_000,
    );
    for (const p of pods) expect(p.status.phase).toBe('Pending');
    const events = await ok(['get', 'events', '-n', 'mesh-cert-system', '-o', 'json']);
    expect(JSON.parse(events).items.filter((e: any) => e.reason === 'FailedCreate')).toEqual([]);
    const deploy = JSON.parse(
      await ok(['get', 'deployment', 'mesh-cert-webhook', '-n', 'mesh-cert-system', '-o', 'json']),
    );
    expect(deploy.status.replicas).toBe(3);
    expect(deploy.status.readyReplicas ?? 0).toBe(0);
  });

  it('--dry-run=server of the whole kustomization once installed: exit 0', async () => {
    const r = await k(['apply', '-k', 'manifests/', '--dry-run=server']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(rendered.length);
  });

  it('applying again changes nothing', async () => {
    const before = JSON.parse(
      await ok(['get', 'poddisruptionbudget', 'mesh-cert-webhook', '-n', 'mesh-cert-system', '-o', 'json']),
    );
    const r = await k(['apply', '-k', 'manifests/']);
    expect(r.code, r.stderr).toBe(0);
    const changed = r.stdout
      .trim()
      .split('\n')
      .filter((l) => !l.endsWith(' unchanged'));
    // kubectl's client-side apply always re-sends a PodDisruptionBudget's selector (its patch
    // strategy is "replace") and so says "configured"; the object itself does not change.
    expect(changed.filter((l) => l !== 'poddisruptionbudget.policy/mesh-cert-webhook configured')).toEqual([]);
    const after = JSON.parse(
      await ok(['get', 'poddisruptionbudget', 'mesh-cert-webhook', '-n', 'mesh-cert-system', '-o', 'json']),
    );
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it('with no webhook running, writes of our kinds pass: the validating webhook is not armed until the webhook serves', async () => {
    await ok(['create', 'namespace', 'istio-system']);
    const ic = {
      apiVersion: 'certificates.mesh.gloo.solo.io/v1',
      kind: 'IssuedCertificate',
      metadata: { name: 'istiod-ca', namespace: 'istio-system' },
      spec: { hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod'] },
    };
    const r = await k(['apply', '-f', '-'], JSON.stringify(ic));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('issuedcertificate.certificates.mesh.gloo.solo.io/istiod-ca created');
    await ok(['get', 'issuedcertificate', 'istiod-ca', '-n', 'istio-system']);
  });

  it('re-applying keeps what the webhook wrote into its Secret and webhook configurations', async () => {
    // what the webhook's leader does once it runs (here by hand: no kubelet runs its pods)
    const data = { 'ca.crt': Buffer.from('a CA').toString('base64') };
    await ok([
      'patch',
      'secret',
      'mesh-cert-webhook-certs',
      '-n',
      'mesh-cert-system',
      '--type=merge',
      '-p',
      JSON.stringify({ data }),
    ]);
    await ok([
      'patch',
      'validatingwebhookconfiguration',
      'mesh-cert-webhook',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: data['ca.crt'] }]),
    ]);
    const r = await k(['apply', '-k', 'manifests/']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      JSON.parse(await ok(['get', 'secret', 'mesh-cert-webhook-certs', '-n', 'mesh-cert-system', '-o', 'json'])).data,
    ).toEqual(data);
    expect(
      JSON.parse(await ok(['get', 'validatingwebhookconfiguration', 'mesh-cert-webhook', '-o', 'json'])).webhooks[0]
        .clientConfig.caBundle,
    ).toBe(data['ca.crt']);
  });
});
