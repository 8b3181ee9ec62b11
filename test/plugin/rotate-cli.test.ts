// `kubectl mesh-cert rotate` as a user runs it, across a management and three managed clusters:
// unattended (--yes), with --verify-command, killed and resumed, refused without a terminal, and
// answered interactively through a pseudo-terminal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN_DIR, KUBECTL, buildPlugin, kubectlMeshCert, privateKeyBlocks, type RunResult } from './helpers.js';
import { opensslVerify, startCliSandbox, unb64 } from './issue-rotate.helpers.js';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';

let world: Awaited<ReturnType<typeof startCliSandbox>>;
let env: Record<string, string>;
const CLUSTERS = ['c1', 'c2', 'c3'];
const ROT = 'certificaterotations.certificates.mesh.gloo.solo.io';

async function mc(args: string[], timeoutMs = 55_000): Promise<RunResult> {
  const r = await kubectlMeshCert(args, { env, timeoutMs });
  expect(privateKeyBlocks(r.stdout + r.stderr)).toEqual([]);
  return r;
}

const kubectl = (context: string, args: string[]) => world.kubectl(context, args);

async function secret(context: string, name: string) {
  const s = JSON.parse(await kubectl(context, ['get', 'secret', name, '-n', 'istio-system', '-o', 'json']));
  return {
    caCert: unb64(s.data['ca-cert.pem']),
    chain: unb64(s.data['cert-chain.pem']),
    root: unb64(s.data['root-cert.pem']),
  };
}

async function assertMutualTrust(out: string, when: string): Promise<void> {
  const s = new Map(await Promise.all(CLUSTERS.map(async (c) => [c, await secret(c, out)] as const)));
  for (const a of CLUSTERS) {
    for (const b of CLUSTERS) {
      const sa = s.get(a)!;
      const v = opensslVerify(sa.caCert, sa.chain, s.get(b)!.root);
      expect(v.ok, `${when}: ${a} against ${b}: ${v.output}`).toBe(true);
    }
  }
}

async function rotations(vm: string): Promise<any[]> {
  return JSON.parse(await kubectl('mgmt', ['get', ROT, '-n', 'gloo-mesh', '-o', 'json'])).items.filter(
    (r: any) => r.spec.virtualMesh.name === vm,
  );
}

