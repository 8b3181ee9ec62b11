// `check` against sandbox clusters with the real admission webhook in the loop.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { buildWebhookServer, type WebhookServer } from '../../webhook/src/server.js';
import { execFileSync } from 'node:child_process';
import { apply, b64, buildPlugin, kubectlMeshCert, privateKeyBlocks, REPO, tempDir } from './helpers.js';
import { cacertsSecret, GLOO, makeIntermediate, makeRoot, namespace, rootSecret } from './fixtures.js';

let sandbox: Sandbox;
let webhook: WebhookServer;
let env: Record<string, string>;
let caPem: string;

interface Line { category: string; cluster: string; name: string; result: 'pass' | 'warn' | 'fail'; message: string; check?: string; hint?: string }

function webhookConfigs(url: string, caBundlePem: string | undefined): object[] {
  const clientConfig = (path: string) => ({ url: `${url}${path}`, ...(caBundlePem ? { caBundle: b64(caBundlePem) } : {}) });
  const rules = [
    { apiGroups: ['certificates.mesh.gloo.solo.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['*', '*/status'], scope: 'Namespaced' },
    { apiGroups: ['security.zephyr.solo.io'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: ['*', '*/status'], scope: 'Namespaced' },
  ];
  const hook = (name: string, path: string) => ({ name, clientConfig: clientConfig(path), rules, sideEffects: 'None', admissionReviewVersions: ['v1'], failurePolicy: 'Fail', timeoutSeconds: 5 });
  return [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'mesh-cert-webhook' }, webhooks: [hook('validate.mesh-cert.io', '/validate')] },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'mesh-cert-webhook' }, webhooks: [hook('mutate.mesh-cert.io', '/mutate')] },
  ];
}

const ic = (name: string) => ({
  apiVersion: GLOO, kind: 'IssuedCertificate', metadata: { name, namespace: 'istio-system' },
  spec: { hosts: [`spiffe://${name}.local`], issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' }, glooMeshCa: { signingCertificateSecret: { name: 'root-ca', namespace: 'gloo-mesh' } } },
});

beforeAll(async () => {
  buildPlugin();
  const dir = tempDir();
  execFileSync(join(REPO, 'webhook/gen-certs.sh'), ['--out', dir, '--san', 'IP:127.0.0.1', '--san', 'DNS:localhost'], { stdio: 'pipe' });
  caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  webhook = await buildWebhookServer({ port: 0, healthPort: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), logLevel: 'silent', rotationCache: null });
  sandbox = await startSandbox({ clusters: ['mgmt', 'east', 'west'] });
  env = { KUBECONFIG: sandbox.kubeconfigPath };
  const k = sandbox.kubeconfigPath;
  for (const c of ['mgmt', 'east', 'west']) await apply(k, c, ...webhookConfigs(webhook.url, caPem));
  const [root, other] = await Promise.all([makeRoot('check root', 400), makeRoot('stranger root', 400)]);
  const [east, west] = await Promise.all([makeIntermediate(root, 'east', 200), makeIntermediate(other, 'west', 200)]);
  await apply(k, 'mgmt', namespace('gloo-mesh'), rootSecret('gloo-mesh', 'root-ca', root));
  await apply(k, 'east', namespace('istio-system'), cacertsSecret('istio-system', 'cacerts', east, root), ic('east'));
  // west's cacerts was signed by another root: it does not chain to the current one.
  await apply(k, 'west', namespace('istio-system'), cacertsSecret('istio-system', 'cacerts', west, other), ic('west'));
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
  await webhook?.close();
});

async function check(args: string[]): Promise<{ code: number; lines: Line[]; stdout: string; stderr: string }> {
  const r = await kubectlMeshCert(['check', '-o', 'json', ...args], { env });
  const out = JSON.parse(r.stdout);
  expect(out.kind).toBe('CheckResult');
  expect(out.success).toBe(r.code !== 1); // issue 19: 3 is warnings only, still a success
  return { code: r.code, lines: out.checks, stdout: r.stdout, stderr: r.stderr };
}

const find = (lines: Line[], cluster: string, pred: (l: Line) => boolean) => lines.filter((l) => l.cluster === cluster && pred(l));

