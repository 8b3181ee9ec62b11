// manifests/ as `kubectl apply -k manifests/` would see it, rendered by the real kubectl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KINDS } from '#schemas/src/index.js';
import { GEN_CERTS, REPO } from './helpers.js';

type Doc = any;
const docs: Doc[] = parseAllDocuments(
  execFileSync('/usr/bin/kubectl', ['kustomize', join(REPO, 'manifests')]).toString(),
).map((d) => d.toJS());
const find = (kind: string, name?: string): Doc =>
  docs.find((d) => d.kind === kind && (!name || d.metadata.name === name));

describe('manifests/', () => {
  it('renders the five CRDs and the webhook', () => {
    const crds = docs
      .filter((d) => d.kind === 'CustomResourceDefinition')
      .map((d) => d.metadata.name)
      .sort();
    expect(crds).toEqual(KINDS.map((k) => `${k.plural}.${k.group}`).sort());
    for (const kind of [
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'Secret',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ]) {
      expect(find(kind), kind).toBeDefined();
    }
  });

  it('routes every plural and its /status of both groups through both webhooks', () => {
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const hooks = find(kind).webhooks as Doc[];
      expect(hooks.length).toBeGreaterThan(0);
      for (const w of hooks) {
        expect(w.sideEffects).toBe('None');
        expect(w.admissionReviewVersions).toEqual(['v1']);
        expect(w.timeoutSeconds).toBeLessThanOrEqual(10);
        expect(w.clientConfig.service).toMatchObject({ name: 'mesh-cert-webhook', namespace: 'mesh-cert-system' });
        expect(w.namespaceSelector.matchExpressions).toContainEqual({
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['mesh-cert-system'],
        });
        for (const k of KINDS) {
          const rules = (w.rules as Doc[]).filter(
            (r) => r.apiGroups.includes(k.group) && r.apiVersions.includes(k.version),
          );
          const resources = rules.flatMap((r) => r.resources as string[]);
          expect(resources, `${kind} ${k.plural}`).toContain(k.plural);
          expect(resources, `${kind} ${k.plural}/status`).toContain(`${k.plural}/status`);
          expect(rules.flatMap((r) => r.operations)).toEqual(expect.arrayContaining(['CREATE', 'UPDATE']));
        }
      }
    }
    // shipped Ignore: the webhook arms it (Fail) once its caBundle is in place and it serves
    expect(find('ValidatingWebhookConfiguration').webhooks.every((w: Doc) => w.failurePolicy === 'Ignore')).toBe(true);
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])
      expect(find(kind).webhooks.every((w: Doc) => w.clientConfig.caBundle === undefined)).toBe(true);
    expect(find('MutatingWebhookConfiguration').webhooks[0].clientConfig.service.path).toBe('/mutate');
    expect(find('ValidatingWebhookConfiguration').webhooks[0].clientConfig.service.path).toBe('/validate');
  });

  it('grants list and watch of CertificateRotations and CertificateRequests, its own webhook configurations, Secret and Lease by name, and nothing else', () => {
    expect(find('ClusterRole', 'mesh-cert-webhook').rules).toEqual([
      {
        apiGroups: ['certificates.mesh.gloo.solo.io'],
        resources: ['certificaterotations', 'certificaterequests'],
        verbs: ['list', 'watch'],
      },
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'],
        resourceNames: ['mesh-cert-webhook'],
        verbs: ['get', 'patch'],
      },
    ]);
    expect(find('Role', 'mesh-cert-webhook').rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['mesh-cert-webhook-certs'], verbs: ['get', 'update'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['mesh-cert-webhook-leader'],
        verbs: ['get', 'update'],
      },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ]);
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      expect(find(kind, 'mesh-cert-webhook').subjects).toEqual([
        { kind: 'ServiceAccount', name: 'mesh-cert-webhook', namespace: 'mesh-cert-system' },
      ]);
    }
    // the names the rules allow are the ones the Deployment passes
    const args = find('Deployment', 'mesh-cert-webhook').spec.template.spec.containers[0].args as string[];
    expect(args).toEqual(
      expect.arrayContaining([
        '--tls-mode=self',
        '--tls-secret=mesh-cert-webhook-certs',
        '--leader-election-lease=mesh-cert-webhook-leader',
        '--validating-webhook-configuration=mesh-cert-webhook',
        '--mutating-webhook-configuration=mesh-cert-webhook',
      ]),
    );
    expect(find('Secret', 'mesh-cert-webhook-certs')).toMatchObject({
      type: 'Opaque',
      metadata: { namespace: 'mesh-cert-system' },
    });
    expect(find('Secret', 'mesh-cert-webhook-certs').data).toBeUndefined();
  });

  it('runs 3 non-root replicas with a read-only root, spread out, probed on the health port, with no volume', () => {
    const d = find('Deployment', 'mesh-cert-webhook');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.replicas).toBe(3);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.affinity.podAntiAffinity).toBeDefined();
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'health' });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'health' });
    expect(c.ports).toContainEqual({ name: 'health', containerPort: 8080, protocol: 'TCP' });
    expect(c.args).toEqual(expect.arrayContaining(['--health-port=8080', '--port=9443', '--bind-address=0.0.0.0']));
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    // --tls-mode self: the certificate comes from the Secret through the API, no volume
    expect(c.volumeMounts).toBeUndefined();
    expect(pod.volumes).toBeUndefined();
    expect(find('PodDisruptionBudget').spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(find('Service').spec.ports[0]).toMatchObject({ port: 443, targetPort: 'https' });
  });
});

