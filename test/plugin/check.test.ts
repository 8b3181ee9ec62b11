// `check` on each backend (the sandbox, then the real control plane) with the real admission
// webhook in the loop, registered by URL and caBundle and called by the API server itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { buildWebhookServer, type WebhookServer } from '../../webhook/src/server.js';
import { execFile, execFileSync } from 'node:child_process';
import {
  apply,
  buildPlugin,
  kubectl,
  kubectlMeshCert,
  privateKeyBlocks,
  REPO,
  tempDir,
  type RunResult,
} from './helpers.js';
import { cacertsSecret, GLOO, makeIntermediate, makeRoot, namespace, rootSecret, webhookConfigs } from './fixtures.js';

let world: Backend;
let webhook: WebhookServer;
let env: Record<string, string>;
let caPem: string;
/** The managed clusters of the tests that do not name theirs (bare, without CRDs, is checked alone). */
const MANAGED = ['--mgmt-context', 'mgmt', '--managed-clusters', 'east,west'];

interface Line {
  category: string;
  cluster: string;
  name: string;
  result: 'pass' | 'warn' | 'fail';
  message: string;
  check?: string;
  hint?: string;
}

const ic = (name: string) => ({
  apiVersion: GLOO,
  kind: 'IssuedCertificate',
  metadata: { name, namespace: 'istio-system' },
  spec: {
    hosts: [`spiffe://${name}.local`],
    issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
    glooMeshCa: { signingCertificateSecret: { name: 'root-ca', namespace: 'gloo-mesh' } },
  },
});

async function check(args: string[]): Promise<{ code: number; lines: Line[]; stdout: string; stderr: string }> {
  const r = await kubectlMeshCert(['check', '-o', 'json', ...args], { env });
  const out = JSON.parse(r.stdout);
  expect(out.kind).toBe('CheckResult');
  expect(out.success).toBe(r.code !== 1); // issue 19: 3 is warnings only, still a success
  return { code: r.code, lines: out.checks, stdout: r.stdout, stderr: r.stderr };
}

const find = (lines: Line[], cluster: string, pred: (l: Line) => boolean) =>
  lines.filter((l) => l.cluster === cluster && pred(l));

