// Shared by the plugin tests: build the bundle once per file, and run the plugin the way a user
// does, through the real kubectl with plugin/bin on PATH.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN_DIR = join(REPO, 'plugin', 'bin');
export const KUBECTL = '/usr/bin/kubectl';

let built = false;
export function buildPlugin(): void {
  if (built) return;
  execFileSync(process.execPath, [join(REPO, 'plugin', 'build.mjs')], { cwd: REPO, stdio: 'pipe' });
  built = true;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kubectl mesh-cert <args>` with its own environment (KUBECONFIG etc. only as given). */
export function kubectlMeshCert(
  args: string[],
  opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const env: Record<string, string> = {
    PATH: `${BIN_DIR}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? tmpdir(),
    NO_COLOR: '1',
  };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['mesh-cert', ...args],
      { env, timeout: opts.timeoutMs ?? 50_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export function tempDir(prefix = 'mesh-cert-plugin-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Every PEM private key block in a text (the check that no output leaks one). */
export function privateKeyBlocks(text: string): string[] {
  return text.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----/g) ?? [];
}

/**
 * Plain kubectl against a sandbox context; rejects with stderr on failure. Asynchronous on
 * purpose: the sandbox serves from this process, so a synchronous child would starve it.
 */
export function kubectl(kubeconfig: string, context: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, '--context', context, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')}: ${String(stderr) || err.message}`));
        else resolve(String(stdout));
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/** Applies objects (JSON is YAML) to a context. */
export async function apply(kubeconfig: string, context: string, ...objects: object[]): Promise<void> {
  await kubectl(
    kubeconfig,
    context,
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
}

/** Merge-patches the status subresource of an object. */
export async function patchStatus(
  kubeconfig: string,
  context: string,
  resource: string,
  namespace: string,
  name: string,
  status: object,
): Promise<void> {
  await kubectl(kubeconfig, context, [
    'patch',
    resource,
    name,
    '-n',
    namespace,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** `openssl verify` of a certificate with an untrusted chain against roots; returns its output. */
export function opensslVerify(
  dir: string,
  certPem: string,
  rootsPem: string,
  chainPem?: string,
): { ok: boolean; output: string } {
  const cert = writeFile(dir, `cert-${Math.random().toString(36).slice(2)}.pem`, certPem);
  const roots = writeFile(dir, `roots-${Math.random().toString(36).slice(2)}.pem`, rootsPem);
  const args = ['verify', '-CAfile', roots];
  if (chainPem) args.push('-untrusted', writeFile(dir, `chain-${Math.random().toString(36).slice(2)}.pem`, chainPem));
  args.push(cert);
  try {
    return { ok: true, output: execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export function opensslFingerprint(dir: string, certPem: string): string {
  const p = writeFile(dir, `fp-${Math.random().toString(36).slice(2)}.pem`, certPem);
  const out = execFileSync('openssl', ['x509', '-in', p, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  return out.trim().split('=')[1];
}
