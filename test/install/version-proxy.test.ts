// `kubectl mesh-cert version --context` reads the webhook's version where a user's would come
// from: the API server's pod proxy to a Running pod's health port, /metrics,
// mesh_cert_webhook_build_info. The control plane here schedules nothing and the API server
// refuses to proxy to loopback addresses, so the "pod" is the webhook bundle running in a network
// namespace this test makes (a veth pair, 198.18.<n>.0/30 from the benchmarking range, on this
// machine only), and a Pod object whose status says Running at that address.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type Kube } from '../kube/index.js';
import { cleanup, REPO, run, servingCert, tmp } from './helpers.js';

type Obj = any;
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const NS = 'mesh-cert-system';
const tag = (process.pid % 50_000).toString(36);
const netns = `mc-ver-${tag}`;
const hostIf = `mcv${tag}h`;
const nsIf = `mcv${tag}n`;
const subnet = 4 + (process.pid % 250);
const hostIp = `198.18.${subnet}.1`;
const podIp = `198.18.${subnet}.2`;

describe("version: the webhook's, through the pod proxy", () => {
  let kube: Kube;
  let dir: string;
  let webhook: ChildProcess | undefined;
  const k = (...args: string[]): string =>
    run('kubectl', ['--kubeconfig', kube.kubeconfigPath, '--context', 'c1', ...args]).stdout;

  beforeAll(async () => {
    dir = tmp('version');
    try {
      run('ip', ['netns', 'add', netns]);
      run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
      run('ip', ['link', 'set', nsIf, 'netns', netns]);
      run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
      run('ip', ['link', 'set', hostIf, 'up']);
      run('ip', ['-n', netns, 'addr', 'add', `${podIp}/30`, 'dev', nsIf]);
      run('ip', ['-n', netns, 'link', 'set', nsIf, 'up']);
      run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    } catch (e) {
      throw new Error(
        `this test needs root and iproute2 (ip netns, veth) to stand in for a pod's network: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const { cert, key } = servingCert(dir);
    webhook = spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        process.execPath,
        join(REPO, 'webhook/bin/mesh-cert-webhook'),
        '--bind-address',
        podIp,
        '--port',
        '9443',
        '--health-port',
        '8080',
        '--tls-cert-file',
        cert,
        '--tls-private-key-file',
        key,
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the webhook did not start in 30 s: ${out}`)), 30_000);
      const onData = (c: Buffer): void => {
        out += c.toString();
        if (out.includes('health and metrics on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      webhook!.stdout!.on('data', onData);
      webhook!.stderr!.on('data', onData);
      webhook!.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the webhook exited ${code}: ${out}`));
      });
    });
    kube = await startKube({ clusters: ['c1'] });
  }, 180_000);

  afterAll(async () => {
    webhook?.kill('SIGKILL');
    await kube?.stop();
    run('ip', ['link', 'del', hostIf], { allowFail: true });
    run('ip', ['netns', 'del', netns], { allowFail: true });
    cleanup(dir);
  });

  it("reports the version each Running pod's mesh_cert_webhook_build_info says, and why others say nothing", () => {
    k('create', 'namespace', NS);
    const pod = (name: string, healthPort = 8080): string =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'mesh-cert-webhook' } },
        spec: {
          containers: [
            {
              name: 'webhook',
              image: `ghcr.io/mesh-cert/mesh-cert-webhook:${version}`,
              ports: [
                { name: 'https', containerPort: 9443 },
                { name: 'health', containerPort: healthPort },
              ],
            },
          ],
        },
      });
    run('kubectl', ['--kubeconfig', kube.kubeconfigPath, '--context', 'c1', 'create', '-f', '-'], {
      input: pod('webhook-a'),
    });
    // its health port is one where nothing listens
    run('kubectl', ['--kubeconfig', kube.kubeconfigPath, '--context', 'c1', 'create', '-f', '-'], {
      input: pod('webhook-b', 8081),
    });
    // what a kubelet would write for webhook-a; webhook-b stays Pending
    k(
      'patch',
      'pod',
      'webhook-a',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Running', podIP: podIp, podIPs: [{ ip: podIp }] } }),
    );

    const v = JSON.parse(
      run(join(REPO, 'plugin/bin/kubectl-mesh_cert'), [
        'version',
        '--kubeconfig',
        kube.kubeconfigPath,
        '--context',
        'c1',
        '-o',
        'json',
      ]).stdout,
    ) as Obj;
    expect(v.server.webhook.versions).toEqual([version]);
    expect(v.server.webhook.pods).toEqual([
      {
        pod: 'webhook-a',
        phase: 'Running',
        image: `ghcr.io/mesh-cert/mesh-cert-webhook:${version}`,
        version,
        nodeVersion: process.version,
      },
      {
        pod: 'webhook-b',
        phase: 'Pending',
        image: `ghcr.io/mesh-cert/mesh-cert-webhook:${version}`,
        error: 'pod is Pending',
      },
    ]);
    const text = run(join(REPO, 'plugin/bin/kubectl-mesh_cert'), [
      'version',
      '--kubeconfig',
      kube.kubeconfigPath,
      '--context',
      'c1',
    ]).stdout;
    expect(text).toContain(`Webhook: ${version} (1 of 2 pods answered; webhook-b: pod is Pending)`);

    // a pod that says Running but whose health port does not answer (every address is the namespace's)
    k(
      'patch',
      'pod',
      'webhook-b',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Running', podIP: podIp, podIPs: [{ ip: podIp }] } }),
    );
    const v2 = JSON.parse(
      run(join(REPO, 'plugin/bin/kubectl-mesh_cert'), [
        'version',
        '--kubeconfig',
        kube.kubeconfigPath,
        '--context',
        'c1',
        '-o',
        'json',
      ]).stdout,
    ) as Obj;
    const b = v2.server.webhook.pods.find((p: Obj) => p.pod === 'webhook-b');
    expect(b.version).toBeUndefined();
    expect(b.error).toMatch(/^GET pods\/webhook-b:8081\/proxy\/metrics: HTTP 5\d\d/);
  }, 120_000);
});
