// `status` across three clusters, every output format, and one cluster unreachable; on both
// backends (the sandbox and the real control plane).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import {
  apply,
  b64,
  BIN_DIR,
  buildPlugin,
  KUBECTL,
  kubectl,
  kubectlMeshCert,
  opensslFingerprint,
  patchStatus,
  privateKeyBlocks,
  tempDir,
} from './helpers.js';
import { cacertsSecret, GLOO, makeIntermediate, makeRoot, namespace, rootSecret, ZEPHYR, type Ca } from './fixtures.js';

let backend: Backend;
let env: Record<string, string>;
let root: Ca;
let dir: string;

interface Row {
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  state: string;
  generationLag: boolean;
  error?: string;
  daysLeft?: number;
  notAfter?: string;
  rootFingerprint?: string;
  rotationState?: string;
  observedRotationState?: string;
}

async function setUp(kind: Backend['kind']): Promise<void> {
  buildPlugin();
  dir = tempDir();
  backend = await startBackend(kind, ['mgmt', 'east', 'west']);
  env = { KUBECONFIG: backend.kubeconfigPath };
  const k = backend.kubeconfigPath;
  root = await makeRoot('status root');
  const east = await makeIntermediate(root, 'east', 200, ['spiffe://east.local']);
  const west = await makeIntermediate(root, 'west', 10, ['spiffe://west.local']);

  await apply(k, 'mgmt', namespace('gloo-mesh'), rootSecret('gloo-mesh', 'root-ca', root), {
    apiVersion: GLOO,
    kind: 'CertificateRotation',
    metadata: { name: 'rot-1', namespace: 'gloo-mesh' },
    spec: {
      virtualMesh: { name: 'vm', namespace: 'gloo-mesh' },
      newRootCaSecret: { name: 'root-ca', namespace: 'gloo-mesh' },
    },
  });
  await patchStatus(k, 'mgmt', 'certificaterotations.certificates.mesh.gloo.solo.io', 'gloo-mesh', 'rot-1', {
    observedGeneration: 1,
    state: 'ROTATING',
    rotationState: 'ADDING_NEW_ROOT',
  });

  const ic = (name: string, extra: object = {}) => ({
    apiVersion: GLOO,
    kind: 'IssuedCertificate',
    metadata: { name, namespace: 'istio-system', labels: { mesh: name } },
    spec: {
      hosts: [`spiffe://${name}.local`],
      issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
      glooMeshCa: { signingCertificateSecret: { name: 'root-ca', namespace: 'gloo-mesh' } },
      ...extra,
    },
  });
  await apply(
    k,
    'east',
    namespace('istio-system'),
    cacertsSecret('istio-system', 'cacerts', east, root),
    ic('east', { rotationState: 'ADDING_NEW_ROOT' }),
    {
      apiVersion: ZEPHYR,
      kind: 'VirtualMeshCertificateSigningRequest',
      metadata: { name: 'vmcsr-east', namespace: 'istio-system' },
      spec: {
        csrData: b64(east.csrPem),
        certConfig: { hosts: ['spiffe://east.local'], org: 'mesh-cert-test', meshType: 'ISTIO' },
        virtualMeshRef: { name: 'vm', namespace: 'gloo-mesh', cluster: 'mgmt' },
      },
    },
  );
  // The CRDs allow only legal moves: walk the IssuedCertificate through its states.
  for (const state of ['REQUESTED', 'ISSUED', 'FINISHED']) {
    await patchStatus(k, 'east', 'issuedcertificates.certificates.mesh.gloo.solo.io', 'istio-system', 'east', {
      observedGeneration: 1,
      state,
      observedRotationState: 'ADDING_NEW_ROOT',
    });
  }

  // west: a FAILED IssuedCertificate, and a CertificateRequest whose certificate expires in 10 days.
  await apply(k, 'west', namespace('istio-system'), ic('west'), {
    apiVersion: GLOO,
    kind: 'CertificateRequest',
    metadata: { name: 'west', namespace: 'istio-system' },
    spec: { certificateSigningRequest: b64(west.csrPem) },
  });
  await patchStatus(k, 'west', 'issuedcertificates.certificates.mesh.gloo.solo.io', 'istio-system', 'west', {
    observedGeneration: 1,
    state: 'FAILED',
    error: 'signing Secret gloo-mesh/root-ca not found',
  });
  await patchStatus(k, 'west', 'certificaterequests.certificates.mesh.gloo.solo.io', 'istio-system', 'west', {
    observedGeneration: 1,
    state: 'FINISHED',
    signedCertificate: b64(west.certPem),
    signingRootCa: b64(root.certPem),
  });
}

