// The plugin as an operator bound only to manifests/rbac/'s ClusterRoles, on two real clusters
// (test/kube): mesh-cert-operator-management on mgmt, mesh-cert-operator-managed on c1. `root
// create` (and --force), `issue` (with a pod bounce and an issued Secret of another type),
// `status`, `check` and `rotate` each work; kube-apiserver's audit log shows every request they
// made was allowed and that every rule of each role was used. Without a permission a command
// fails with one sentence naming it (verb, resource, namespace, cluster).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kube } from '../kube/index.js';
import { kubeconfigYaml } from '../kube/kubeconfig.js';
import { buildPlugin, kubectlMeshCert, type RunResult } from '../plugin/helpers.js';
import { registerWebhookIn, startWebhook } from '../plugin/issue-rotate.helpers.js';
import {
  applyObjects,
  auditArgs,
  auditedRequests,
  eventually,
  grants,
  kubectl,
  kubectlOk,
  readManifest,
  ruleKey,
  startTimed,
  type AuditedRequest,
} from './helpers.js';

const OPERATOR = 'mesh-cert-operator';
const LIMITED = 'mesh-cert-limited';
const CLUSTERS = ['mgmt', 'c1'] as const;
const ROLE = { mgmt: 'mesh-cert-operator-management', c1: 'mesh-cert-operator-managed' } as const;

let kube: Kube | undefined;
let webhook: Awaited<ReturnType<typeof startWebhook>> | undefined;
let dir: string;
let admin: string;
const kubeconfigs: Record<string, string> = {};
const roles: Record<string, any> = {};
const outputs: string[] = [];

const ok = (context: string, args: string[], input?: string) => kubectlOk(admin, args, { context, input });
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** `kubectl mesh-cert ...` as `user` (plugin/bin on PATH, the user's kubeconfig). */
async function mc(user: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
  const r = await kubectlMeshCert(args, { env: { KUBECONFIG: kubeconfigs[user] }, timeoutMs });
  outputs.push(`$ kubectl mesh-cert ${args.join(' ')}  (as ${user}, exit ${r.code})\n${r.stdout}${r.stderr}`);
  return r;
}

/** One kubeconfig for `user`, one context per cluster named after it (as a real operator's). */
async function operatorKubeconfig(user: string): Promise<string> {
  const contexts = [];
  for (const name of CLUSTERS) {
    const u = await kube!.mintUser({ cluster: name, user });
    const c = kube!.clusters.get(name)!;
    contexts.push({
      name,
      cluster: { name, url: c.url, caPem: c.caPem },
      user: { name: `${user}@${name}`, certPem: u.certPem, keyPem: u.keyPem },
    });
  }
  const path = join(dir, `${user}.kubeconfig`);
  writeFileSync(path, kubeconfigYaml(contexts), { mode: 0o600 });
  return path;
}

const bind = (name: string, role: string, user: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
});

/** A copy of a role without one verb on one resource. */
function without(role: any, name: string, resource: string, verb: string): any {
  return {
    apiVersion: role.apiVersion,
    kind: role.kind,
    metadata: { name },
    rules: role.rules
      .map((r: any) =>
        r.resources.includes(resource) ? { ...r, verbs: r.verbs.filter((v: string) => v !== verb) } : r,
      )
      .filter((r: any) => r.verbs.length),
  };
}

const ISSUE = [
  'issue',
  'istiod-ca',
  '--mgmt-context',
  'mgmt',
  '--managed-clusters',
  'c1',
  '-n',
  'istio-system',
  '--host',
  'spiffe://mesh.local/ns/istio-system/sa/istiod',
  '--signing-secret',
  'gloo-mesh/root-ca',
  '--key-size',
  '2048',
  '--virtual-mesh',
  'gloo-mesh/vm',
  '--pod-bounce',
  'istio-system/bounce',
  '--timeout',
  '90s',
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-cert-real-rbac-'));
  buildPlugin(); // plugin/build.mjs: the bundle kubectl runs from plugin/bin
  ({ kube } = await startTimed({ clusters: [...CLUSTERS], apiserverArgs: await auditArgs(dir, [OPERATOR, LIMITED]) }));
  admin = kube.kubeconfigPath;
  for (const [cluster, name] of Object.entries(ROLE)) {
    roles[cluster] = (
      await readManifest(`manifests/rbac/${name === ROLE.mgmt ? 'operator-management' : 'operator-managed'}.yaml`)
    )[0];
    expect(roles[cluster].metadata.name).toBe(name);
  }
  // the admin's part: the roles (as documented: kubectl apply -k manifests/rbac/), bindings, Istio's namespace
  for (const c of CLUSTERS) {
    await ok(c, ['apply', '-k', 'manifests/rbac/']);
    await applyObjects(admin, c, [bind(OPERATOR, ROLE[c], OPERATOR)]);
  }
  await ok('c1', ['create', 'namespace', 'istio-system']);
  kubeconfigs[OPERATOR] = await operatorKubeconfig(OPERATOR);
  kubeconfigs[LIMITED] = await operatorKubeconfig(LIMITED);
  // the webhook in the loop, registered by URL (check verifies it); it watches mgmt as admin
  webhook = await startWebhook(admin);
  for (const c of CLUSTERS) await registerWebhookIn(admin, c, webhook.url, webhook.caPem);
}, 180_000);

