import { Flags } from '@oclif/core';
import { MeshCertCommand } from '../lib/base.js';
import { kubeFlags } from '../lib/flags.js';
import type { K8s, KObject } from '../lib/k8s.js';
import type { WebhookPodVersion, WebhookVersion } from '../report/version.js';

const DEPLOYMENT = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' };

export default class Version extends MeshCertCommand {
  static override summary = "Print this client's version; with --context, the webhook's and the CRDs' in that cluster.";
  static override description = `Prints the version of this kubectl mesh-cert. Given a context (--context, or --kubeconfig for
its current context), also: the webhook's version, read from each of its pods' /metrics
(mesh_cert_webhook_build_info) through the API server's pod proxy, and each CRD's schema version:
its storage version and a digest of its schemas, compared with the CRDs this client was built
with. Needs get on pods/proxy in the webhook's namespace for the webhook's version.`;
  static override examples = [
    '<%= config.bin %> version',
    '<%= config.bin %> version --context mgmt',
    '<%= config.bin %> version --context mgmt -o json',
  ];
  static override flags = {
    kubeconfig: kubeFlags.kubeconfig,
    context: kubeFlags.context,
    namespace: Flags.string({ char: 'n', description: 'namespace of the webhook', default: 'mesh-cert-system' }),
    selector: Flags.string({
      char: 'l',
      description: "label selector of the webhook's pods",
      default: 'app.kubernetes.io/name=mesh-cert-webhook',
    }),
    client: Flags.boolean({ description: "only this client's version, even with --context", default: false }),
    output: Flags.option({
      char: 'o',
      options: ['text', 'json', 'yaml'] as const,
      description: 'output format',
      default: 'text' as const,
    })(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    const [report, output] = await Promise.all([import('../report/version.js'), import('../lib/output.js')]);
    const r: import('../report/version.js').VersionReport = {
      client: { version: this.config.version, node: process.version, platform: `${process.platform}/${process.arch}` },
    };
    if (!flags.client && (flags.context || flags.kubeconfig)) {
      const { resolveCluster } = await import('../lib/clusters.js');
      const { cluster } = await resolveCluster({ kubeconfig: flags.kubeconfig, context: flags.context });
      const k8s = await cluster.client();
      const [api, crds, webhook] = await Promise.allSettled([
        k8s.version(),
        k8s.listCrds().then(async (installed) => report.crdVersions(installed, await report.clientCrds())),
        webhookVersion(k8s, flags.namespace, flags.selector),
      ]);
      const why = (e: unknown) => (e instanceof Error ? e.message : String(e));
      r.server = {
        context: cluster.name,
        ...(api.status === 'fulfilled' ? { apiServer: api.value } : {}),
        ...(crds.status === 'fulfilled' ? { crds: crds.value } : { crdsError: why(crds.reason) }),
        ...(webhook.status === 'fulfilled' ? { webhook: webhook.value } : { webhookError: why(webhook.reason) }),
      };
      // the cluster could not be read at all: that is an error, not a version
      if (api.status === 'rejected' && crds.status === 'rejected') throw api.reason;
    }
    if (flags.output === 'text') output.out(report.renderVersion(r));
    else await output.printData(flags.output, r);
  }
}

async function webhookVersion(k8s: K8s, namespace: string, selector: string): Promise<WebhookVersion> {
  const report = await import('../report/version.js');
  const [pods, deployments] = await Promise.all([
    k8s.listPods(namespace, selector),
    k8s.list(DEPLOYMENT, namespace, { labelSelector: selector }).catch(() => [] as KObject[]),
  ]);
  const imagesOf = (o: KObject, path: 'template' | 'pod'): string[] => {
    const spec =
      path === 'template' ? (o.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec : o.spec;
    return ((spec as { containers?: { image?: string }[] } | undefined)?.containers ?? [])
      .map((c) => c.image ?? '')
      .filter(Boolean);
  };
  const out: WebhookPodVersion[] = await Promise.all(
    pods.map(async (pod): Promise<WebhookPodVersion> => {
      const name = pod.metadata.name;
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      const base = { pod: name, ...(phase ? { phase } : {}), image: imagesOf(pod, 'pod').join(', ') };
      if (phase !== 'Running') return { ...base, error: `pod is ${phase ?? 'not running'}` };
      try {
        const text = await podProxyGet(k8s, namespace, `${name}:${report.healthPort(pod)}`, 'metrics');
        const info = report.parseBuildInfo(text);
        if (!info?.version)
          return { ...base, error: 'its /metrics has no mesh_cert_webhook_build_info (a webhook older than 0.1.0?)' };
        return { ...base, version: info.version, ...(info.node_version ? { nodeVersion: info.node_version } : {}) };
      } catch (e) {
        return { ...base, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  return {
    namespace,
    selector,
    images: [...new Set(deployments.flatMap((d) => imagesOf(d, 'template')))],
    pods: out,
    versions: [...new Set(out.flatMap((p) => (p.version ? [p.version] : [])))],
  };
}

/** GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH as text (client-node's typed call cannot read text/plain). */
async function podProxyGet(k8s: K8s, namespace: string, pod: string, path: string): Promise<string> {
  const https = await import('node:https');
  const http = await import('node:http');
  const server = k8s.kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig context has no server');
  const url = new URL(
    `${server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/proxy/${path}`,
  );
  const opts: import('node:https').RequestOptions = {
    method: 'GET',
    headers: { accept: 'text/plain' },
    timeout: 10_000,
  };
  await k8s.kubeConfig.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'http:' ? http : https).request(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 4 << 20) body += c;
      });
      res.on('end', () => {
        if (res.statusCode === 200) resolve(body);
        else {
          let msg = body.trim().slice(0, 300);
          try {
            msg = (JSON.parse(body) as { message?: string }).message ?? msg;
          } catch {
            /* not JSON */
          }
          reject(new Error(`GET pods/${pod}/proxy/${path}: HTTP ${res.statusCode}: ${msg}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET pods/${pod}/proxy/${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}
