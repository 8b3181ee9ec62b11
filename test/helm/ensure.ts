// `npx tsx test/helm/ensure.ts`: the real Helm (helm.sh/helm/v4, the Go module in this folder),
// built once per machine into ~/.cache/mesh-cert/helm/<version>/ (test/install/go-tool.ts).
// test/install/helm.test.ts lints, renders, installs and upgrades the chart with it.
//
// go.mod: `go get -tool helm.sh/helm/v4/cmd/helm@v4.3.2` (the newest v4 the module proxy
// serves), then `go mod tidy`.
import { fileURLToPath } from 'node:url';
import { ensureTool, findTool, toolVersion, type EnsureOptions, type GoTool } from '../install/go-tool.js';

export const HELM: GoTool = {
  name: 'helm',
  module: 'helm.sh/helm/v4',
  pkg: 'helm.sh/helm/v4/cmd/helm',
  binary: 'helm',
  // as Helm's Makefile sets them
  ldflagsX: (v) => [
    `helm.sh/helm/v4/internal/version.version=${v}`,
    'helm.sh/helm/v4/internal/version.gitTreeState=clean',
  ],
  hint: 'the first build fetches ~100 MB of modules and takes 4 to 15 min on 2 cores',
};

export const ensureHelm = (opts?: EnsureOptions): Promise<string> => ensureTool(HELM, opts);
export const findHelm = (env?: NodeJS.ProcessEnv): string => findTool(HELM, env);
export const helmVersion = (): string => toolVersion(HELM);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureHelm().then(
    (p) => process.stdout.write(`helm ${helmVersion()}: ${p}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
