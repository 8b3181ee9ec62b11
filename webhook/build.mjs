// Bundles the webhook into webhook/dist/ (ESM, node platform, dependencies included) so the bin
// starts without resolving hundreds of modules. Rarely used parts (a kubeconfig's YAML reader)
// stay in chunks of their own, loaded only when needed; the cluster client is our own
// (src/kube-api.ts), so no Kubernetes client library is bundled.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// --outdir DIR: build elsewhere (tests), leaving webhook/dist alone for whoever is running it.
const i = process.argv.indexOf('--outdir');
const outdir = i > 0 && process.argv[i + 1] ? process.argv[i + 1] : `${here}dist`;
// --no-sourcemap: the npm package (prepack) and the image (webhook/Dockerfile) ship no maps.
const sourcemap = process.argv.includes('--no-sourcemap') ? false : 'linked';
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
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
  sourcemap,
  // what --version and mesh_cert_webhook_build_info report (src/version.ts)
  define: { __MESH_CERT_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __meshCertCreateRequire } from 'node:module'; const require = __meshCertCreateRequire(import.meta.url);",
  },
});
