// The real /usr/bin/kubectl against the sandbox: apply of the repository's CRDs and of objects,
// get (table and -o json), patch (merge, json, strategic, --subresource=status), a watch, a stale
// update, create secret generic, selectors, chunked lists, delete, and contexts per cluster.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CRD_DIR, startSandbox, type Sandbox } from './index.js';
import { kubectlFor, type RunResult } from './helpers.js';
import { spawn } from 'node:child_process';

let sb: Sandbox;
let k: (args: string[], input?: string) => Promise<RunResult>;

const ok = async (args: string[], input?: string): Promise<string> => {
  const r = await k(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};

const icert = (name: string, ttlDays = 30): string => `apiVersion: certificates.mesh.gloo.solo.io/v1
kind: IssuedCertificate
metadata:
  name: ${name}
  namespace: istio-system
  labels: {mesh: m1}
spec:
  hosts: ["spiffe://cluster1/ns/istio-system/sa/istiod"]
  certOptions: {ttlDays: ${ttlDays}, orgName: gloo-mesh}
  glooMeshCa:
    signingCertificateSecret: {name: root, namespace: gloo-mesh}
  issuedCertificateSecret: {name: cacerts, namespace: istio-system}
`;

beforeAll(async () => {
  sb = await startSandbox({ clusters: ['mgmt', 'cluster1'], crds: false });
  k = kubectlFor(sb.kubeconfigPath);
});
afterAll(async () => {
  await sb?.stop();
});

describe('kubectl against the sandbox', () => {
  it('applies the CRDs of manifests/crds and serves their kinds', async () => {
    const files = readdirSync(DEFAULT_CRD_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    const out = await ok(['apply', ...files.flatMap((f) => ['-f', join(DEFAULT_CRD_DIR, f)])]);
    expect(out).toContain(
      'customresourcedefinition.apiextensions.k8s.io/issuedcertificates.certificates.mesh.gloo.solo.io created',
    );
    expect(await ok(['get', 'crd', '-o', 'name'])).toContain('issuedcertificates.certificates.mesh.gloo.solo.io');
    const res = await ok(['api-resources', '--api-group=certificates.mesh.gloo.solo.io', '-o', 'name']);
    expect(res.split('\n')).toContain('issuedcertificates.certificates.mesh.gloo.solo.io');
  });

  it('refuses an object in a namespace that does not exist, then applies it (create, unchanged, configured)', async () => {
    const missing = await k(['apply', '-f', '-'], icert('istiod'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('namespaces "istio-system" not found');
    expect(await ok(['create', 'namespace', 'istio-system'])).toContain('namespace/istio-system created');
    expect(await ok(['apply', '-f', '-'], icert('istiod'))).toContain(
      'issuedcertificate.certificates.mesh.gloo.solo.io/istiod created',
    );
    expect(await ok(['apply', '-f', '-'], icert('istiod'))).toContain('unchanged');
    expect(await ok(['apply', '-f', '-'], icert('istiod', 31))).toContain('configured');
    const obj = JSON.parse(await ok(['get', 'icert', 'istiod', '-n', 'istio-system', '-o', 'json']));
    expect(obj.spec.certOptions.ttlDays).toBe(31);
    expect(obj.metadata.generation).toBe(2);
    expect(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"ttlDays":31');
  });

  it('prints the printer columns and patches status through --subresource=status', async () => {
    const out = await ok([
      'patch',
      'icert',
      'istiod',
      '-n',
      'istio-system',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"state":"REQUESTED","observedGeneration":2}}',
    ]);
    expect(out).toContain('issuedcertificate.certificates.mesh.gloo.solo.io/istiod patched');
    const table = await ok(['get', 'icerts', '-n', 'istio-system']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+STATE\s+ROTATION\s+AGE$/);
    expect(table).toMatch(/istiod\s+REQUESTED/);
    const wide = await ok(['get', 'icerts', '-n', 'istio-system', '-o', 'wide']);
    expect(wide.split('\n')[0]).toContain('OBSERVEDGENERATION');
    const obj = JSON.parse(await ok(['get', 'icert', 'istiod', '-n', 'istio-system', '-o', 'json']));
    expect(obj.status).toEqual({ state: 'REQUESTED', observedGeneration: 2 });
    expect(obj.metadata.generation).toBe(2);
  });

  it("shows the CRD's validation failures (schema and CEL) as kubectl prints them", async () => {
    const bad = await k([
      'patch',
      'icert',
      'istiod',
      '-n',
      'istio-system',
      '--type=merge',
      '-p',
      '{"spec":{"certOptions":{"ttlDays":"x"}}}',
    ]);
    expect(bad.code).not.toBe(0);
    // a type error blocks the CEL rules, and kube-apiserver says so
    expect(bad.stderr).toContain(
      'The IssuedCertificate "istiod" is invalid: \n* spec.certOptions.ttlDays: Invalid value: "string": spec.certOptions.ttlDays in body must be of type integer: "string"\n* <nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    );
    const unknown = await k(['apply', '-f', '-'], icert('istiod').replace('  hosts:', '  nope: 1\n  hosts:'));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('strict decoding error: unknown field "spec.nope"');
  });

  it('json and strategic patches; create secret generic; labels and selectors; chunked lists', async () => {
    await ok([
      'patch',
      'icert',
      'istiod',
      '-n',
      'istio-system',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/metadata/labels/extra","value":"yes"}]',
    ]);
    expect(await ok(['get', 'icert', '-n', 'istio-system', '-l', 'extra=yes', '-o', 'name'])).toBe(
      'issuedcertificate.certificates.mesh.gloo.solo.io/istiod\n',
    );
    expect(
      await ok([
        'create',
        'secret',
        'generic',
        'cacerts',
        '-n',
        'istio-system',
        '--from-literal=ca-cert.pem=PEM',
        '--from-literal=root-cert.pem=ROOT',
      ]),
    ).toContain('secret/cacerts created');
    const s = JSON.parse(await ok(['get', 'secret', 'cacerts', '-n', 'istio-system', '-o', 'json']));
    expect(Buffer.from(s.data['root-cert.pem'], 'base64').toString()).toBe('ROOT');
    expect(s.type).toBe('Opaque');
    expect(await ok(['label', 'secret', 'cacerts', '-n', 'istio-system', 'role=ca'])).toContain('labeled');
    await ok([
      'patch',
      'secret',
      'cacerts',
      '-n',
      'istio-system',
      '--type=strategic',
      '-p',
      '{"metadata":{"labels":{"more":"1"}}}',
    ]);
    expect(await ok(['get', 'secrets', '-n', 'istio-system', '-l', 'role=ca,more=1', '-o', 'name'])).toBe(
      'secret/cacerts\n',
    );
    for (let i = 0; i < 5; i++)
      await ok(['create', 'configmap', `cm${i}`, '-n', 'istio-system', `--from-literal=i=${i}`]);
    const chunked = await ok(['get', 'configmaps', '-n', 'istio-system', '--chunk-size=2', '-o', 'name']);
    expect(chunked.trim().split('\n')).toEqual([
      'configmap/cm0',
      'configmap/cm1',
      'configmap/cm2',
      'configmap/cm3',
      'configmap/cm4',
      'configmap/kube-root-ca.crt',
    ]);
    const table = await ok(['get', 'secrets', '-n', 'istio-system']);
    expect(table).toMatch(/cacerts\s+Opaque\s+2\s+/);
  });

  it('a stale update (kubectl replace with an old resourceVersion) gets 409 Conflict', async () => {
    const old = await ok(['get', 'icert', 'istiod', '-n', 'istio-system', '-o', 'json']);
    await ok(['annotate', 'icert', 'istiod', '-n', 'istio-system', 'touched=1']);
    const r = await k(['replace', '-f', '-'], old);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'Operation cannot be fulfilled on issuedcertificates.certificates.mesh.gloo.solo.io "istiod": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('kubectl get --watch -o json sees a status change', async () => {
    const child = spawn(
      '/usr/bin/kubectl',
      [
        '--kubeconfig',
        sb.kubeconfigPath,
        'get',
        'icert',
        'istiod',
        '-n',
        'istio-system',
        '--watch',
        '-o',
        'json',
        '--output-watch-events',
      ],
      { env: { ...process.env, HOME: '/tmp' } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const seen = new Promise<void>((resolve) => {
      child.stdout.on('data', () => {
        if (out.includes('"ISSUED"')) resolve();
      });
    });
    // wait for the initial event before changing anything
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (out.includes('"ADDED"')) {
          clearInterval(t);
          resolve();
        }
      }, 50);
    });
    await ok([
      'patch',
      'icert',
      'istiod',
      '-n',
      'istio-system',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"state":"ISSUED"}}',
    ]);
    await seen;
    child.kill('SIGTERM');
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { status: { state: string } } });
    expect(events.map((e) => `${e.type} ${e.object.status.state}`)).toEqual(['ADDED REQUESTED', 'MODIFIED ISSUED']);
  });

  it('deletes, and reaches each cluster through its own context', async () => {
    expect(await ok(['delete', 'icert', 'istiod', '-n', 'istio-system'])).toContain('deleted');
    const gone = await k(['get', 'icert', 'istiod', '-n', 'istio-system']);
    expect(gone.stderr).toContain('issuedcertificates.certificates.mesh.gloo.solo.io "istiod" not found');
    expect(await ok(['config', 'get-contexts', '-o', 'name'])).toBe('cluster1\nmgmt\n');
    expect(await ok(['config', 'current-context'])).toBe('mgmt\n');
    const other = await k(['--context', 'cluster1', 'get', 'ns', 'istio-system']);
    expect(other.stderr).toContain('namespaces "istio-system" not found');
    expect(await ok(['--context', 'cluster1', 'get', 'ns', 'default', '-o', 'name'])).toBe('namespace/default\n');
  });

  it('without the token kubectl gets 401', async () => {
    const r = await k(['--token', 'wrong', 'get', 'ns']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it('server-side apply, kubectl wait on a pod condition and on a jsonpath, auth can-i', async () => {
    expect(await ok(['apply', '--server-side', '-f', '-'], icert('ssa'))).toContain(
      'issuedcertificate.certificates.mesh.gloo.solo.io/ssa serverside-applied',
    );
    expect(await ok(['apply', '--server-side', '-f', '-'], icert('ssa', 40))).toContain('serverside-applied');
    expect(
      JSON.parse(await ok(['get', 'icert', 'ssa', '-n', 'istio-system', '-o', 'json'])).spec.certOptions.ttlDays,
    ).toBe(40);
    await ok(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p1', namespace: 'istio-system', labels: { app: 'istiod' } },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      }),
    );
    const waiting = k([
      'wait',
      '--for=condition=Ready',
      'pod',
      '-l',
      'app=istiod',
      '-n',
      'istio-system',
      '--timeout=20s',
    ]);
    const jsonpathWait = k([
      'wait',
      '--for=jsonpath={.status.state}=REQUESTED',
      'icert/ssa',
      '-n',
      'istio-system',
      '--timeout=20s',
    ]);
    await ok([
      'patch',
      'pod',
      'p1',
      '-n',
      'istio-system',
      '--subresource=status',
      '--type=strategic',
      '-p',
      '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}',
    ]);
    await ok([
      'patch',
      'icert',
      'ssa',
      '-n',
      'istio-system',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"state":"REQUESTED"}}',
    ]);
    expect((await waiting).stdout).toBe('pod/p1 condition met\n');
    expect((await jsonpathWait).stdout).toBe('issuedcertificate.certificates.mesh.gloo.solo.io/ssa condition met\n');
    expect(await ok(['get', 'pods', '-n', 'istio-system'])).toMatch(/p1\s+1\/1\s+Running/);
    expect(await ok(['auth', 'can-i', 'create', 'issuedcertificates.certificates.mesh.gloo.solo.io'])).toBe('yes\n');
  });
});
