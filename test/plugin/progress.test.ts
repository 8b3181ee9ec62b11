// Progress of work on several clusters: one line per cluster, a task list redrawn in place on a
// terminal, plain timestamped lines when piped; and after Ctrl-C, the command that resumes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { clusterTasks, commandLine } from '../../plugin/src/lib/progress.js';
import { BIN_DIR, KUBECTL, buildPlugin, kubectlMeshCert } from './helpers.js';
import { BACKENDS, START_TIMEOUT_MS, startBackend } from '../backend/index.js';
import { useCliWorld } from './cli-world.js';

/** A stream that keeps what is written, as a terminal (isTTY, columns) or a pipe. */
function sink(tty: boolean, columns = 80): Writable & { text: string; isTTY?: boolean; columns?: number } {
  const s = new Writable({
    write(chunk, _enc, cb) {
      s.text += chunk.toString();
      cb();
    },
  }) as Writable & { text: string; isTTY?: boolean; columns?: number };
  s.text = '';
  if (tty) {
    s.isTTY = true;
    s.columns = columns;
  }
  return s;
}

describe('clusterTasks', () => {
  it('piped: one timestamped line per change of a cluster, each cluster named, repeats dropped', () => {
    const out = sink(false);
    const t = clusterTasks(['c1', 'cluster-2'], out as never);
    t.update('c1', 'istio-system/ca: generate-key');
    t.update('c1', 'istio-system/ca: generate-key');
    t.update('cluster-2', 'istio-system/ca: request');
    t.done('c1', 'ok', 'istio-system/ca FINISHED');
    t.done('cluster-2', 'fail', 'istio-system/ca: denied');
    t.stop();
    const lines = out.text.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (c1 {7}|cluster-2) {2}\S/);
    expect(lines.map((l) => l.slice(25))).toEqual([
      'c1         istio-system/ca: generate-key',
      'cluster-2  istio-system/ca: request',
      'c1         ✓ istio-system/ca FINISHED',
      'cluster-2  ✗ istio-system/ca: denied',
    ]);
    expect(out.text).not.toContain('\x1b[');
  });

  it('on a terminal: a list redrawn in place, one line per cluster cut to the width, a mark when done', () => {
    const out = sink(true, 30);
    const t = clusterTasks(['c1', 'c2'], out as never);
    t.update('c1', 'istio-system/a-rather-long-certificate-name: generate-key');
    t.done('c2', 'ok', 'done');
    t.stop();
    const draws = out.text.split(/\x1b\[2A/);
    // The first draw, then every redraw moves up over the two lines it replaces.
    expect(draws.length).toBeGreaterThanOrEqual(2);
    const last = draws[draws.length - 1]!.split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\r\x1b\[2K/, '').replace(/\x1b\[\d+m/g, ''));
    expect(last).toHaveLength(2);
    expect(last[0]).toMatch(/^\S c1 {2}istio-system\/a-rather-…$/);
    expect(last[0]!.length).toBeLessThan(30);
    expect(last[1]).toBe('✓ c2  done');
  });
});

describe('commandLine', () => {
  it('quotes only the words a shell would split or expand', () => {
    expect(
      commandLine([
        'kubectl',
        'mesh-cert',
        'issue',
        'ca',
        '--host',
        'spiffe://a.local/ns/x',
        '--org',
        "ACME's mesh",
        '-l',
        'a=b,c!=d',
      ]),
    ).toBe(`kubectl mesh-cert issue ca --host spiffe://a.local/ns/x --org 'ACME'\\''s mesh' -l 'a=b,c!=d'`);
  });
});

