// `npm run demo`: a management cluster and two managed clusters, the admission webhook in the
// loop (installed with the real manifests and gen-certs.sh), then the job shown with kubectl. The
// plugin steps grow here as `kubectl mesh-cert` lands.
//
// Where the clusters come from: `--backend sandbox` (the default; test/sandbox, fast) or
// `--backend kube` (test/kube: a real kube-apiserver and kube-controller-manager per cluster,
// the binaries built once by `npx tsx test/kube/ensure.ts`); MESH_CERT_DEMO_BACKEND=kube does the
// same. `npm run demo -- --backend kube`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../sandbox/index.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const KUBECTL = '/usr/bin/kubectl';
const CLUSTERS = ['mgmt', 'cluster1', 'cluster2'] as const;
const WEBHOOK_SVC = { namespace: 'mesh-cert-system', name: 'mesh-cert-webhook' };
const WEBHOOK_CONFIGS = ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration'] as const;

type DemoBackend = 'sandbox' | 'kube';

/** `--backend kube|sandbox` (or `--backend=...`), else MESH_CERT_DEMO_BACKEND, else the sandbox. */
function backendOf(argv: string[], env: NodeJS.ProcessEnv): DemoBackend {
  let chosen: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--backend') {
      chosen = argv[++i];
      if (chosen === undefined) throw new Error('--backend needs a value: kube or sandbox');
    } else if (a.startsWith('--backend=')) chosen = a.slice('--backend='.length);
    else throw new Error(`unknown argument "${a}" (usage: demo.ts [--backend kube|sandbox])`);
  }
  chosen ??= env.MESH_CERT_DEMO_BACKEND || 'sandbox';
  if (chosen !== 'sandbox' && chosen !== 'kube')
    throw new Error(`--backend (or MESH_CERT_DEMO_BACKEND): "${chosen}" is not kube or sandbox`);
  return chosen;
}