describe('check', () => {
  it('passes CRDs, webhook and roots, and fails the cluster whose cacerts does not chain to the current root', async () => {
    const { code, lines, stdout } = await check([]);
    expect(code).toBe(1);
    expect(privateKeyBlocks(stdout)).toEqual([]);
    for (const c of ['mgmt', 'east', 'west']) {
      // one line per CRD (installed, and whose), then the contract and manifests/crds comparisons
      expect(find(lines, c, (l) => l.category === 'CRDs').map((l) => `${l.check}: ${l.result}`)).toEqual([
        ...Array(5).fill('crd-installed: pass'), 'crd-contract: pass', 'crd-current: pass',
      ]);
      const hooks = find(lines, c, (l) => l.category === 'webhook');
      expect(hooks.map((l) => `${l.name}: ${l.result}`)).toEqual(expect.arrayContaining([
        'ValidatingWebhookConfiguration mesh-cert-webhook / validate.mesh-cert.io: pass',
        'MutatingWebhookConfiguration mesh-cert-webhook / mutate.mesh-cert.io: pass',
        'dry-run write is denied by the webhook: pass',
      ]));
    }
    expect(find(lines, 'mgmt', (l) => l.category === 'roots').map((l) => l.result)).toEqual(['pass']);
    expect(find(lines, 'east', (l) => l.category === 'cacerts').map((l) => l.result)).toEqual(['pass', 'pass', 'pass']);
    const west = find(lines, 'west', (l) => l.category === 'cacerts' && l.result === 'fail');
    expect(west).toHaveLength(1);
    expect(west[0].message).toMatch(/^does not chain to the current root \(Secret gloo-mesh\/root-ca\)/);
    // west still trusts the stranger root, which no signing Secret in use holds: a warning, named.
    expect(find(lines, 'west', (l) => l.check === 'stale-root').map((l) => `${l.result}: ${l.message}`)).toEqual([
      expect.stringMatching(/^warn: cluster west still trusts "O=mesh-cert-test, CN=stranger root" \(sha256 [0-9A-F:]{23}\) \(Secret istio-system\/cacerts\), which no IssuedCertificate's signing Secret uses any more/),
    ]);
    expect(find(lines, 'east', (l) => l.check === 'stale-root').map((l) => l.result)).toEqual(['pass']);
  });

  // issue 19: one set of marks (✓ ‼ ✗); warnings only would exit 3
  it('exits 0 when only warnings remain, and prints linkerd-style lines', async () => {
    const r = await kubectlMeshCert(['check', '--managed-clusters', 'east'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CRDs\n----\n');
    expect(r.stdout).toMatch(/✓ \[east\] CRD issuedcertificates\.certificates\.mesh\.gloo\.solo\.io is installed, mesh-cert's \(label app\.kubernetes\.io\/part-of=mesh-cert\)/);
    expect(r.stdout).toMatch(/✓ \[east\] the 5 installed CRDs are identical to manifests\/crds/);
    expect(r.stdout).toMatch(/✓ \[east\] chains to the current root \(Secret gloo-mesh\/root-ca\)/);
    expect(r.stdout).toMatch(/Status check results are ✓/);
  });

  it('warns about an intermediate that expires within 60 days without failing', async () => {
    const root = await makeRoot('short root', 400);
    const short = await makeIntermediate(root, 'short', 20);
    await apply(sandbox.kubeconfigPath, 'mgmt', rootSecret('gloo-mesh', 'short-root', root));
    await apply(sandbox.kubeconfigPath, 'east', cacertsSecret('istio-system', 'short', short, root));
    const { code, lines } = await check(['--managed-clusters', 'east', '--cacerts', 'istio-system/short', '--root-secret', 'gloo-mesh/short-root']);
    expect(code).toBe(3); // issue 19: warnings only
    const w = find(lines, 'east', (l) => l.category === 'cacerts' && l.result === 'warn');
    expect(w.map((l) => l.message)).toEqual([expect.stringMatching(/intermediate ".*short.*" expires in (19|20) days \(< 60\)/)]);
  });

  it('reports an unreachable cluster and still checks the others', async () => {
    const west = sandbox.clusters.get('west')!;
    await west.stop();
    try {
      const { code, lines } = await check([]);
      expect(code).toBe(1);
      expect(find(lines, 'west', () => true)).toEqual([expect.objectContaining({ name: 'reachable', result: 'fail', message: expect.stringMatching(/^cluster "west" is unreachable/) })]);
      expect(find(lines, 'east', (l) => l.category === 'cacerts').map((l) => l.result)).toEqual(['pass', 'pass', 'pass']);
    } finally {
      await west.start();
    }
  });

  it('warns about a CRD that differs from manifests/crds', async () => {
    const file = join(REPO, 'manifests/crds/podbouncedirectives.certificates.mesh.gloo.solo.io.yaml');
    const original = parseYaml(readFileSync(file, 'utf8'));
    const changed = structuredClone(original);
    changed.spec.versions[0].schema.openAPIV3Schema.description = 'an older copy of the CRD';
    await apply(sandbox.kubeconfigPath, 'east', changed);
    try {
      const { code, lines } = await check(['--managed-clusters', 'east', '--mgmt-context', 'east', '--root-secret', 'gloo-mesh/none']);
      const crd = find(lines, 'east', (l) => l.category === 'CRDs' && l.result !== 'pass');
      expect(crd).toEqual([expect.objectContaining({ result: 'warn', message: 'CRD podbouncedirectives.certificates.mesh.gloo.solo.io is installed but differs from manifests/crds (re-apply them)' })]);
      // The signing Secret named by --root-secret does not exist on that cluster: a failure, named.
      expect(code).toBe(1);
      // (as is the one east's IssuedCertificate names, since east plays management here).
      expect(find(lines, 'east', (l) => l.category === 'roots').map((l) => `${l.result}: ${l.message}`).sort()).toEqual([
        'fail: signing Secret gloo-mesh/none does not exist',
        'fail: signing Secret gloo-mesh/root-ca does not exist',
      ]);
    } finally {
      await apply(sandbox.kubeconfigPath, 'east', original);
    }
  });

  it('fails a webhook configuration without caBundle', async () => {
    await apply(sandbox.kubeconfigPath, 'east', ...webhookConfigs(webhook.url, undefined));
    try {
      const { code, lines } = await check(['--managed-clusters', 'east']);
      expect(code).toBe(1);
      const f = find(lines, 'east', (l) => l.category === 'webhook' && l.result === 'fail');
      expect(f.map((l) => l.message)).toEqual(expect.arrayContaining(['has no caBundle: the API server cannot verify the webhook (webhook/gen-certs.sh --apply)']));
    } finally {
      await apply(sandbox.kubeconfigPath, 'east', ...webhookConfigs(webhook.url, caPem));
    }
  });
});

describe('check without CRDs', () => {
  it('fails every missing CRD and the missing webhook configurations', async () => {
    const bare = await startSandbox({ clusters: ['bare'], crds: false });
    try {
      const r = await kubectlMeshCert(['check', '-o', 'json'], { env: { KUBECONFIG: bare.kubeconfigPath } });
      expect(r.code).toBe(1);
      const lines: Line[] = JSON.parse(r.stdout).checks;
      expect(lines.filter((l) => l.category === 'CRDs').map((l) => l.result)).toEqual(['fail', 'fail', 'fail', 'fail', 'fail']);
      expect(lines.find((l) => l.category === 'CRDs')).toMatchObject({ check: 'crd-installed', message: 'CRD issuedcertificates.certificates.mesh.gloo.solo.io is not installed', hint: 'kubectl apply -k manifests/' });
      const table = await kubectlMeshCert(['check'], { env: { KUBECONFIG: bare.kubeconfigPath } });
      expect(table.stdout).toContain('✗ [bare] CRD issuedcertificates.certificates.mesh.gloo.solo.io is not installed\n    hint: kubectl apply -k manifests/\n');
      expect(lines.filter((l) => l.category === 'webhook' && l.result === 'fail')).toHaveLength(2);
    } finally {
      await bare.stop();
    }
  });
});
