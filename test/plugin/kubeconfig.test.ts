import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { delimiter } from 'node:path';
import {
  kubeconfigPaths,
  loadKubeconfig,
  pickContext,
  singleContextDoc,
  namespaceOf,
} from '../../plugin/src/lib/kubeconfig.js';
import { resolveClusters } from '../../plugin/src/lib/clusters.js';
import { tempDir, writeFile } from './helpers.js';

function kubeconfig(name: string, server: string, extra: { current?: string; ns?: string; ca?: string } = {}): string {
  return `apiVersion: v1
kind: Config
${extra.current ? `current-context: ${extra.current}\n` : ''}clusters:
- name: ${name}
  cluster:
    server: ${server}
${extra.ca ? `    certificate-authority: ${extra.ca}\n` : ''}users:
- name: ${name}
  user:
    token: t-${name}
contexts:
- name: ${name}
  context:
    cluster: ${name}
    user: ${name}
${extra.ns ? `    namespace: ${extra.ns}\n` : ''}`;
}

describe('kubeconfig loading as kubectl merges it', () => {
  it('merges a KUBECONFIG path list: first file wins per name and for current-context', async () => {
    const d = tempDir();
    const a = writeFile(d, 'a.yaml', kubeconfig('one', 'https://127.0.0.1:1001', { current: 'one' }) + '');
    // b defines "one" again (must lose) and "two", and a different current-context (must lose).
    const b = writeFile(
      d,
      'b.yaml',
      `apiVersion: v1
kind: Config
current-context: two
clusters:
- name: one
  cluster: {server: "https://127.0.0.1:9999"}
- name: two
  cluster: {server: "https://127.0.0.1:1002"}
users:
- name: two
  user: {token: t2}
contexts:
- name: two
  context: {cluster: two, user: two, namespace: istio-system}
`,
    );
    const prev = process.env.KUBECONFIG;
    process.env.KUBECONFIG = [a, join(d, 'missing.yaml'), b].join(delimiter);
    try {
      const kc = await loadKubeconfig(undefined);
      expect(kc.currentContext).toBe('one');
      expect(kc.clusters.get('one')?.server).toBe('https://127.0.0.1:1001');
      expect([...kc.contexts.keys()]).toEqual(['one', 'two']);
      expect(namespaceOf(kc, 'two')).toBe('istio-system');
      expect(namespaceOf(kc, 'one')).toBe('default');
      expect(kc.files).toEqual([a, b]);
    } finally {
      process.env.KUBECONFIG = prev;
    }
  });

  it('--kubeconfig wins over KUBECONFIG and must exist', async () => {
    expect(kubeconfigPaths('/x/config', { KUBECONFIG: '/a:/b' })).toEqual(['/x/config']);
    expect(kubeconfigPaths(undefined, { KUBECONFIG: `/a${delimiter}/b` })).toEqual(['/a', '/b']);
    await expect(loadKubeconfig('/nonexistent/kubeconfig')).rejects.toThrow(
      '--kubeconfig /nonexistent/kubeconfig: no such file',
    );
  });

  it('resolves relative file references against the file that holds them', async () => {
    const d = tempDir();
    const p = writeFile(d, 'config', kubeconfig('c', 'https://127.0.0.1:1', { current: 'c', ca: 'certs/ca.pem' }));
    const kc = await loadKubeconfig(p);
    expect(kc.clusters.get('c')?.['certificate-authority']).toBe(join(d, 'certs/ca.pem'));
    const doc = singleContextDoc(kc, 'c') as { contexts: { name: string }[]; clusters: { name: string }[] };
    expect(doc.contexts.map((c) => c.name)).toEqual(['c']);
    expect(doc.clusters.map((c) => c.name)).toEqual(['c']);
  });

  it('names the flag and the known contexts for an unknown context', async () => {
    const d = tempDir();
    const p = writeFile(d, 'config', kubeconfig('c', 'https://127.0.0.1:1', { current: 'c' }));
    const kc = await loadKubeconfig(p);
    expect(() => pickContext(kc, 'nope', '--mgmt-context')).toThrow(
      '--mgmt-context "nope" is not a context of the kubeconfig (known: c)',
    );
    expect(pickContext(kc, undefined).name).toBe('c');
  });

  it('rejects a kubeconfig that is not YAML with the file name', async () => {
    const d = tempDir();
    const p = writeFile(d, 'config', 'clusters: [unclosed');
    await expect(loadKubeconfig(p)).rejects.toThrow(`kubeconfig ${p} is not valid YAML`);
  });
});

describe('cluster selection', () => {
  async function three(): Promise<string> {
    const d = tempDir();
    return writeFile(
      d,
      'config',
      `apiVersion: v1
kind: Config
current-context: mgmt
clusters: [{name: mgmt, cluster: {server: "https://127.0.0.1:1"}}, {name: c1, cluster: {server: "https://127.0.0.1:2"}}, {name: c2, cluster: {server: "https://127.0.0.1:3"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: mgmt, context: {cluster: mgmt, user: u}}, {name: c1, context: {cluster: c1, user: u}}, {name: c2, context: {cluster: c2, user: u}}]
`,
    );
  }

  it('defaults to the current context as management and every other context as managed', async () => {
    const set = await resolveClusters({ kubeconfig: await three() });
    expect(set.mgmt.name).toBe('mgmt');
    expect(set.managed.map((c) => c.name)).toEqual(['c1', 'c2']);
    expect(set.all.map((c) => c.name)).toEqual(['mgmt', 'c1', 'c2']);
  });

  it('honours --mgmt-context, --cluster and --all-contexts', async () => {
    const kubeconfig = await three();
    const a = await resolveClusters({ kubeconfig, 'mgmt-context': 'c1', cluster: 'c2' });
    expect([a.mgmt.name, a.managed.map((c) => c.name)]).toEqual(['c1', ['c2']]);
    const b = await resolveClusters({ kubeconfig, 'all-contexts': true });
    expect(b.managed.map((c) => c.name)).toEqual(['mgmt', 'c1', 'c2']);
    expect(b.all.map((c) => c.name)).toEqual(['mgmt', 'c1', 'c2']);
    await expect(resolveClusters({ kubeconfig, cluster: 'c1,zz' })).rejects.toThrow(
      '--cluster names "zz", which is not a context of the kubeconfig (known: mgmt, c1, c2)',
    );
    await expect(resolveClusters({ kubeconfig, cluster: ',' })).rejects.toThrow(
      '--cluster expects a comma-separated list',
    );
  });
});