describe('manifests/webhook under attack (issue 16)', () => {
  const d = find('Deployment', 'mesh-cert-webhook');
  const c = d.spec.template.spec.containers[0];

  it('requires the apiserver client certificate with components/client-auth: --client-ca-file from the ConfigMap gen-certs.sh makes', () => {
    // off by default: the API server must be configured first to present the certificate
    expect(c.args.some((a: string) => a.startsWith('--client-ca-file'))).toBe(false);
    // an overlay of manifests/ with the component, as a user writes one
    const overlay = mkdtempSync(join(tmpdir(), 'mesh-cert-client-auth-'));
    try {
      const base = relative(overlay, join(REPO, 'manifests'));
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        `resources:\n  - ${base}\ncomponents:\n  - ${base}/components/client-auth\n`,
      );
      const withAuth: Doc[] = parseAllDocuments(
        execFileSync('/usr/bin/kubectl', ['kustomize', overlay]).toString(),
      ).map((x) => x.toJS());
      const dc = withAuth.find((x) => x.kind === 'Deployment').spec.template.spec;
      const mount = dc.containers[0].volumeMounts.find((m: Doc) => m.name === 'client-ca');
      expect(dc.containers[0].args).toContain(`--client-ca-file=${mount.mountPath}/ca.crt`);
      expect(dc.volumes.find((v: Doc) => v.name === 'client-ca').configMap.name).toBe('mesh-cert-webhook-client-ca');
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
    expect(readFileSync(GEN_CERTS, 'utf8')).toContain('client-ca.crt');
  });

  it('sets its limits, and memory from measurement, with the figures beside them', () => {
    expect(c.args).toEqual(expect.arrayContaining(['--max-connections=512', '--max-in-flight=256']));
    expect(c.env).toContainEqual({ name: 'NODE_OPTIONS', value: expect.stringMatching(/--max-old-space-size=\d+/) });
    const heap = Number(/--max-old-space-size=(\d+)/.exec(c.env.find((e: Doc) => e.name === 'NODE_OPTIONS').value)![1]);
    const mib = (q: string): number => Number(/^(\d+)Mi$/.exec(q)![1]);
    expect(mib(c.resources.limits.memory)).toBeGreaterThan(heap + 64);
    expect(mib(c.resources.requests.memory)).toBeLessThan(mib(c.resources.limits.memory));
    const text = readFileSync(join(REPO, 'manifests/webhook/deployment.yaml'), 'utf8');
    expect(text).toMatch(
      /Memory measured with bench\/webhook-attack\.ts[\s\S]*MiB resident at rest[\s\S]*MiB at the peak of the attack suite[\s\S]*memory: \d+Mi/,
    );
  });

  it('admits only the apiserver to 9443 and Prometheus to 8080, and lets the pods reach only the apiserver', () => {
    const np = find('NetworkPolicy', 'mesh-cert-webhook');
    expect(np.metadata.namespace).toBe('mesh-cert-system');
    expect(np.spec.podSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const ports = (np.spec.ingress as Doc[]).map((r) => r.ports.map((p: Doc) => p.port));
    expect(ports).toEqual([[9443], [8080]]);
    expect(np.spec.ingress[0].from.every((f: Doc) => f.ipBlock)).toBe(true);
    expect(np.spec.ingress[1].from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
    // the ports the policy names are the container's
    expect(c.ports.map((p: Doc) => p.containerPort).sort()).toEqual([8080, 9443]);
    expect((np.spec.egress as Doc[]).flatMap((r) => r.ports.map((p: Doc) => p.port)).sort()).toEqual([443, 6443]);
  });
});