/** `node FILE args` from `cwd`, asynchronous: the sandbox API server runs in this process. */
function runNode(file: string, args: string[], cwd: string): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [file, ...args],
      {
        cwd,
        env: { PATH: '/usr/bin:/bin', HOME: cwd, NO_COLOR: '1', KUBECONFIG: world.kubeconfigPath },
        timeout: 50_000,
      },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      const dir = tempDir();
      execFileSync(
        join(REPO, 'webhook/gen-certs.sh'),
        ['--out', dir, '--san', 'IP:127.0.0.1', '--san', 'DNS:localhost'],
        { stdio: 'pipe' },
      );
      caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
      webhook = await buildWebhookServer({
        port: 0,
        healthPort: 0,
        host: '127.0.0.1',
        tlsCertFile: join(dir, 'tls.crt'),
        tlsKeyFile: join(dir, 'tls.key'),
        logLevel: 'silent',
        rotationCache: null,
      });
      world = await startBackend(backend, ['mgmt', 'east', 'west', 'bare']);
      env = { KUBECONFIG: world.kubeconfigPath };
      const k = world.kubeconfigPath;
      // bare: a cluster without the CRDs (and without webhook configurations).
      await kubectl(k, 'bare', ['delete', 'crd', '--all', '--wait']);
      for (const c of ['mgmt', 'east', 'west'])
        await apply(k, c, ...webhookConfigs((path) => ({ url: `${webhook.url}${path}` }), caPem));
      const [root, other] = await Promise.all([makeRoot('check root', 400), makeRoot('stranger root', 400)]);
      const [east, west] = await Promise.all([
        makeIntermediate(root, 'east', 200),
        makeIntermediate(other, 'west', 200),
      ]);
      await apply(k, 'mgmt', namespace('gloo-mesh'), rootSecret('gloo-mesh', 'root-ca', root));
      await apply(
        k,
        'east',
        namespace('istio-system'),
        cacertsSecret('istio-system', 'cacerts', east, root),
        ic('east'),
      );
      // west's cacerts was signed by another root: it does not chain to the current one.
      await apply(
        k,
        'west',
        namespace('istio-system'),
        cacertsSecret('istio-system', 'cacerts', west, other),
        ic('west'),
      );
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await world?.stop();
      await webhook?.close();
    });

    describe('check', () => {
      it('passes CRDs, webhook and roots, and fails the cluster whose cacerts does not chain to the current root', async () => {
        const { code, lines, stdout } = await check(MANAGED);
        expect(code).toBe(1);
        expect(privateKeyBlocks(stdout)).toEqual([]);
        for (const c of ['mgmt', 'east', 'west']) {
          // one line per CRD (installed, and whose), then the contract and manifests/crds comparisons
          expect(find(lines, c, (l) => l.category === 'CRDs').map((l) => `${l.check}: ${l.result}`)).toEqual([
            ...Array(5).fill('crd-installed: pass'),
            'crd-contract: pass',
            'crd-current: pass',
          ]);
          const hooks = find(lines, c, (l) => l.category === 'webhook');
          expect(hooks.map((l) => `${l.name}: ${l.result}`)).toEqual([
            'ValidatingWebhookConfiguration mesh-cert-webhook / validate.mesh-cert.io: pass',
            'ValidatingWebhookConfiguration mesh-cert-webhook / validate.mesh-cert.io serving certificate: pass',
            'MutatingWebhookConfiguration mesh-cert-webhook / mutate.mesh-cert.io: pass',
            'MutatingWebhookConfiguration mesh-cert-webhook / mutate.mesh-cert.io serving certificate: pass',
            'dry-run write is denied by the webhook: pass',
          ]);
        }
        expect(find(lines, 'mgmt', (l) => l.category === 'roots').map((l) => l.result)).toEqual(['pass']);
        expect(find(lines, 'east', (l) => l.category === 'cacerts').map((l) => l.result)).toEqual([
          'pass',
          'pass',
          'pass',
        ]);
        const west = find(lines, 'west', (l) => l.category === 'cacerts' && l.result === 'fail');
        expect(west).toHaveLength(1);
        expect(west[0].message).toMatch(/^does not chain to the current root \(Secret gloo-mesh\/root-ca\)/);
        // west still trusts the stranger root, which no signing Secret in use holds: a warning, named.
        expect(find(lines, 'west', (l) => l.check === 'stale-root').map((l) => `${l.result}: ${l.message}`)).toEqual([
          expect.stringMatching(
            /^warn: cluster west still trusts "O=mesh-cert-test, CN=stranger root" \(sha256 [0-9A-F:]{23}\) \(Secret istio-system\/cacerts\), which no IssuedCertificate's signing Secret uses any more/,
          ),
        ]);
        expect(find(lines, 'east', (l) => l.check === 'stale-root').map((l) => l.result)).toEqual(['pass']);
      });

      // issue 19: one set of marks (✓ ‼ ✗); warnings only would exit 3
      it('exits 0 when all passed, and prints linkerd-style lines', async () => {
        const r = await kubectlMeshCert(['check', '--managed-clusters', 'east'], { env });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('CRDs\n----\n');
        expect(r.stdout).toMatch(
          /✓ \[east\] CRD issuedcertificates\.certificates\.mesh\.gloo\.solo\.io is installed, mesh-cert's \(label app\.kubernetes\.io\/part-of=mesh-cert\)/,
        );
        expect(r.stdout).toMatch(/✓ \[east\] the 5 installed CRDs are identical to manifests\/crds/);
        expect(r.stdout).toMatch(/✓ \[east\] chains to the current root \(Secret gloo-mesh\/root-ca\)/);
        expect(r.stdout).toMatch(/Status check results are ✓/);
      });

      it('warns about an intermediate that expires within 60 days without failing', async () => {
        const root = await makeRoot('short root', 400);
        const short = await makeIntermediate(root, 'short', 20);
        await apply(world.kubeconfigPath, 'mgmt', rootSecret('gloo-mesh', 'short-root', root));
        await apply(world.kubeconfigPath, 'east', cacertsSecret('istio-system', 'short', short, root));
        const { code, lines } = await check([
          '--managed-clusters',
          'east',
          '--cacerts',
          'istio-system/short',
          '--root-secret',
          'gloo-mesh/short-root',
        ]);
        expect(code).toBe(3); // issue 19: warnings only
        const w = find(lines, 'east', (l) => l.category === 'cacerts' && l.result === 'warn');
        expect(w.map((l) => l.message)).toEqual([
          expect.stringMatching(/intermediate ".*short.*" expires in (19|20) days \(< 60\)/),
        ]);
      });

      it('reports an unreachable cluster and still checks the others', async () => {
        // The sandbox refuses connections; the real API server, frozen, answers nothing until --request-timeout.
        await world.pause('west');
        try {
          const { code, lines } = await check([...MANAGED, '--request-timeout', '3s']);
          expect(code).toBe(1);
          expect(find(lines, 'west', () => true)).toEqual([
            expect.objectContaining({
              name: 'reachable',
              result: 'fail',
              message:
                backend === 'sandbox'
                  ? expect.stringMatching(/^cluster "west" is unreachable: .*ECONNREFUSED/)
                  : 'cluster "west" is unreachable: get version did not answer within --request-timeout 3s',
              hint: 'check the context: kubectl --context west version (the other clusters are still checked)',
            }),
          ]);
          expect(find(lines, 'east', (l) => l.category === 'cacerts').map((l) => l.result)).toEqual([
            'pass',
            'pass',
            'pass',
          ]);
        } finally {
          await world.resume('west');
        }
      });

      it('warns about a CRD that differs from manifests/crds', async () => {
        const file = join(REPO, 'manifests/crds/podbouncedirectives.certificates.mesh.gloo.solo.io.yaml');
        const original = parseYaml(readFileSync(file, 'utf8'));
        const changed = structuredClone(original);
        changed.spec.versions[0].schema.openAPIV3Schema.description = 'an older copy of the CRD';
        await apply(world.kubeconfigPath, 'east', changed);
        try {
          const { code, lines } = await check([
            '--managed-clusters',
            'east',
            '--mgmt-context',
            'east',
            '--root-secret',
            'gloo-mesh/none',
          ]);
          const crd = find(lines, 'east', (l) => l.category === 'CRDs' && l.result !== 'pass');
          expect(crd).toEqual([
            expect.objectContaining({
              result: 'warn',
              message:
                'CRD podbouncedirectives.certificates.mesh.gloo.solo.io is installed but differs from manifests/crds (re-apply them)',
            }),
          ]);
          // The signing Secret named by --root-secret does not exist on that cluster: a failure, named.
          expect(code).toBe(1);
          // (as is the one east's IssuedCertificate names, since east plays management here).
          expect(
            find(lines, 'east', (l) => l.category === 'roots')
              .map((l) => `${l.result}: ${l.message}`)
              .sort(),
          ).toEqual([
            'fail: signing Secret gloo-mesh/none does not exist',
            'fail: signing Secret gloo-mesh/root-ca does not exist',
          ]);
        } finally {
          await apply(world.kubeconfigPath, 'east', original);
        }
      });

      it('fails a webhook configuration without caBundle', async () => {
        await apply(
          world.kubeconfigPath,
          'east',
          ...webhookConfigs((path) => ({ url: `${webhook.url}${path}` }), undefined),
        );
        try {
          const { code, lines } = await check(['--managed-clusters', 'east']);
          expect(code).toBe(1);
          const f = find(lines, 'east', (l) => l.category === 'webhook' && l.result === 'fail');
          expect(f.map((l) => l.message)).toEqual(
            expect.arrayContaining(['has no caBundle: the API server cannot verify the webhook']),
          );
        } finally {
          await apply(
            world.kubeconfigPath,
            'east',
            ...webhookConfigs((path) => ({ url: `${webhook.url}${path}` }), caPem),
          );
        }
      });
    });

    describe('check without CRDs', () => {
      it('fails every missing CRD, naming the commands that install them, and the missing webhook configurations', async () => {
        const only = ['--mgmt-context', 'bare', '--managed-clusters', 'bare'];
        const { code, lines } = await check(only);
        expect(code).toBe(1);
        expect(lines.filter((l) => l.category === 'CRDs').map((l) => l.result)).toEqual([
          'fail',
          'fail',
          'fail',
          'fail',
          'fail',
        ]);
        const hint =
          'install them: kubectl apply -k manifests/ (or helm install mesh-cert manifests/helm/mesh-cert -n mesh-cert-system --create-namespace)';
        expect(lines.find((l) => l.category === 'CRDs')).toMatchObject({
          check: 'crd-installed',
          message: 'CRD issuedcertificates.certificates.mesh.gloo.solo.io is not installed',
          hint,
        });
        const table = await kubectlMeshCert(['check', ...only], { env });
        expect(table.stdout).toContain(
          `✗ [bare] CRD issuedcertificates.certificates.mesh.gloo.solo.io is not installed\n    hint: ${hint}\n`,
        );
        expect(lines.filter((l) => l.category === 'webhook' && l.result === 'fail')).toHaveLength(2);
      });
    });

    // issue 18: the single binary has no manifests/ beside it; the CRDs it compares with are built in.
    describe('check from the single binary, with no repository around', () => {
      it('compares the CRDs with the copy built into it', async () => {
        const dir = tempDir('mesh-cert-sea-');
        const file = join(dir, 'kubectl-mesh_cert.cjs');
        execFileSync(process.execPath, [join(REPO, 'plugin', 'build.mjs'), '--sea', file], {
          cwd: REPO,
          stdio: 'pipe',
        });
        const r = await runNode(
          file,
          ['check', '-o', 'json', '--mgmt-context', 'east', '--managed-clusters', 'east'],
          dir,
        );
        const crds = (JSON.parse(r.stdout).checks as Line[]).filter((l) => l.category === 'CRDs');
        expect(crds.map((l) => `${l.check}: ${l.result}`)).toEqual([
          ...Array(5).fill('crd-installed: pass'),
          'crd-contract: pass',
          'crd-current: pass',
        ]);
        expect(crds.at(-1)!.message).toBe('the 5 installed CRDs are identical to manifests/crds');
      });
    });
  });
}
