// Running the Go toolchain: a clear error when it is missing or too old, and the go.mod that the
// module proxy serves for a given module version.
import { execFile } from 'node:child_process';
import { goInherit as goInheritFor, goToolchain as requireGo } from '../go/toolchain.js';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export { MissingToolError, parseGoVersion } from '../go/toolchain.js';

/** The toolchain's version ("go1.26.8"), or an error that says what to do. */
export function goToolchain(minimum?: string): Promise<string> {
  return requireGo({
    who: 'kube',
    builds: 'The real control plane (kube-apiserver, kube-controller-manager, etcd) is built from Go modules',
    minimum,
    otherwise: 'set KUBEBUILDER_ASSETS to a folder that holds kube-apiserver, kube-controller-manager and etcd',
  });
}

/** The text of the go.mod that the module proxy serves for module@version (downloads the module). */
export async function servedGoMod(module: string, version: string, cwd: string): Promise<string> {
  let out: string;
  try {
    ({ stdout: out } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
      cwd,
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    }));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    // go mod download -json reports its error inside the JSON on stdout
    const detail = (() => {
      try {
        return (JSON.parse(err.stdout ?? '') as { Error?: string }).Error;
      } catch {
        return undefined;
      }
    })();
    throw new Error(
      `kube: go mod download ${module}@${version} failed: ${detail ?? err.stderr?.trim() ?? err.message}`,
      { cause: e },
    );
  }
  const info = JSON.parse(out) as { GoMod?: string; Error?: string };
  if (info.Error || !info.GoMod)
    throw new Error(`kube: go mod download ${module}@${version}: ${info.Error ?? 'no GoMod in the answer'}`);
  return readFile(info.GoMod, 'utf8');
}

/** Run go with inherited output (a build shows its own errors); rejects naming the command. */
export function goInherit(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<void> {
  return goInheritFor('kube', args, opts);
}
