// Kubeconfigs with client-certificate users: one context per cluster, named after it (as the
// sandbox's), current-context the first cluster.
import { stringify } from 'yaml';

export interface KubeconfigContext {
  /** context name */
  name: string;
  cluster: { name: string; url: string; caPem: string };
  user: { name: string; certPem: string; keyPem: string };
  namespace?: string;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export function kubeconfigYaml(contexts: KubeconfigContext[]): string {
  const clusters = new Map(contexts.map((c) => [c.cluster.name, c.cluster]));
  const users = new Map(contexts.map((c) => [c.user.name, c.user]));
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [...clusters.values()].map((c) => ({
      name: c.name,
      cluster: { server: c.url, 'certificate-authority-data': b64(c.caPem) },
    })),
    users: [...users.values()].map((u) => ({
      name: u.name,
      user: { 'client-certificate-data': b64(u.certPem), 'client-key-data': b64(u.keyPem) },
    })),
    contexts: contexts.map((c) => ({
      name: c.name,
      context: { cluster: c.cluster.name, user: c.user.name, namespace: c.namespace ?? 'default' },
    })),
    'current-context': contexts[0]?.name ?? '',
  });
}
