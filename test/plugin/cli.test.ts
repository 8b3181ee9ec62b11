// The CLI as kubectl runs it, where no cluster is needed: help, usage errors, completion.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin, kubectlMeshCert, tempDir, writeFile } from './helpers.js';

let kubeconfig: string;

beforeAll(() => {
  buildPlugin();
  kubeconfig = writeFile(
    tempDir(),
    'config',
    `apiVersion: v1
kind: Config
current-context: mgmt
clusters: [{name: mgmt, cluster: {server: "https://127.0.0.1:9"}}, {name: east, cluster: {server: "https://127.0.0.1:9"}}, {name: west, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: mgmt, context: {cluster: mgmt, user: u}}, {name: east, context: {cluster: east, user: u}}, {name: west, context: {cluster: west, user: u}}]
`,
  );
});

describe('kubectl mesh-cert: help and usage', () => {
  it('is found by kubectl and its help reads "kubectl mesh-cert"', async () => {
    const r = await kubectlMeshCert(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('$ kubectl mesh-cert [COMMAND]');
    for (const c of ['status', 'check', 'approve', 'deny', 'completion'])
      expect(r.stdout).toMatch(new RegExp(`\\n  ${c}\\s`));
    expect(r.stdout).toMatch(/\n {2}root\s+Create or import root CAs/);
    expect(r.stdout).not.toContain('__complete');
  });

  it('shows command usage with spaces between topic and command', async () => {
    const r = await kubectlMeshCert(['root', 'create', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('$ kubectl mesh-cert root create SECRET');
    expect(r.stdout).toContain('--from-files');
  });

  it('rejects an unknown flag in one line on stderr with exit code 1', async () => {
    const r = await kubectlMeshCert(['status', '--bogus', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual(['error: Nonexistent flag: --bogus']);
  });

  it('rejects a bad -o value naming the allowed ones', async () => {
    const r = await kubectlMeshCert(['status', '-o', 'xml', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Expected --output=xml to be one of: table, wide, json, yaml, name');
  });

  it('names the unknown context and the known ones', async () => {
    const r = await kubectlMeshCert(['status', '--kubeconfig', kubeconfig, '--context', 'nowhere']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'error: --context "nowhere" is not a context of the kubeconfig (known: mgmt, east, west)',
    );
  });

  it('says which kubeconfig is missing', async () => {
    const r = await kubectlMeshCert(['status', '--kubeconfig', '/nonexistent/config']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: --kubeconfig /nonexistent/config: no such file');
  });

  it('prints a stack trace only with --verbose', async () => {
    const quiet = await kubectlMeshCert(['status', '--kubeconfig', '/nonexistent/config']);
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const verbose = await kubectlMeshCert(['status', '--kubeconfig', '/nonexistent/config', '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('rejects a malformed NAMESPACE/NAME before touching a cluster', async () => {
    const r = await kubectlMeshCert(['root', 'create', 'a/b/c', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: SECRET must be NAMESPACE/NAME, got "a/b/c"');
    const r2 = await kubectlMeshCert(['inspect', 'secret', 'Bad_NS/x', '--kubeconfig', kubeconfig]);
    expect(r2.stderr.trim()).toContain('namespace "Bad_NS" is not a valid namespace name');
  });

  it('rejects a bad --interval duration naming the flag', async () => {
    const r = await kubectlMeshCert(['status', '--interval', 'soon', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: --interval expects a duration such as 30s, 5m or 1h, got "soon"');
  });
});

describe('kubectl plugin completion', () => {
  it('prints the kubectl_complete-mesh_cert script', async () => {
    const r = await kubectlMeshCert(['completion', 'kubectl']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#!\/usr\/bin\/env sh/);
    expect(r.stdout).toContain('exec kubectl-mesh_cert __complete "$@"');
    const bad = await kubectlMeshCert(['completion', 'fish']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Expected fish to be one of: kubectl');
  });

  const complete = async (...words: string[]) => {
    const r = await kubectlMeshCert(['__complete', ...words], { env: { KUBECONFIG: kubeconfig } });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    return { values: lines.slice(0, -1).map((l) => l.split('\t')[0]), directive: lines[lines.length - 1] };
  };

  it('completes commands and topics', async () => {
    const all = await complete('');
    expect(all.values).toEqual(
      expect.arrayContaining(['status', 'check', 'approve', 'deny', 'root', 'inspect', 'completion']),
    );
    expect(all.values).not.toContain('__complete');
    expect(all.directive).toBe(':4');
    expect((await complete('st')).values).toEqual(['status']);
    expect((await complete('inspect', '')).values).toEqual(['certificaterequest', 'secret']);
  });

  it('completes flags, flag values and contexts', async () => {
    expect((await complete('status', '--al')).values).toEqual(['--all-namespaces', '--all-contexts']);
    expect((await complete('status', '-o', '')).values).toEqual(['table', 'wide', 'json', 'yaml', 'name']);
    expect((await complete('status', '--output=y')).values).toEqual(['--output=yaml']);
    expect((await complete('status', '--context', '')).values).toEqual(['mgmt', 'east', 'west']);
    const list = await complete('status', '--cluster', 'east,');
    expect(list.values).toEqual(['east,mgmt', 'east,west']);
    expect(list.directive).toBe(':6');
  });

  it('does not show help when the words contain --help', async () => {
    const r = await complete('status', '--help', '--con');
    expect(r.values).toEqual(['--context']);
  });

  it('answers with no candidates (not an error) when the cluster is unreachable', async () => {
    const r = await complete('status', '-n', '');
    expect(r.values).toEqual([]);
    expect(r.directive).toBe(':4');
  });
});

// issue 19: help CMD, did-you-mean for commands and flags, kubectl-style usage, --managed-clusters
describe('kubectl mesh-cert: help and did-you-mean (issue 19)', () => {
  it('answers help CMD and prints usage without docopts artefacts', async () => {
    const h = await kubectlMeshCert(['help', 'status']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('$ kubectl mesh-cert status [flags]');
    const r = await kubectlMeshCert(['rotate', '--help'], { env: { COLUMNS: '120' } });
    expect(r.stdout).toContain('$ kubectl mesh-cert rotate --virtual-mesh <value> [flags]');
    expect(r.stdout).not.toMatch(/\|\s+\|/);
    // one wrap: a description paragraph is not broken at the source's line ends
    expect(r.stdout).toContain('(trust old+new, intermediates signed by the old root), PROPAGATING_NEW_INTERMEDIATE');
  });

  it('suggests the closest command and flag', async () => {
    const c = await kubectlMeshCert(['stauts']);
    expect(c.code).toBe(1);
    expect(c.stderr.trim()).toBe(
      'error: unknown command "stauts" for "kubectl mesh-cert"; did you mean "status"? (kubectl mesh-cert --help lists the commands)',
    );
    const f = await kubectlMeshCert(['status', '--contxt', 'x']);
    expect(f.stderr.trim()).toBe('error: Nonexistent flag: --contxt (did you mean --context for --contxt?)');
  });

  it('warns that --cluster is the deprecated name of --managed-clusters', async () => {
    const r = await kubectlMeshCert(['status', '--cluster', 'east', '--kubeconfig', '/nonexistent/config']);
    expect(r.stderr).toContain('warning: --cluster is deprecated and will be removed: use --managed-clusters');
  });
});
