// `npx tsx test/loadgen/ensure.ts`: the load generator of bench/webhook-flood.ts (main.go here,
// the standard library only), built once per machine into ~/.cache/mesh-cert/loadgen/
// (test/install/go-tool.ts). test/loadgen/loadgen.test.ts checks what it reports.
import { fileURLToPath } from 'node:url';
import { ensureTool, findTool, type EnsureOptions, type GoTool } from '../install/go-tool.js';

export const LOADGEN: GoTool = {
  name: 'loadgen',
  module: 'mesh-cert.test/loadgen',
  local: { version: 'stdlib' },
  pkg: '.',
  binary: 'loadgen',
  ldflagsX: () => [],
  hint: 'the standard library only: a few seconds',
};

export const ensureLoadgen = (opts?: EnsureOptions): Promise<string> => ensureTool(LOADGEN, opts);
export const findLoadgen = (env?: NodeJS.ProcessEnv): string => findTool(LOADGEN, env);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureLoadgen().then(
    (p) => process.stdout.write(`loadgen: ${p}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