/** A VirtualMesh with one certificate per managed cluster, issued through the CLI. */
async function mesh(vm: string): Promise<string> {
  const out = `${vm}-cacerts`;
  const r = await mc([
    'issue',
    vm,
    '--mgmt-context',
    'mgmt',
    '--managed-clusters',
    CLUSTERS.join(','),
    '-n',
    'istio-system',
    '--host',
    `spiffe://${vm}.local/ns/istio-system/sa/istiod`,
    '--signing-secret',
    'gloo-mesh/old-root',
    '--key-size',
    '2048',
    '--issued-secret',
    `istio-system/${out}`,
    '--virtual-mesh',
    `gloo-mesh/${vm}`,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

const ROTATE = (vm: string, ...extra: string[]) => [
  'rotate',
  '--virtual-mesh',
  `gloo-mesh/${vm}`,
  '--mgmt-context',
  'mgmt',
  '--managed-clusters',
  CLUSTERS.join(','),
  ...extra,
];

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      world = await startCliSandbox(['mgmt', ...CLUSTERS], backend);
      env = { KUBECONFIG: world.kubeconfigPath };
      for (const name of ['old-root', 'new-root-a', 'new-root-b', 'new-root-c', 'new-root-d']) {
        const r = await mc([
          'root',
          'create',
          `gloo-mesh/${name}`,
          '--mgmt-context',
          'mgmt',
          '--key-size',
          '2048',
          '--common-name',
          name,
        ]);
        expect(r.code, r.stderr).toBe(0);
      }
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await world?.stop();
    });

    describe('kubectl mesh-cert rotate', () => {
      it('refuses to start without a terminal unless told how to verify, and changes nothing', async () => {
        await mesh('vm-tty');
        const r = await mc(ROTATE('vm-tty', '--new-root-secret', 'gloo-mesh/new-root-a'));
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/--yes/);
        expect(await rotations('vm-tty')).toEqual([]);
      }, 180_000);

      it('rotates unattended with --yes; every cluster trusts every other at the end', async () => {
        const out = await mesh('vm-yes');
        const r = await mc([...ROTATE('vm-yes', '--new-root-secret', 'gloo-mesh/new-root-a', '--yes'), '-o', 'json']);
        expect(r.code, r.stderr).toBe(0);
        const rot = JSON.parse(r.stdout);
        expect(rot.status.state).toBe('FINISHED');
        expect(rot.keysGenerated).toBe(9);
        expect(r.stderr).toMatch(/DELETING_OLD_ROOT/);
        await assertMutualTrust(out, 'after --yes');
        for (const c of CLUSTERS) expect((await secret(c, out)).root.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
      }, 180_000);

      it('runs --verify-command with the clusters in the environment; a non-zero exit rolls back', async () => {
        const out = await mesh('vm-cmd');
        const ok = await mc([
          ...ROTATE(
            'vm-cmd',
            '--new-root-secret',
            'gloo-mesh/new-root-b',
            '--verify-command',
            'test "$MESH_CERT_CLUSTERS" = c1,c2,c3',
          ),
        ]);
        expect(ok.code, ok.stderr).toBe(0);
        expect(ok.stdout).toMatch(/FINISHED/);
        const out2 = await mesh('vm-cmd2');
        const bad = await mc([
          ...ROTATE(
            'vm-cmd2',
            '--new-root-secret',
            'gloo-mesh/new-root-b',
            '--verify-command',
            'echo checking >&2; exit 3',
          ),
        ]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('exited 3');
        const [rot] = await rotations('vm-cmd2');
        expect(rot.status.state).toBe('FAILED');
        expect(rot.status.rotationState).toBe('PREVIOUS_CA');
        await assertMutualTrust(out2, 'after the rollback');
        await assertMutualTrust(out, 'other mesh untouched');
      }, 180_000);

      it('resumes after being killed, with mutual trust at every kill', async () => {
        const out = await mesh('vm-kill');
        // Kill on progress, not after fixed delays: a fast machine would otherwise finish the whole
        // rotation before the last kill. Each run is killed shortly after it enters the next step, so
        // the kills land inside ADDING_NEW_ROOT, PROPAGATING_NEW_INTERMEDIATE, the first
        // verification and DELETING_OLD_ROOT, each in a fresh process resuming the last one.
        const killPoints: [RegExp, number][] = [
          [/▸ ROTATING ADDING_NEW_ROOT/, 150],
          [/▸ ROTATING PROPAGATING_NEW_INTERMEDIATE/, 0],
          [/▸ VERIFYING: /, 0],
          [/▸ ROTATING DELETING_OLD_ROOT/, 50],
        ];
        for (const [marker, delayMs] of killPoints) {
          const child = spawn(
            KUBECTL,
            ['mesh-cert', ...ROTATE('vm-kill', '--new-root-secret', 'gloo-mesh/new-root-c', '--yes')],
            {
              env: { ...env, PATH: `${BIN_DIR}:${process.env.PATH}` },
              stdio: ['ignore', 'ignore', 'pipe'],
            },
          );
          let stderr = '';
          const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
          const reached = new Promise<void>((r) => {
            child.stderr.on('data', (d: Buffer) => {
              stderr += d.toString();
              if (marker.test(stderr)) r();
            });
          });
          const first = await Promise.race([
            reached.then(() => 'marker' as const),
            exited.then(() => 'exited' as const),
          ]);
          expect(first, `the run ended before ${marker}: ${stderr}`).toBe('marker');
          await new Promise((r) => setTimeout(r, delayMs));
          child.kill('SIGKILL');
          await exited;
          await assertMutualTrust(out, `killed at ${marker.source}`);
        }
        const r = await mc(ROTATE('vm-kill', '--new-root-secret', 'gloo-mesh/new-root-c', '--yes'));
        expect(r.code, r.stderr).toBe(0);
        expect(await rotations('vm-kill')).toHaveLength(1);
        expect((await rotations('vm-kill'))[0].status.state).toBe('FINISHED');
        await assertMutualTrust(out, 'resumed to the end');
      }, 180_000);

      it('answers the interactive prompts through a pseudo-terminal', async () => {
        const out = await mesh('vm-pty');
        const cmd = [KUBECTL, 'mesh-cert', ...ROTATE('vm-pty', '--new-root-secret', 'gloo-mesh/new-root-d')]
          .map((a) => `'${a}'`)
          .join(' ');
        const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
          env: { ...env, PATH: `${BIN_DIR}:${process.env.PATH}`, TERM: 'xterm' },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let seen = '';
        let answered = 0;
        const done = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
        child.stdout.on('data', (d: Buffer) => {
          seen += d.toString();
          // one prompt per verification step (inquirer redraws the question when answered)
          const prompts = new Set([...seen.matchAll(/After (\w+): is traffic between the clusters/g)].map((m) => m[1]))
            .size;
          if (prompts > answered) {
            answered = prompts;
            setTimeout(() => child.stdin.write('\r'), 200); // Enter: the default, "continue"
          }
        });
        const code = await done;
        expect(answered, seen).toBe(2);
        expect(code, seen).toBe(0);
        expect(seen).toMatch(/verified by 3\/3/);
        expect((await rotations('vm-pty'))[0].status.state).toBe('FINISHED');
        await assertMutualTrust(out, 'after the interactive rotation');
      }, 180_000);

      // fault injection: the sandbox only
      if (backend === 'sandbox')
        it('exits 124 when a step runs out of --timeout, naming the step and the cluster not done', async () => {
          await mesh('vm-slow');
          const c3 = world.sandbox!.clusters.get('c3')!;
          const child = spawn(
            KUBECTL,
            [
              'mesh-cert',
              ...ROTATE('vm-slow', '--new-root-secret', 'gloo-mesh/new-root-a', '--yes', '--timeout', '3s'),
            ],
            {
              env: { ...env, PATH: `${BIN_DIR}:${process.env.PATH}` },
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let stderr = '';
          let stopping: Promise<void> | undefined;
          child.stdout.resume();
          child.stderr.on('data', (d: Buffer) => {
            stderr += d.toString();
            // c3 goes away once the rotation has started (preflight passed): a step then waits for it.
            if (!stopping && /▸ ROTATING ADDING_NEW_ROOT/.test(stderr)) stopping = c3.stop();
          });
          const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
          try {
            expect(stopping, stderr).toBeDefined();
            expect(code, stderr).toBe(124);
            expect(stderr).toMatch(
              /error: step [A-Z_]+ of rotation gloo-mesh\/vm-slow-\S+ timed out after --timeout 3s waiting for cluster\(s\) c3;/,
            );
            expect(stderr).not.toMatch(/waiting for cluster\(s\) [^;]*c[12]/);
          } finally {
            await stopping;
            await c3.start();
          }
          expect((await rotations('vm-slow'))[0].status.state).toBe('FAILED');
        }, 180_000);
    });
  });
}
