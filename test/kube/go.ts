// Running the Go toolchain: a clear error when it is missing or too old, and the go.mod that the
// module proxy serves for a given module version.
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i];
  return true;
}

/** The toolchain's version ("go1.26.8"), or a MissingToolError that says what to do. */
export async function goToolchain(minimum?: string): Promise<string> {
  let out: string;
  try {
    ({ stdout: out } = await run('go', ['env', 'GOVERSION'], { encoding: 'utf8' }));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not on PATH' : `does not run (${(e as Error).message.trim()})`;
    throw new MissingToolError(
      `kube: the Go toolchain ("go") ${why}. The real control plane (kube-apiserver, kube-controller-manager, etcd) is built ` +
      `from Go modules${minimum ? `; it needs Go >= ${minimum}` : ''}. Install Go, or set KUBEBUILDER_ASSETS to a folder ` +
      'that holds kube-apiserver, kube-controller-manager and etcd.');
  }
  const version = out.trim();
  if (minimum && !atLeast(parseGoVersion(version), parseGoVersion(minimum))) {
    throw new MissingToolError(`kube: Go ${version} is too old: the pinned release needs Go >= ${minimum} (its go.mod says so), and GOTOOLCHAIN cannot fetch a newer one here. Install a newer Go or set KUBEBUILDER_ASSETS.`);
  }
  return version;
}

/** The text of the go.mod that the module proxy serves for module@version (downloads the module). */
export async function servedGoMod(module: string, version: string, cwd: string): Promise<string> {
  let out: string;
  try {
    ({ stdout: out } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], { cwd, encoding: 'utf8', maxBuffer: 1 << 20 }));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    // go mod download -json reports its error inside the JSON on stdout
    const detail = (() => { try { return (JSON.parse(err.stdout ?? '') as { Error?: string }).Error; } catch { return undefined; } })();
    throw new Error(`kube: go mod download ${module}@${version} failed: ${detail ?? err.stderr?.trim() ?? err.message}`);
  }
  const info = JSON.parse(out) as { GoMod?: string; Error?: string };
  if (info.Error || !info.GoMod) throw new Error(`kube: go mod download ${module}@${version}: ${info.Error ?? 'no GoMod in the answer'}`);
  return readFile(info.GoMod, 'utf8');
}

/** Run go with inherited output (a build shows its own errors); rejects naming the command. */
export function goInherit(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`kube: \`go ${args.join(' ')}\` (in ${opts.cwd}) failed with ${signal ?? `exit code ${code}`}; its errors are above`));
    });
  });
}