afterAll(async () => {
  if (process.env.MESH_CERT_REAL_VERBOSE) process.stdout.write(`${outputs.join('\n')}\n`);
  await webhook?.close();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubectl mesh-cert as an operator bound only to manifests/rbac/', () => {
  it('root create, then root create --force (checks every cluster for uses first)', async () => {
    const created = await mc(OPERATOR, [
      'root',
      'create',
      'gloo-mesh/root-ca',
      '--mgmt-context',
      'mgmt',
      '--key-size',
      '2048',
      '--ttl-days',
      '365',
      '--org',
      'mesh-cert-test',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('secret/root-ca created in namespace gloo-mesh on cluster mgmt');
    const forced = await mc(OPERATOR, [
      'root',
      'create',
      'gloo-mesh/root-ca',
      '--mgmt-context',
      'mgmt',
      '--managed-clusters',
      'c1',
      '--key-size',
      '2048',
      '--ttl-days',
      '365',
      '--org',
      'mesh-cert-test',
      '--force',
    ]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('secret/root-ca replaced in namespace gloo-mesh on cluster mgmt');
  }, 120_000);

  it('issue: key, request, signature, an issued Secret of another type replaced, pods bounced after the root is synced', async () => {
    // what a managed cluster holds: an istiod pod (never running: no kubelet), the ConfigMap
    // Istio syncs the root into, a PodBounceDirective, and an old issued Secret of another type
    const root = unb64(
      JSON.parse(await ok('mgmt', ['get', 'secret', 'root-ca', '-n', 'gloo-mesh', '-o', 'json'])).data['root-cert.pem'],
    );
    await eventually(
      'the istiod pod created (once the namespace has its ServiceAccount)',
      async () =>
        (
          await kubectl(admin, ['create', '-f', '-'], {
            context: 'c1',
            input: JSON.stringify({
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: 'istiod-1', namespace: 'istio-system', labels: { app: 'istiod' } },
              spec: { containers: [{ name: 'discovery', image: 'registry.invalid/pilot:1' }] },
            }),
          })
        ).code === 0,
    );
    await applyObjects(admin, 'c1', [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'istio-ca-root-cert', namespace: 'istio-system' },
        data: { 'root-cert.pem': root },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'cacerts',
          namespace: 'istio-system',
          labels: { 'app.kubernetes.io/managed-by': 'mesh-cert' },
        },
        type: 'mesh-cert.example/old',
        data: { old: b64('x') },
      },
      {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'PodBounceDirective',
        metadata: { name: 'bounce', namespace: 'istio-system' },
        spec: {
          podsToBounce: [
            {
              namespace: 'istio-system',
              labels: { app: 'istiod' },
              rootCertSync: {
                secretRef: { name: 'cacerts', namespace: 'istio-system' },
                secretKey: 'root-cert.pem',
                configMapRef: { name: 'istio-ca-root-cert', namespace: 'istio-system' },
                configMapKey: 'root-cert.pem',
              },
            },
          ],
        },
      },
    ]);
    const r = await mc(OPERATOR, [...ISSUE, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).items.map((i: any) => `${i.cluster}:${i.state}`)).toEqual(['c1:FINISHED']);
    const cacerts = JSON.parse(await ok('c1', ['get', 'secret', 'cacerts', '-n', 'istio-system', '-o', 'json']));
    expect(cacerts.type).toBe('Opaque');
    expect(Object.keys(cacerts.data).sort()).toEqual(['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
    expect(
      (await kubectl(admin, ['get', 'pod', 'istiod-1', '-n', 'istio-system'], { context: 'c1' })).stderr,
    ).toContain('NotFound');
    const pbd = JSON.parse(await ok('c1', ['get', 'podbouncedirective', 'bounce', '-n', 'istio-system', '-o', 'json']));
    expect(pbd.status.podsBounced).toEqual([{ bouncedPods: ['istiod-1'] }]);

    // a spec change (update) issues again: the CertificateRequest is replaced
    const again = await mc(OPERATOR, [...ISSUE, '--ttl-days', '200', '-o', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).items.map((i: any) => `${i.cluster}:${i.state}`)).toEqual(['c1:FINISHED']);
  }, 180_000);

  it('status', async () => {
    const r = await mc(OPERATOR, ['status', '--mgmt-context', 'mgmt']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^c1\s+istio-system\s+istiod-ca\s+IssuedCertificate\s+FINISHED/m);
  });

  it('check', async () => {
    const r = await mc(OPERATOR, ['check', '--mgmt-context', 'mgmt', '-o', 'json']);
    const lines = JSON.parse(r.stdout).checks as { cluster: string; name: string; result: string; message: string }[];
    const notPassing = lines.filter((l) => l.result !== 'pass');
    expect(
      notPassing.filter((l) => l.result === 'fail'),
      r.stdout,
    ).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    for (const c of CLUSTERS) expect(lines.find((l) => l.cluster === c && l.name === 'reachable')?.result).toBe('pass');
  });

  it('rotate (a generated root; the old one removed with --keep-previous-roots 0)', async () => {
    // the directive's root sync would wait for a ConfigMap no Istio updates here: bounce only
    await ok('c1', [
      'patch',
      'podbouncedirective',
      'bounce',
      '-n',
      'istio-system',
      '--type=json',
      '-p',
      '[{"op":"remove","path":"/spec/podsToBounce/0/rootCertSync"}]',
    ]);
    const r = await mc(
      OPERATOR,
      [
        'rotate',
        '--virtual-mesh',
        'gloo-mesh/vm',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1',
        '--generate-root',
        '--key-size',
        '2048',
        '--yes',
        '--keep-previous-roots',
        '0',
        '--timeout',
        '90s',
      ],
      240_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^certificaterotation\/\S+ FINISHED/m);
    expect(r.stderr).toContain('removed old root Secret gloo-mesh/root-ca');
    const status = await mc(OPERATOR, ['status', '--mgmt-context', 'mgmt']);
    expect(status.code, status.stderr).toBe(0);
  }, 300_000);

  it("kube-apiserver's audit log: every request allowed, every rule of each role used", async () => {
    const report: string[] = [];
    for (const c of CLUSTERS) {
      const reqs = await auditedRequests(kube!.clusters.get(c)!.apiserverLog, OPERATOR);
      expect(reqs.length, c).toBeGreaterThan(0);
      const denied = reqs.filter((r) => r.decision !== 'allow');
      expect(denied.map(show), c).toEqual([]);
      // /version (check's reachability probe) is a non-resource URL every user may read
      expect([...new Set(reqs.filter((r) => !r.resource).map((r) => r.nonResourceURL))], c).toEqual(['/version']);
      const used = new Set(reqs.filter((r) => r.resource).map((r) => ruleKey(r.apiGroup, r.resource, r.verb)));
      const granted = grants(roles[c]);
      expect(
        [...used].filter((u) => !granted.has(u)),
        c,
      ).toEqual([]);
      expect(
        [...granted].filter((g) => !used.has(g)),
        `${c}: rules of ${ROLE[c]} no command used`,
      ).toEqual([]);
      report.push(`${c} (${ROLE[c]}): ${reqs.length} requests; ${[...used].sort().join('; ')}`);
    }
    process.stdout.write(`[real] operator requests by (group resource verb):\n  ${report.join('\n  ')}\n`);
  });
});

/** stderr of a failed command: exactly one line, `error: <sentence>`. */
function oneError(r: RunResult): string {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  // Progress lines (piped: one timestamped line per cluster) may say the same; the error is one line.
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !/^\d{4}-\d\d-\d\dT[\d:.]+Z /.test(l));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  return lines[0]!.slice('error: '.length);
}