const color = process.stdout.isTTY
  ? { dim: '\x1b[2m', bold: '\x1b[1m', off: '\x1b[0m', cyan: '\x1b[36m' }
  : { dim: '', bold: '', off: '', cyan: '' };

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Ran> {
  return new Promise((res) => {
    const child = execFile(
      cmd,
      args,
      { env, cwd: REPO, timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        res({
          code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0,
          stdout,
          stderr,
        });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

function section(title: string): void {
  process.stdout.write(`\n${color.bold}== ${title}${color.off}\n`);
}

/** Runs and shows a command as a user would type it; `expectFail` marks a step that must be refused. */
async function step(
  env: NodeJS.ProcessEnv,
  shown: string,
  cmd: string,
  args: string[],
  opts: { input?: string; expectFail?: boolean; hide?: RegExp } = {},
): Promise<Ran> {
  process.stdout.write(`${color.cyan}$ ${shown}${color.off}\n`);
  const r = await run(cmd, args, env, opts.input);
  const out = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => !opts.hide?.test(l))
    .join('\n')
    .trimEnd();
  if (out)
    process.stdout.write(
      `${out
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n')}\n`,
    );
  if (opts.expectFail ? r.code === 0 : r.code !== 0)
    throw new Error(`demo step ${opts.expectFail ? 'was expected to be refused' : 'failed'}: ${shown}`);
  return r;
}

const ICERT = (cluster: string): string => `apiVersion: certificates.mesh.gloo.solo.io/v1
kind: IssuedCertificate
metadata:
  name: legacy
  namespace: istio-system
spec:
  hosts: ["spiffe://${cluster}.local/ns/istio-system/sa/legacy"]
  org: legacy-org
  issuedCertificateSecret: {name: cacerts, namespace: istio-system}
  glooMeshCa:
    signingCertificateSecret: {name: root-ca, namespace: gloo-mesh}
`;

/** `mesh-cert-webhook` on a free port; resolves once it says it is serving. */
function startWebhookProcess(certs: string, kubeconfig: string): Promise<{ port: number; close(): Promise<void> }> {
  const bin = join(REPO, 'webhook/bin/mesh-cert-webhook');
  if (!existsSync(join(REPO, 'webhook/dist/main.js')))
    throw new Error('webhook/dist is missing: run `npm run build` first (npm run demo does)');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      '--port',
      '0',
      '--health-port',
      '0',
      '--tls-cert-file',
      join(certs, 'tls.crt'),
      '--tls-private-key-file',
      join(certs, 'tls.key'),
      '--kubeconfig',
      kubeconfig,
      '--log-level',
      'warn',
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const close = (): Promise<void> =>
    new Promise((res) => {
      if (child.exitCode !== null) {
        res();
        return;
      }
      child.once('exit', () => res());
      child.kill('SIGTERM');
    });
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => {
      void close();
      reject(new Error(`mesh-cert-webhook did not start within 30 s: ${out}`));
    }, 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /serving admission on https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort({ port: Number(m[1]), close });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mesh-cert-webhook exited (${code}): ${out}`));
    });
  });
}

async function main(): Promise<void> {
  const backend = backendOf(process.argv.slice(2), process.env);
  const work = mkdtempSync(join(tmpdir(), 'mesh-cert-demo-'));
  const kubeconfig = join(work, 'kubeconfig');
  let clusters: { stop(): Promise<void> } | undefined;
  let webhook: { port: number; close(): Promise<void> } | undefined;
  try {
    const t0 = Date.now();
    // no CRDs yet: the install step below applies them as a user would
    let routeService: ((port: number) => void) | undefined;
    if (backend === 'sandbox') {
      section('A sandbox of three clusters (one Kubernetes-compatible API server each, on 127.0.0.1)');
      const sandbox = await startSandbox({ clusters: [...CLUSTERS], kubeconfigPath: kubeconfig, crds: false });
      clusters = sandbox;
      routeService = (port) => {
        for (const c of sandbox.clusters.values()) c.routeService(WEBHOOK_SVC.namespace, WEBHOOK_SVC.name, port);
      };
    } else {
      const { startKube, KUBE_RELEASE } = await import('../kube/index.js');
      section(
        `Three real clusters (kube-apiserver and kube-controller-manager ${KUBE_RELEASE} each, one etcd, on 127.0.0.1)`,
      );
      clusters = await startKube({ clusters: [...CLUSTERS], kubeconfigPath: kubeconfig, crds: false });
    }
    process.stdout.write(`  backend ${backend}: started in ${Date.now() - t0} ms; kubeconfig ${kubeconfig}\n`);
    const pluginBin = join(REPO, 'plugin/bin');
    const env = {
      ...process.env,
      KUBECONFIG: kubeconfig,
      KUBECACHEDIR: join(work, 'cache'),
      PATH: `${pluginBin}${delimiter}${process.env.PATH ?? ''}`,
    };
    await step(env, 'kubectl config get-contexts', KUBECTL, ['config', 'get-contexts']);

    section('Install: CRDs and the admission webhook, with the real manifests (kubectl apply -k manifests/)');
    const certs = join(work, 'webhook-certs');
    // The webhook runs here as a local process (the built binary). The sandbox routes each
    // cluster's Service to it. A real kube-apiserver cannot: there is no kube-proxy, and Endpoints
    // refuse loopback addresses; so on kube the serving certificate also names 127.0.0.1, and
    // each webhook configuration is pointed at the local process by clientConfig.url (below).
    const san = backend === 'kube' ? ['--san', 'IP:127.0.0.1'] : [];
    await run(join(REPO, 'webhook/gen-certs.sh'), ['--out', certs, ...san], env);
    const wh = await startWebhookProcess(certs, kubeconfig);
    webhook = wh;
    const port = wh.port;
    routeService?.(port);
    for (const c of CLUSTERS) {
      await step(env, `kubectl --context ${c} apply -k manifests/`, KUBECTL, [
        '--context',
        c,
        'apply',
        '-k',
        'manifests/',
      ]);
      await step(
        env,
        `webhook/gen-certs.sh --out CERTS ${san.join(' ')}${san.length ? ' ' : ''}--reuse-ca --apply --context ${c}`,
        join(REPO, 'webhook/gen-certs.sh'),
        ['--out', certs, ...san, '--reuse-ca', '--apply', '--context', c],
        { hide: /^(caBundle:|wrote )/ },
      );
      if (backend === 'kube') {
        // The manifests' clientConfig.service (mesh-cert-system/mesh-cert-webhook:443) cannot
        // reach a process on this machine (and the Deployment's Pods never run: no kubelet), so
        // each webhook goes by URL to the local one instead. gen-certs.sh --apply has just set
        // the caBundle that verifies it; `service` and `url` are exclusive, hence the remove.
        for (const kind of WEBHOOK_CONFIGS) {
          const got = await run(KUBECTL, ['--context', c, 'get', kind, WEBHOOK_SVC.name, '-o', 'json'], env);
          if (got.code !== 0)
            throw new Error(`demo step failed: kubectl --context ${c} get ${kind} ${WEBHOOK_SVC.name}: ${got.stderr}`);
          const hooks = (JSON.parse(got.stdout) as { webhooks: { clientConfig: { service?: { path?: string } } }[] })
            .webhooks;
          const patch = JSON.stringify(
            hooks.flatMap((h, i) => [
              { op: 'remove', path: `/webhooks/${i}/clientConfig/service` },
              {
                op: 'add',
                path: `/webhooks/${i}/clientConfig/url`,
                value: `https://127.0.0.1:${port}${h.clientConfig.service?.path ?? '/'}`,
              },
            ]),
          );
          await step(
            env,
            `kubectl --context ${c} patch ${kind} ${WEBHOOK_SVC.name} --type=json -p '${patch}'`,
            KUBECTL,
            ['--context', c, 'patch', kind, WEBHOOK_SVC.name, '--type=json', '-p', patch],
          );
        }
      }
      await step(env, `kubectl --context ${c} wait --for=condition=Established crd --all`, KUBECTL, [
        '--context',
        c,
        'wait',
        '--for=condition=Established',
        'crd',
        '--all',
        '--timeout=60s',
      ]);
    }
    await step(env, 'kubectl --context cluster1 get crds', KUBECTL, ['--context', 'cluster1', 'get', 'crds']);
    await step(
      env,
      'kubectl --context cluster1 get validatingwebhookconfigurations,mutatingwebhookconfigurations',
      KUBECTL,
      ['--context', 'cluster1', 'get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations'],
    );

    const managed = 'cluster1,cluster2';
    const k = (
      context: string,
      args: string[],
      opts: { input?: string; expectFail?: boolean; shown?: string } = {},
    ): Promise<Ran> =>
      step(
        env,
        `kubectl --context ${context} ${opts.shown ?? args.join(' ')}`,
        KUBECTL,
        ['--context', context, ...args],
        opts,
      );
    for (const c of CLUSTERS) await k(c, ['create', 'namespace', c === 'mgmt' ? 'gloo-mesh' : 'istio-system']);

    const hasPlugin =
      existsSync(join(pluginBin, 'kubectl-mesh_cert')) && existsSync(join(REPO, 'plugin/dist/index.js'));
    if (hasPlugin) {
      const mc = (args: string[]): Promise<Ran> =>
        step(env, `kubectl mesh-cert ${args.join(' ')}`, KUBECTL, ['mesh-cert', ...args]);
      const scope = ['--mgmt-context', 'mgmt', '--managed-clusters', managed];

      section('A root CA in the management cluster');
      await mc([
        'root',
        'create',
        'gloo-mesh/root-ca',
        '--mgmt-context',
        'mgmt',
        '--key-size',
        '2048',
        '--common-name',
        'demo-root-1',
      ]);

      section(
        'Issuance: an intermediate CA per managed cluster, signed in mgmt; each private key stays in its cluster',
      );
      await mc([
        'issue',
        'istiod',
        ...scope,
        '-n',
        'istio-system',
        '--host',
        'spiffe://demo.local/ns/istio-system/sa/istiod',
        '--signing-secret',
        'gloo-mesh/root-ca',
        '--key-size',
        '2048',
        '--virtual-mesh',
        'gloo-mesh/demo-mesh',
      ]);
      await mc(['status', ...scope]);
      await mc(['inspect', 'secret', 'istio-system/cacerts', '--context', 'cluster1']);

      section('A full root rotation, with no moment where the clusters cannot verify each other');
      await mc([
        'rotate',
        '--virtual-mesh',
        'gloo-mesh/demo-mesh',
        ...scope,
        '--generate-root',
        '--key-size',
        '2048',
        '--yes',
      ]);
      await mc(['status', ...scope]);
    } else {
      process.stdout.write('\n  (plugin/dist is missing: run `npm run build` for the kubectl mesh-cert steps)\n');
    }

    section(
      'Admission in the loop: illegal writes denied (CRD rules, the webhook), deprecated fields mapped and warned about',
    );
    await k('cluster1', ['get', 'icert', '-n', 'istio-system']);
    if (hasPlugin) {
      // FINISHED -> ISSUED is not a legal move of status.state
      await k(
        'cluster1',
        [
          'patch',
          'icert',
          'istiod',
          '-n',
          'istio-system',
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"state":"ISSUED"}}',
        ],
        {
          expectFail: true,
          shown:
            'patch icert istiod -n istio-system --subresource=status --type=merge -p \'{"status":{"state":"ISSUED"}}\'',
        },
      );
    }
    await k('cluster2', ['apply', '-f', '-'], {
      input: ICERT('cluster2'),
      shown: 'apply -f legacy-issuedcertificate.yaml   # sets the deprecated spec.org',
    });
    await k('cluster2', ['get', 'icert', 'legacy', '-n', 'istio-system', '-o', 'jsonpath={.spec.certOptions}{"\\n"}'], {
      shown: "get icert legacy -n istio-system -o jsonpath='{.spec.certOptions}'",
    });
    // Gloo Mesh itself writes org next to a different orgName: admitted, the replacement is the one read
    await k(
      'cluster2',
      ['patch', 'icert', 'legacy', '-n', 'istio-system', '--type=merge', '-p', '{"spec":{"org":"other-org"}}'],
      { shown: 'patch icert legacy -n istio-system --type=merge -p \'{"spec":{"org":"other-org"}}\'' },
    );
    await k(
      'cluster2',
      [
        'patch',
        'icert',
        'legacy',
        '-n',
        'istio-system',
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"state":"FINISHED"}}',
      ],
      {
        expectFail: true,
        shown:
          'patch icert legacy -n istio-system --subresource=status --type=merge -p \'{"status":{"state":"FINISHED"}}\'',
      },
    );

    section('Done');
    process.stdout.write(
      `  the clusters stop now; to keep clusters to play with: npm run ${backend} -- --clusters ${CLUSTERS.join(',')} --kubeconfig FILE\n`,
    );
  } finally {
    await webhook?.close();
    await clusters?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo: ${(e as Error).message}\n`);
  process.exit(1);
});
