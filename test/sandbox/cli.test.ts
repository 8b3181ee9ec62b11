// `npm run sandbox` (tsx test/sandbox/main.ts): prints `ready` once every cluster serves, writes
// the kubeconfig, stops cleanly on SIGTERM, and refuses bad arguments with a clear message.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubectlFor } from './helpers.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TSX = join(REPO, 'node_modules/.bin/tsx');

function start(args: string[]): { child: ReturnType<typeof spawn>; out: () => string; exit: Promise<number | null> } {
  const child = spawn(TSX, ['test/sandbox/main.ts', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}

describe('npm run sandbox', () => {
  it('serves every cluster, prints ready, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
    const kubeconfig = join(dir, 'kc.yaml');
    const p = start(['--clusters', 'mgmt,cluster1,cluster2', '--kubeconfig', kubeconfig]);
    await new Promise<void>((res, rej) => {
      const t = setInterval(() => {
        if (p.out().includes('ready')) {
          clearInterval(t);
          res();
        }
      }, 50);
      void p.exit.then((code) => {
        clearInterval(t);
        rej(new Error(`exited ${code}: ${p.out()}`));
      });
    });
    const kc = parse(readFileSync(kubeconfig, 'utf8'));
    expect(kc.contexts.map((c: { name: string }) => c.name)).toEqual(['mgmt', 'cluster1', 'cluster2']);
    expect(kc['current-context']).toBe('mgmt');
    const k = kubectlFor(kubeconfig);
    const crds = await k(['--context', 'cluster2', 'get', 'crd', '-o', 'name']);
    expect(crds.stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/issuedcertificates.certificates.mesh.gloo.solo.io',
    );
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    expect(p.out()).toContain('SIGTERM, stopping');
    const after = await k(['get', 'ns', '--request-timeout=2s']);
    expect(after.code).not.toBe(0);
  });

  it('--no-crds starts without CRDs; bad arguments exit 2 naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
    const p = start(['--clusters', 'solo', '--kubeconfig', join(dir, 'kc'), '--no-crds']);
    await new Promise<void>((res) => {
      const t = setInterval(() => {
        if (p.out().includes('ready')) {
          clearInterval(t);
          res();
        }
      }, 50);
    });
    const crds = await kubectlFor(join(dir, 'kc'))(['get', 'crd']);
    expect(crds.stderr).toContain('No resources found');
    p.child.kill('SIGINT');
    expect(await p.exit).toBe(0);

    const noKc = start(['--clusters', 'a']);
    expect(await noKc.exit).toBe(2);
    expect(noKc.out()).toContain('--kubeconfig is required');
    const badName = start(['--clusters', 'Bad_Name', '--kubeconfig', join(dir, 'x')]);
    expect(await badName.exit).toBe(1);
    expect(badName.out()).toContain('cluster name "Bad_Name" must be a lowercase RFC 1123 label');
    const badSvc = start(['--clusters', 'a', '--kubeconfig', join(dir, 'y'), '--service', 'nope']);
    expect(await badSvc.exit).toBe(2);
    expect(badSvc.out()).toContain('expected NAMESPACE/NAME=PORT');
  });
});
