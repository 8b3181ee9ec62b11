// `npm run demo` end to end (after `npm run build`, as `npm test` runs it), on each backend: the
// sandbox (the default) and the real control plane (`--backend kube`). The clusters, the real
// webhook binary and kubectl (and the plugin when built) must carry the whole story.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** `tsx test/demo/demo.ts ARGS`, with MESH_CERT_DEMO_BACKEND only as given. */
function demo(args: string[], timeoutMs: number, backendEnv?: string): Promise<{ code: number; out: string }> {
  const env = { ...process.env };
  delete env.MESH_CERT_DEMO_BACKEND;
  if (backendEnv !== undefined) env.MESH_CERT_DEMO_BACKEND = backendEnv;
  return new Promise((res) => {
    execFile(
      join(REPO, 'node_modules/.bin/tsx'),
      ['test/demo/demo.ts', ...args],
      { cwd: REPO, env, timeout: timeoutMs, maxBuffer: 32 << 20 },
      (err, stdout, stderr) => {
        res({ code: err ? 1 : 0, out: `${stdout}${stderr}` });
      },
    );
  });
}

for (const backend of BACKENDS) {
  describe(backend, () => {
    describe('npm run demo', () => {
      it(
        'runs to the end: install, issuance, rotation, and the denials it shows',
        async () => {
          // the sandbox is what `npm run demo` runs without an argument: it is asked for by default, not by name
          const args = backend === 'sandbox' ? [] : ['--backend', backend];
          const r = await demo(args, 150_000 + START_TIMEOUT_MS);
          expect(r.code, r.out.slice(-3000)).toBe(0);
          expect(r.out).toContain(`backend ${backend}: started in `);
          expect(r.out).toContain(
            'validatingwebhookconfiguration.admissionregistration.k8s.io/mesh-cert-webhook created',
          );
          expect(r.out).toContain('Warning: spec.org is deprecated');
          expect(r.out).toMatch(
            /Warning: spec\.org is deprecated and differs from spec\.certOptions\.orgName \("other-org" vs "[^"]+"\): spec\.certOptions\.orgName is the one read/,
          );
          expect(r.out).toContain('IssuedCertificate cannot move status.state from PENDING to FINISHED');
          expect(r.out).toContain('== Done');
        },
        180_000 + START_TIMEOUT_MS,
      );
    });
  });
}

describe('demo.ts --backend', () => {
  it('refuses a backend it does not know, from the flag or the environment, before starting anything', async () => {
    const flag = await demo(['--backend', 'minikube'], 30_000);
    expect(flag.code).toBe(1);
    expect(flag.out).toContain('demo: --backend (or MESH_CERT_DEMO_BACKEND): "minikube" is not kube or sandbox');
    const env = await demo([], 30_000, 'kind');
    expect(env.code).toBe(1);
    expect(env.out).toContain('demo: --backend (or MESH_CERT_DEMO_BACKEND): "kind" is not kube or sandbox');
    expect(flag.out + env.out).not.toContain('==');
  });
});
