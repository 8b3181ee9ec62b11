// The kubeconfig of a sandbox: one context per cluster (context name = cluster name), the
// cluster's CA and bearer token, current-context the first cluster.
import { stringify } from 'yaml';

export interface KubeconfigEntry {
  name: string;
  url: string;
  caPem: string;
  token: string;
}

export function kubeconfigYaml(clusters: KubeconfigEntry[], namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: clusters.map((c) => ({
      name: c.name,
      cluster: { server: c.url, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') },
    })),
    users: clusters.map((c) => ({ name: `${c.name}-admin`, user: { token: c.token } })),
    contexts: clusters.map((c) => ({ name: c.name, context: { cluster: c.name, user: `${c.name}-admin`, namespace } })),
    'current-context': clusters[0]?.name ?? '',
  });
}