for (const backend of BACKENDS) {
  describe(backend, () => {
    const world = useCliWorld(backend, ['mgmt', 'c1', 'c2']);
    const { mc } = world;
    const ISSUE = (name: string, clusters: string) => [
      'issue',
      name,
      '--mgmt-context',
      'mgmt',
      '--managed-clusters',
      clusters,
      '-n',
      'istio-system',
      '--host',
      `spiffe://${name}.local/ns/istio-system/sa/istiod`,
      '--signing-secret',
      'gloo-mesh/root-ca',
      '--key-size',
      '2048',
    ];

    it("issue piped: timestamped lines naming each cluster as it goes, and each cluster's outcome", async () => {
      const r = await mc(ISSUE('progress-ca', 'c1,c2'));
      expect(r.code, r.stderr).toBe(0);
      for (const c of ['c1', 'c2']) {
        expect(r.stderr).toMatch(new RegExp(`^\\S+Z ${c}  istio-system/progress-ca: generate-key$`, 'm'));
        expect(r.stderr).toMatch(new RegExp(`^\\S+Z ${c}  ✓ istio-system/progress-ca FINISHED$`, 'm'));
      }
      expect(r.stderr).not.toContain('\x1b[');
    }, 60_000);

    it('rotate after Ctrl-C: exit 130, the command that resumes and the --abort that rolls back, which works', async () => {
      const issued = await mc([
        ...ISSUE('rot-int', 'c1,c2'),
        '--virtual-mesh',
        'gloo-mesh/vm-int',
        '--issued-secret',
        'istio-system/rot-int-cacerts',
      ]);
      expect(issued.code, issued.stderr).toBe(0);
      const root2 = await mc([
        'root',
        'create',
        'gloo-mesh/root-int-2',
        '--mgmt-context',
        'mgmt',
        '--key-size',
        '2048',
      ]);
      expect(root2.code, root2.stderr).toBe(0);
      const args = [
        'mesh-cert',
        'rotate',
        '--virtual-mesh',
        'gloo-mesh/vm-int',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1,c2',
        '--new-root-secret',
        'gloo-mesh/root-int-2',
        '--yes',
      ];
      const child = spawn(KUBECTL, args, {
        env: { ...world.env, PATH: `${BIN_DIR}:${process.env.PATH}`, NO_COLOR: '1', HOME: process.env.HOME ?? '/tmp' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const reached = new Promise<void>((r) =>
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/▸ ROTATING ADDING_NEW_ROOT/.test(stderr)) r();
        }),
      );
      expect(await Promise.race([reached.then(() => 'step'), exited.then(() => 'exited')]), stderr).toBe('step');
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain(
        `the rotation is recorded in the management cluster; to resume it: kubectl ${args.join(' ')}\n`,
      );
      const abort = /to roll it back instead: (kubectl mesh-cert rotate .*)\n/.exec(stderr)?.[1];
      expect(abort).toBe(
        'kubectl mesh-cert rotate --virtual-mesh gloo-mesh/vm-int --abort --mgmt-context mgmt --managed-clusters c1,c2',
      );
      const r = await mc(abort!.split(' ').slice(2));
      expect(r.stderr).toMatch(/rotation gloo-mesh\/vm-int-\d{14} FAILED: aborted by the user \(--abort\)/);
      const rot = JSON.parse(
        await world.kubectl('mgmt', [
          'get',
          'certificaterotations.certificates.mesh.gloo.solo.io',
          '-n',
          'gloo-mesh',
          '-o',
          'json',
        ]),
      ).items.find((o: any) => o.spec.virtualMesh.name === 'vm-int');
      expect(rot.status).toMatchObject({ state: 'FAILED', rotationState: 'PREVIOUS_CA' });
    }, 120_000);
  });
}

// Ctrl-C needs a run that is still going: the management cluster stops answering (both
// backends can: test/backend's pause), so issue keeps retrying until interrupted.
for (const backend of BACKENDS) {
  describe(`${backend}: Ctrl-C`, () => {
    let b: Awaited<ReturnType<typeof startBackend>>;
    beforeAll(async () => {
      buildPlugin();
      b = await startBackend(backend, ['mgmt', 'c1']);
      const setup = await kubectlMeshCert(
        ['root', 'create', 'gloo-mesh/root-ca', '--mgmt-context', 'mgmt', '--key-size', '2048'],
        { env: { KUBECONFIG: b.kubeconfigPath } },
      );
      expect(setup.code, setup.stderr).toBe(0);
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await b?.resume('mgmt').catch(() => undefined);
      await b?.stop();
    });

    it('exits 130 and prints the exact command that resumes', async () => {
      await b.pause('mgmt');
      const args = [
        'mesh-cert',
        'issue',
        'int-ca',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c1',
        '-n',
        'default',
        '--host',
        'spiffe://int.local/ns/x',
        '--signing-secret',
        'gloo-mesh/root-ca',
        '--key-size',
        '2048',
        '--request-timeout',
        '1s',
      ];
      const child = spawn(KUBECTL, args, {
        env: {
          KUBECONFIG: b.kubeconfigPath,
          PATH: `${BIN_DIR}:${process.env.PATH}`,
          NO_COLOR: '1',
          HOME: process.env.HOME ?? '/tmp',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // The IssuedCertificate is written in c1; reading the plan from mgmt is then retried.
      await new Promise<void>((r) =>
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/c1 {2}default\/int-ca: retry/.test(stderr)) r();
        }),
      );
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain(
        `interrupted\nthe record is kept in the clusters; to resume, run the same command: kubectl ${args.join(' ')}\n`,
      );
    }, 60_000);
  });
}
