// Shared by the install tests: a copy of the working tree (what a fresh clone of it would hold),
// commands with their output in the error, and a serving certificate.
import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mesh-cert-install-${prefix}-`));
}

/** Removes a temporary folder unless MESH_CERT_KEEP_TMP is set (then says where it is). */
export function cleanup(dir: string | undefined): void {
  if (!dir) return;
  if (process.env.MESH_CERT_KEEP_TMP) process.stderr.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}

/**
 * The files a clone of the working tree would have: tracked and untracked ones that .gitignore
 * does not exclude (so uncommitted work is tested too), nothing built or installed.
 */
export function copyWorktree(dest: string): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    maxBuffer: 64 << 20,
  }).toString();
  const files = [...new Set(out.split('\0').filter(Boolean))];
  const copied: string[] = [];
  for (const f of files) {
    const src = join(REPO, f);
    if (!existsSync(src)) continue; // deleted in the working tree
    const st = lstatSync(src);
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    if (st.isSymbolicLink()) continue;
    copyFileSync(src, join(dest, f));
    chmodSync(join(dest, f), st.mode & 0o777);
    copied.push(f);
  }
  return copied;
}

/** A worktree copy that can build: the repository's node_modules linked in. */
export function buildableCopy(dest: string): void {
  copyWorktree(dest);
  symlinkSync(join(REPO, 'node_modules'), join(dest, 'node_modules'));
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs a command; a non-zero exit throws with the command, its exit and its output. */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions & { allowFail?: boolean } = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  const res = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), status: r.status };
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(
      `\`${cmd} ${args.join(' ')}\` exited ${r.status ?? r.signal}\n--- stdout\n${res.stdout.slice(-4000)}\n--- stderr\n${res.stderr.slice(-4000)}`,
    );
  }
  return res;
}

/** A self-signed serving certificate for 127.0.0.1 (openssl). */
export function servingCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=mesh-cert-webhook',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** A folder holding only a `kubectl` link: a PATH with kubectl and without node. */
export function kubectlOnlyBin(dir: string): string {
  const bin = join(dir, 'kubectl-only');
  mkdirSync(bin, { recursive: true });
  symlinkSync('/usr/bin/kubectl', join(bin, 'kubectl'));
  return bin;
}
