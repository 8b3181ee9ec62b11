// Bundles the webhook into webhook/dist/ (ESM, node platform, dependencies included) so the bin
// starts without resolving hundreds of modules. client-node stays in its own chunk, loaded only
// when a cluster is configured.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// --outdir DIR: build elsewhere (tests), leaving webhook/dist alone for whoever is running it.
const i = process.argv.indexOf('--outdir');
const outdir = i > 0 && process.argv[i + 1] ? process.argv[i + 1] : `${here}dist`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: `${here}src/main.ts` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __meshCertCreateRequire } from 'node:module'; const require = __meshCertCreateRequire(import.meta.url);" },
});
