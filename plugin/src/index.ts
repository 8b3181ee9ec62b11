// The bundle's entry: the command table oclif reads (explicit strategy, identifier COMMANDS)
// and main(), which the bin calls. Command modules stay light; whatever is heavy they import
// inside run(), so esbuild puts it in a chunk loaded only by the commands that need it.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, settings } from '@oclif/core';
import { COMMANDS as DISCOVERED } from 'mesh-cert:commands';
import { reportError } from './lib/errors.js';

export const COMMANDS = DISCOVERED;

declare const __MESH_CERT_PJSON__: { name: string; version: string; type: string; oclif: Record<string, unknown> };

function pjson() {
  // Injected by build.mjs from package.json; the fallback keeps `tsx plugin/src/index.ts` usable.
  return typeof __MESH_CERT_PJSON__ !== 'undefined'
    ? __MESH_CERT_PJSON__
    : {
        name: 'mesh-cert',
        version: '0.0.0',
        type: 'module',
        oclif: {
          bin: 'kubectl mesh-cert',
          dirname: 'mesh-cert',
          topicSeparator: ' ',
          commands: { strategy: 'explicit', target: './plugin/dist/index.js', identifier: 'COMMANDS' },
        },
      };
}

async function drain(stream: NodeJS.WriteStream): Promise<void> {
  if (!stream.writableNeedDrain) return;
  await new Promise<void>((r) => stream.once('drain', () => r()));
}

/** Runs the CLI and exits with its code: 0, 1 on error, 124 on timeout, 130 on Ctrl-C. */
export async function main(argv: string[]): Promise<never> {
  // The bundle is JavaScript: never let NODE_ENV=development|test send oclif looking for ts-node.
  settings.enableAutoTranspile = false;
  process.once('SIGINT', () => {
    process.stderr.write('\ninterrupted\n');
    process.exit(130);
  });
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // Completion words are the user's, not ours: "--" keeps oclif from acting on a typed --help.
  if (argv[0] === '__complete' && argv[1] !== '--') argv = ['__complete', '--', ...argv.slice(1)];
  let code = 0;
  try {
    await run(argv, { root, pjson: pjson() as never, isRoot: true, userPlugins: false, devPlugins: false });
  } catch (err) {
    code = reportError(err, argv.includes('--verbose'));
  }
  if (typeof process.exitCode === 'number' && process.exitCode !== 0 && code === 0) code = process.exitCode;
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  // Idle keep-alive sockets of the Kubernetes client must not hold the process open.
  process.exit(code);
}
