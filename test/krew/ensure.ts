// `npx tsx test/krew/ensure.ts`: the real krew (sigs.k8s.io/krew, the Go module in this folder),
// built once per machine into ~/.cache/mesh-cert/krew/<version>/ (test/install/go-tool.ts).
// test/install/krew.test.ts installs the release's archive with it.
//
// go.mod: `go get -tool sigs.k8s.io/krew/cmd/krew@v0.4.3` (the only version the module proxy
// serves), then github.com/modern-go/reflect2 raised to v1.0.2 (and json-iterator to v1.1.12):
// krew's v1.0.1 crashes on Go >= 1.18. `go mod tidy` after any change.
import { fileURLToPath } from 'node:url';
import { ensureTool, findTool, toolVersion, type EnsureOptions, type GoTool } from '../install/go-tool.js';

export const KREW: GoTool = {
  name: 'krew',
  module: 'sigs.k8s.io/krew',
  pkg: 'sigs.k8s.io/krew/cmd/krew',
  // kubectl finds it on PATH as the `krew` plugin
  binary: 'kubectl-krew',
  ldflagsX: (v) => [`sigs.k8s.io/krew/internal/version.gitTag=${v}`],
  hint: 'the first build fetches ~15 MB of modules and takes 0.5 to 2 min on 2 cores',
};

export const ensureKrew = (opts?: EnsureOptions): Promise<string> => ensureTool(KREW, opts);
export const findKrew = (env?: NodeJS.ProcessEnv): string => findTool(KREW, env);
export const krewVersion = (): string => toolVersion(KREW);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureKrew().then(
    (p) => process.stdout.write(`krew ${krewVersion()}: ${p}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