const denial = (verb: string, what: string, where: string, cluster: string, user: string) =>
  `cannot ${verb} ${what} ${where} on cluster "${cluster}": user "${user}" lacks this RBAC permission (forbidden)`;

describe('without a permission, the command fails with one sentence naming it', () => {
  beforeAll(async () => {
    // another operator, bound to the same roles less `create secrets`
    for (const c of CLUSTERS) {
      const name = `${ROLE[c]}-without-create-secrets`;
      await applyObjects(admin, c, [without(roles[c], name, 'secrets', 'create'), bind(LIMITED, name, LIMITED)]);
    }
    const root2 = await mc(OPERATOR, [
      'root',
      'create',
      'gloo-mesh/root-2',
      '--mgmt-context',
      'mgmt',
      '--key-size',
      '2048',
    ]);
    expect(root2.code, root2.stderr).toBe(0);
  }, 60_000);

  it('issue, lacking create secrets on the managed cluster', async () => {
    const r = await mc(LIMITED, [
      'issue',
      'other-ca',
      '--mgmt-context',
      'mgmt',
      '--managed-clusters',
      'c1',
      '-n',
      'istio-system',
      '--host',
      'spiffe://mesh.local/ns/istio-system/sa/other',
      '--signing-secret',
      'gloo-mesh/root-2',
      '--key-size',
      '2048',
      '--timeout',
      '60s',
    ]);
    expect(oneError(r)).toBe(
      `c1 istio-system/other-ca: ${denial('create', 'secrets', 'in namespace istio-system', 'c1', LIMITED)}`,
    );
  });

  it('root create, lacking create secrets on the management cluster', async () => {
    const r = await mc(LIMITED, ['root', 'create', 'gloo-mesh/root-3', '--mgmt-context', 'mgmt', '--key-size', '2048']);
    expect(oneError(r)).toBe(denial('create', 'secrets', 'in namespace gloo-mesh', 'mgmt', LIMITED));
  });

  describe("with the operator's binding on the management cluster removed", () => {
    beforeAll(async () => {
      await ok('c1', ['delete', 'issuedcertificate', 'other-ca', '-n', 'istio-system']); // FAILED above: one certificate left to drive
      await ok('mgmt', ['delete', 'clusterrolebinding', OPERATOR]);
      await eventually(
        'RBAC sees the binding gone',
        async () =>
          (
            await kubectl(admin, ['auth', 'can-i', 'get', 'secrets', '-n', 'gloo-mesh', '--as', OPERATOR], {
              context: 'mgmt',
            })
          ).stdout.trim() === 'no',
      );
    });

    it('root create', async () => {
      const r = await mc(OPERATOR, [
        'root',
        'create',
        'gloo-mesh/root-3',
        '--mgmt-context',
        'mgmt',
        '--key-size',
        '2048',
      ]);
      expect(oneError(r)).toBe(denial('get', 'secrets', 'in namespace gloo-mesh', 'mgmt', OPERATOR));
    });

    it('issue (the issuer cannot read the signing Secret)', async () => {
      const r = await mc(OPERATOR, [
        'issue',
        '--all',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1',
        '--timeout',
        '60s',
      ]);
      const sentence = denial('get', 'secrets', 'in namespace gloo-mesh', 'mgmt', OPERATOR);
      expect(oneError(r)).toBe(`c1 istio-system/istiod-ca: ${sentence}`);
      expect(r.stdout).toMatch(
        new RegExp(
          `^c1\\s+istio-system\\s+istiod-ca\\s+\\S+\\s+${sentence.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
          'm',
        ),
      );
    });

    it('rotate', async () => {
      const secrets = await ok('mgmt', ['get', 'secrets', '-n', 'gloo-mesh', '-o', 'name']);
      const r = await mc(OPERATOR, [
        'rotate',
        '--virtual-mesh',
        'gloo-mesh/vm',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1',
        '--generate-root',
        '--key-size',
        '2048',
        '--yes',
      ]);
      expect(oneError(r)).toBe(
        denial('list', 'certificaterotations.certificates.mesh.gloo.solo.io', 'at cluster scope', 'mgmt', OPERATOR),
      );
      expect(await ok('mgmt', ['get', 'secrets', '-n', 'gloo-mesh', '-o', 'name'])).toBe(secrets); // no root generated
    });

    it('status: the management cluster is an ERROR row, and the one problem says why', async () => {
      const r = await mc(OPERATOR, ['status', '--mgmt-context', 'mgmt']);
      // status lists the kinds at once: whichever denial comes first is the one problem line
      const kinds = ['issuedcertificates', 'certificaterequests', 'certificaterotations', 'podbouncedirectives'];
      expect(r.code).toBe(1);
      expect(
        kinds.map(
          (k) =>
            `problem: ${denial('list', `${k}.certificates.mesh.gloo.solo.io`, 'at cluster scope', 'mgmt', OPERATOR)}\n`,
        ),
      ).toContain(r.stderr);
      expect(r.stdout).toMatch(/^mgmt\s+-\s+mgmt\s+Cluster\s+ERROR\s/m);
      expect(r.stdout).toMatch(/^c1\s+istio-system\s+istiod-ca\s+IssuedCertificate\s/m);
    });

    it('check: the management cluster fails its first check, saying why; the managed one is still checked', async () => {
      const r = await mc(OPERATOR, ['check', '--mgmt-context', 'mgmt']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        `✗ [mgmt] ${denial('list', 'customresourcedefinitions.apiextensions.k8s.io', 'at cluster scope', 'mgmt', OPERATOR)}\n`,
      );
      expect(r.stdout).toMatch(/^✓ \[c1\] API server \S+ answers/m);
      expect(r.stdout).toContain('✓ [c1] the webhook denied a CertificateRequest');
    });
  });
});

function show(r: AuditedRequest): string {
  return `${r.decision} ${r.verb} ${r.resource}.${r.apiGroup} ${r.namespace ?? ''}/${r.name ?? ''} -> ${r.code}`;
}
