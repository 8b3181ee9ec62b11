// The Go toolchain, for every program the suites build from its Go module as a referee
// (test/kube, test/istio, ...): a clear error when Go is missing or too old, a build whose
// failure names the command, and the clean-up of build folders that killed builds left behind.
import { execFile, spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class MissingToolError extends Error {}

/** "go1.26.8" -> [1, 26, 8]; a plain go line "1.24.0" too. */
export function parseGoVersion(v: string): number[] {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  if (!m) throw new Error(`cannot read a Go version from "${v}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(have: number[], want: number[]): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

export interface GoRequirement {
  /** Prefixes every message: "kube", "istio". */
  who: string;
  /** What is built and why it needs Go, in a sentence: "The Istio referee is built from istio.io/istio". */
  builds: string;
  minimum?: string;
  /** What else the user can do besides installing Go (e.g. "set KUBEBUILDER_ASSETS ..."). */
  otherwise?: string;
  env?: NodeJS.ProcessEnv;
}

/** The toolchain's version ("go1.26.8"), or a MissingToolError that says what is missing and what to do. */
export async function goToolchain(r: GoRequirement): Promise<string> {
  const or = r.otherwise ? `, or ${r.otherwise}` : '';
  let out: string;
  try {
    ({ stdout: out } = await run('go', ['env', 'GOVERSION'], { encoding: 'utf8', env: r.env ?? process.env }));
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'is not on PATH'
        : `does not run (${(e as Error).message.trim()})`;
    throw new MissingToolError(
      `${r.who}: the Go toolchain ("go") ${why}. ${r.builds}${r.minimum ? `; it needs Go >= ${r.minimum}` : ''}. Install Go${or}.`,
    );
  }
  const version = out.trim();
  if (r.minimum && !atLeast(parseGoVersion(version), parseGoVersion(r.minimum))) {
    throw new MissingToolError(
      `${r.who}: Go ${version} is too old: ${r.builds} and needs Go >= ${r.minimum} (its go.mod says so), and GOTOOLCHAIN cannot fetch a newer one here. Install a newer Go${or}.`,
    );
  }
  return version;
}

/** Runs go with inherited output (a build shows its own errors); rejects naming the command. */
export function goInherit(who: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${who}: \`go ${args.join(' ')}\` (in ${opts.cwd}) failed with ${signal ?? `exit code ${code}`}; its errors are above`,
          ),
        );
    });
  });
}

/** Builds go beside the cache in `.build-*-<pid>` folders: remove those whose process is gone. */
export async function removeStaleBuilds(parent: string): Promise<void> {
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const m = /^\.build-.*-(\d+)$/.exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) await rm(join(parent, name), { recursive: true, force: true });
  }
}