async function statusJson(args: string[] = []): Promise<{ code: number; rows: Row[]; stderr: string }> {
  const r = await kubectlMeshCert(['status', '-o', 'json', ...args], { env });
  const list = JSON.parse(r.stdout);
  expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
  // issue 19: the items are the objects themselves, annotated with their cluster and what status computed
  return { code: r.code, rows: list.items.map(rowOf), stderr: r.stderr };
}

function rowOf(o: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations: Record<string, string> };
}): Row {
  expect(o.apiVersion).toMatch(/\//);
  expect(o.metadata.annotations['mesh-cert.solo.io/cluster']).toBeTruthy();
  return {
    cluster: o.metadata.annotations['mesh-cert.solo.io/cluster'],
    kind: o.kind,
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    ...JSON.parse(o.metadata.annotations['mesh-cert.solo.io/status-report']),
  };
}

for (const kind of BACKENDS)
  describe(`status (${kind})`, () => {
    beforeAll(() => setUp(kind), START_TIMEOUT_MS);
    afterAll(async () => {
      await backend?.stop();
    });

    it('lists every kind on every cluster, with the certificate facts', async () => {
      const { code, rows, stderr } = await statusJson();
      const key = (r: Row) => `${r.cluster}/${r.kind}/${r.name}`;
      expect(rows.map(key).sort()).toEqual([
        'east/IssuedCertificate/east',
        'east/VirtualMeshCertificateSigningRequest/vmcsr-east',
        'mgmt/CertificateRotation/rot-1',
        'west/CertificateRequest/west',
        'west/IssuedCertificate/west',
      ]);
      const east = rows.find((r) => r.name === 'east')!;
      expect(east).toMatchObject({
        state: 'FINISHED',
        generationLag: false,
        rotationState: 'ADDING_NEW_ROOT',
        observedRotationState: 'ADDING_NEW_ROOT',
      });
      expect(east.rootFingerprint).toBe(opensslFingerprint(dir, root.certPem));
      expect(east.daysLeft).toBeGreaterThanOrEqual(198);
      expect(east.daysLeft).toBeLessThanOrEqual(200);
      const westCr = rows.find((r) => r.kind === 'CertificateRequest')!;
      expect(westCr).toMatchObject({ state: 'FINISHED', cluster: 'west' });
      expect(westCr.daysLeft).toBeLessThanOrEqual(10);
      expect(rows.find((r) => r.kind === 'IssuedCertificate' && r.cluster === 'west')).toMatchObject({
        state: 'FAILED',
        error: 'signing Secret gloo-mesh/root-ca not found',
      });
      expect(rows.find((r) => r.kind === 'CertificateRotation')).toMatchObject({
        state: 'ROTATING',
        rotationState: 'ADDING_NEW_ROOT',
      });
      // FAILED and a certificate within 30 days: exit 1, both named on stderr.
      expect(code).toBe(1);
      expect(stderr).toContain(
        'problem: IssuedCertificate istio-system/west on cluster west is FAILED: signing Secret gloo-mesh/root-ca not found',
      );
      expect(stderr).toMatch(
        /warning: CertificateRequest istio-system\/west on cluster west: certificate expires in \d+ days .* within --warn-days 30/,
      );
    });

    it('prints a table, a wide table, headerless rows, YAML and names', async () => {
      const t = await kubectlMeshCert(['status'], { env });
      const lines = t.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^CLUSTER\s+NAMESPACE\s+NAME\s+KIND\s+STATE\s+DAYS\s+ROOT\s+ERROR$/);
      // five rows, then a blank line and the progress of the active rotation (its VirtualMesh has no IssuedCertificate here)
      expect(lines).toHaveLength(8);
      expect(lines[6]).toBe('');
      expect(lines[7]).toBe(
        '▸ CertificateRotation gloo-mesh/rot-1 (virtualMesh gloo-mesh/vm) ROTATING ADDING_NEW_ROOT: no IssuedCertificate of the VirtualMesh found',
      );
      expect(t.stdout).toMatch(
        /^east\s+istio-system\s+east\s+IssuedCertificate\s+FINISHED\s+\d+\s+[0-9A-F]{2}(:[0-9A-F]{2}){3}$/m,
      );
      // the rotation's step is in the line below the table (and -o wide); the VMCSR by its short name
      expect(t.stdout).toMatch(/^mgmt\s+gloo-mesh\s+rot-1\s+CertificateRotation\s+ROTATING\s+-\s+-$/m);
      expect(t.stdout).toMatch(/^east\s+istio-system\s+vmcsr-east\s+VMCSR\s/m);
      // its dates come from its CertificateRequest, 10 days: DAYS within --warn-days
      expect(t.stdout).toMatch(
        /^west\s+istio-system\s+west\s+IssuedCertificate\s+FAILED\s+\d\s+[0-9A-F:]{11}\s+signing Secret /m,
      );
      const w = await kubectlMeshCert(['status', '-o', 'wide'], { env });
      expect(w.stdout.split('\n')[0]).toMatch(
        /^CLUSTER\s+NAMESPACE\s+NAME\s+KIND\s+STATE\s+DRIVER\s+SYNCED\s+NOT AFTER\s+DAYS\s+ROOT\s+TRUSTS\s+ANCHOR\s+ROTATION\s+DETAIL\s+ERROR$/,
      );
      expect(w.stdout).toContain(opensslFingerprint(dir, root.certPem));
      expect(w.stdout).toMatch(
        /east\s+istio-system\s+east\s+IssuedCertificate\s+FINISHED\s+mesh-cert\s+yes\s+\d{4}-\d\d-\d\d\s+\d+\s+[0-9A-F:]{95}\s.*ADDING_NEW_ROOT\/ADDING_NEW_ROOT/,
      );
      expect(w.stdout).toMatch(/east\s+istio-system\s+vmcsr-east\s+VirtualMeshCertificateSigningRequest\s/);
      expect(w.stdout).toMatch(/^mgmt\s+gloo-mesh\s+rot-1\s+CertificateRotation\s+ROTATING\s.*\sADDING_NEW_ROOT\s/m);
      const nh = await kubectlMeshCert(['status', '--no-headers'], { env });
      expect(nh.stdout.trimEnd().split('\n')).toHaveLength(5);
      expect(nh.stdout).not.toContain('CLUSTER');
      const y = await kubectlMeshCert(['status', '-o', 'yaml'], { env });
      const list = parseYaml(y.stdout);
      expect(list.kind).toBe('List');
      expect(list.items).toHaveLength(5);
      const n = await kubectlMeshCert(['status', '-o', 'name'], { env });
      expect(n.stdout.trim().split('\n').sort()).toEqual([
        'east/issuedcertificate.certificates.mesh.gloo.solo.io/east',
        'east/virtualmeshcertificatesigningrequest.security.zephyr.solo.io/vmcsr-east',
        'mgmt/certificaterotation.certificates.mesh.gloo.solo.io/rot-1',
        'west/certificaterequest.certificates.mesh.gloo.solo.io/west',
        'west/issuedcertificate.certificates.mesh.gloo.solo.io/west',
      ]);
      for (const r of [t, w, nh, y, n]) expect(privateKeyBlocks(r.stdout + r.stderr)).toEqual([]);
    });

    it('exits 0 when nothing failed and nothing expires within --warn-days', async () => {
      const r = await kubectlMeshCert(['status', '--managed-clusters', 'east', '--mgmt-context', 'east'], { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const soon = await kubectlMeshCert(
        ['status', '--managed-clusters', 'east', '--mgmt-context', 'east', '--warn-days', '365'],
        { env },
      );
      expect(soon.code).toBe(3); // issue 19: warnings only
      expect(soon.stderr).toMatch(/within --warn-days 365/);
    });

    it('filters by namespace and label selector', async () => {
      const { rows } = await statusJson(['-n', 'gloo-mesh']);
      expect(rows.map((r) => r.name)).toEqual(['rot-1']);
      const sel = await statusJson(['-l', 'mesh=west']);
      expect(sel.rows.map((r) => `${r.cluster}/${r.name}`)).toEqual(['west/west']);
      const bad = await kubectlMeshCert(['status', '-n', 'x', '-A'], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr.trim()).toBe('error: -n/--namespace and -A/--all-namespaces cannot be used together');
    });

    it('reports an unreachable cluster without hiding the others', async () => {
      // The sandbox refuses connections; the real apiserver, frozen, never answers: --request-timeout bounds the wait.
      await backend.pause('west');
      try {
        const { code, rows, stderr } = await statusJson(['--request-timeout', '3s']);
        expect(code).toBe(1);
        expect(
          rows
            .filter((r) => r.cluster === 'east')
            .map((r) => r.name)
            .sort(),
        ).toEqual(['east', 'vmcsr-east']);
        expect(rows.filter((r) => r.cluster === 'mgmt')).toHaveLength(1);
        // issue 19: -o json holds Kubernetes objects only; the unreachable cluster is named on stderr (and in the table)
        expect(rows.filter((r) => r.cluster === 'west')).toEqual([]);
        expect(stderr).toMatch(/problem: cluster "west" is unreachable: /);
        const t = await kubectlMeshCert(['status', '--request-timeout', '3s'], { env });
        expect(t.stdout).toMatch(/west\s+-\s+west\s+Cluster\s+UNREACHABLE/);
        expect(t.stdout).toMatch(/east\s+istio-system\s+east\s+IssuedCertificate\s+FINISHED/);
        // the table; the sentences below it (rotation progress, trust) are left to the terminal to wrap
        for (const line of t.stdout.split('\n\n')[0]!.split('\n')) expect(line.length, line).toBeLessThanOrEqual(120);
      } finally {
        await backend.resume('west');
      }
    });

    it('keeps the default table within 120 columns, cutting a long error that stderr and -o wide carry whole', async () => {
      const long = `signing Secret gloo-mesh/root-ca not found; ${'the issuer said more than fits on one line '.repeat(4).trim()}`;
      await patchStatus(
        backend.kubeconfigPath,
        'west',
        'issuedcertificates.certificates.mesh.gloo.solo.io',
        'istio-system',
        'west',
        { error: long },
      );
      try {
        const t = await kubectlMeshCert(['status'], { env });
        const table = t.stdout.split('\n\n')[0]!.split('\n');
        for (const line of table) expect(line.length, line).toBeLessThanOrEqual(120);
        expect(table.find((l) => l.startsWith('west') && l.includes('IssuedCertificate'))).toMatch(
          /FAILED\s+\d\s+[0-9A-F:]{11}\s+signing Secret.*…$/,
        );
        expect(table.some((l) => l.length === 120)).toBe(true);
        expect(t.stderr).toContain(`problem: IssuedCertificate istio-system/west on cluster west is FAILED: ${long}\n`);
        const w = await kubectlMeshCert(['status', '-o', 'wide'], { env });
        expect(w.stdout).toContain(long);
      } finally {
        await patchStatus(
          backend.kubeconfigPath,
          'west',
          'issuedcertificates.certificates.mesh.gloo.solo.io',
          'istio-system',
          'west',
          { error: 'signing Secret gloo-mesh/root-ca not found' },
        );
      }
    });

    it('marks a state written for an older generation (stale); -o wide says so in SYNCED', async () => {
      await kubectl(backend.kubeconfigPath, 'west', [
        'patch',
        'issuedcertificates.certificates.mesh.gloo.solo.io',
        'west',
        '-n',
        'istio-system',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { hosts: ['spiffe://west.local', 'spiffe://west2.local'] } }),
      ]);
      const t = await kubectlMeshCert(['status', '--managed-clusters', 'west', '--mgmt-context', 'mgmt'], { env });
      expect(t.stdout).toMatch(/^west\s+istio-system\s+west\s+IssuedCertificate\s+FAILED \(stale\)\s/m);
      const w = await kubectlMeshCert(
        ['status', '--managed-clusters', 'west', '--mgmt-context', 'mgmt', '-o', 'wide'],
        { env },
      );
      expect(w.stdout).toMatch(/^west\s+istio-system\s+west\s+IssuedCertificate\s+FAILED\s+mesh-cert\s+no \(1\/2\)\s/m);
      // caught up: plain again
      await patchStatus(
        backend.kubeconfigPath,
        'west',
        'issuedcertificates.certificates.mesh.gloo.solo.io',
        'istio-system',
        'west',
        { observedGeneration: 2 },
      );
      const again = await kubectlMeshCert(['status', '--managed-clusters', 'west', '--mgmt-context', 'mgmt'], { env });
      expect(again.stdout).toMatch(/^west\s+istio-system\s+west\s+IssuedCertificate\s+FAILED\s+\d/m);
    });

    it('colours the STATE column on a terminal only: not piped, not with NO_COLOR', async () => {
      const onTerminal = async (extra: Record<string, string>) => {
        // script(1) gives the command a pseudo-terminal as stdout.
        const r = await runIn(
          ['script', '-qec', 'kubectl mesh-cert status --managed-clusters east,west --mgmt-context mgmt', '/dev/null'],
          { KUBECONFIG: backend.kubeconfigPath, TERM: 'xterm', ...extra },
        );
        return r.replace(/\r\n/g, '\n');
      };
      const tty = await onTerminal({});
      expect(tty).toMatch(/\x1b\[32mFINISHED\x1b\[0m/);
      expect(tty).toMatch(/\x1b\[31mFAILED\x1b\[0m/);
      // days within --warn-days in the colour of a warning
      expect(tty).toMatch(/\x1b\[33m\d+\x1b\[0m/);
      // escapes take no width: the columns line up as in plain text
      const plain = (
        await kubectlMeshCert(['status', '--managed-clusters', 'east,west', '--mgmt-context', 'mgmt'], { env })
      ).stdout;
      expect(plain).not.toMatch(/\x1b/);

      const stripped = tty.replace(/\x1b\[[0-9;]*m/g, '');
      expect(stripped.split('\n').filter((l) => / istio-system /.test(l))).toEqual(
        plain.split('\n').filter((l) => / istio-system /.test(l)),
      );
      expect(await onTerminal({ NO_COLOR: '1' })).not.toMatch(/\x1b\[/);
    });

    it('prints -o jsonpath= and -o custom-columns= over the List of objects, as kubectl does', async () => {
      const jp = await kubectlMeshCert(
        [
          'status',
          '-o',
          `jsonpath={range .items[*]}{.metadata.annotations.mesh-cert\\.solo\\.io/cluster}{" "}{.kind}{"/"}{.metadata.name}{"\\n"}{end}`,
        ],
        { env },
      );
      expect(jp.stdout.trim().split('\n').sort()).toEqual([
        'east IssuedCertificate/east',
        'east VirtualMeshCertificateSigningRequest/vmcsr-east',
        'mgmt CertificateRotation/rot-1',
        'west CertificateRequest/west',
        'west IssuedCertificate/west',
      ]);
      expect(jp.code).toBe(1); // the same findings, the same exit code
      const cc = await kubectlMeshCert(
        [
          'status',
          '-o',
          'custom-columns=NAME:.metadata.name,STATE:.status.state,CLUSTER:.metadata.annotations.mesh-cert\\.solo\\.io/cluster',
          '-l',
          'mesh',
        ],
        { env },
      );
      expect(cc.stdout).toBe('NAME   STATE      CLUSTER\neast   FINISHED   east\nwest   FAILED     west\n');
      const bad = await kubectlMeshCert(['status', '-o', 'custom-columns=NAME'], { env });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('"NAME" is not HEADER:.path');
    });

    it('--watch redraws when something changes and exits 130 on Ctrl-C', async () => {
      const child = spawn(
        KUBECTL,
        [
          'mesh-cert',
          'status',
          '--watch',
          '--interval',
          '300ms',
          '-o',
          'json',
          '--managed-clusters',
          'east',
          '--mgmt-context',
          'east',
        ],
        {
          env: {
            PATH: `${BIN_DIR}:${process.env.PATH}`,
            KUBECONFIG: backend.kubeconfigPath,
            HOME: process.env.HOME ?? '/tmp',
          },
        },
      );
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const waitFor = async (pred: () => boolean) => {
        for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
        expect(pred()).toBe(true);
      };
      await waitFor(() => out.includes('"FINISHED"'));
      await patchStatus(
        backend.kubeconfigPath,
        'east',
        'issuedcertificates.certificates.mesh.gloo.solo.io',
        'istio-system',
        'east',
        { observedGeneration: 1, state: 'FAILED', error: 'watch test' },
      );
      await waitFor(() => out.includes('"watch test"'));
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // kubectl execs the plugin in its own process, so the signal reaches the plugin itself.
      child.kill('SIGINT');
      const code = await exit;
      expect(code).toBe(130);
    });
  });

/** stdout of a command run as a user would, with plugin/bin on PATH; rejects on a signal. */
function runIn(argv: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { PATH: `${BIN_DIR}:${process.env.PATH}`, HOME: process.env.HOME ?? '/tmp', ...env },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (_code, signal) => (signal ? reject(new Error(`${argv.join(' ')}: ${signal}`)) : resolve(out)));
  });
}
