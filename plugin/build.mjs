// Bundles the CLI into plugin/dist/ with esbuild. Splitting is on so every `await import()` of a
// heavy module (client-node, jsrsasign, yaml, prompts, listr2, the engine) becomes a chunk that
// only the commands needing it load: `--help` never pays for the Kubernetes client.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, sep } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// The oclif configuration the CLI runs with. package.json's `oclif` block, when the lead adds
// it, wins; these defaults make the bundle self-sufficient (no package.json read at start-up).
const oclif = {
  bin: 'kubectl mesh-cert',
  dirname: 'mesh-cert',
  commands: { strategy: 'explicit', target: './plugin/dist/index.js', identifier: 'COMMANDS' },
  topicSeparator: ' ',
  topics: {
    root: { description: 'Create or import root CAs in the management cluster.' },
    inspect: { description: 'Decode and verify Secrets and CertificateRequests.' },
  },
  ...(pkg.oclif ?? {}),
};
const pjson = { name: pkg.name, version: pkg.version, type: 'module', oclif };

// Every plugin/src/commands/**/*.ts file is a command; its id is its path ("root/create.ts" is
// "root:create"). Generating the table means a new command file needs no registration.
function commandFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return commandFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}
const commandsPlugin = {
  name: 'mesh-cert-commands',
  setup(b) {
    b.onResolve({ filter: /^mesh-cert:commands$/ }, () => ({ path: 'commands', namespace: 'mesh-cert' }));
    b.onLoad({ filter: /.*/, namespace: 'mesh-cert' }, () => {
      const dir = join(here, 'src/commands');
      const files = commandFiles(dir).sort();
      const lines = files.map((f, i) => `import C${i} from ${JSON.stringify(f)};`);
      const ids = files.map((f, i) => `${JSON.stringify(relative(dir, f).replace(/\.ts$/, '').split(sep).join(':'))}: C${i}`);
      return { contents: `${lines.join('\n')}\nexport const COMMANDS = { ${ids.join(', ')} };\n`, resolveDir: dir, loader: 'js', watchFiles: files };
    });
  },
};

const outdir = join(here, 'dist');
if (process.argv.includes('--clean')) rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { index: join(here, 'src/index.ts') },
  outdir,
  write: false,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minify: false,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  plugins: [commandsPlugin],
  // oclif can transpile TypeScript commands at run time; the bundle never does (main() turns it off).
  external: ['typescript', 'ts-node', 'tsx'],
  metafile: true,
  define: { __MESH_CERT_PJSON__: JSON.stringify(pjson) },
  // CommonJS dependencies (oclif, client-node) call require() for node built-ins.
  banner: {
    js: "import { createRequire as __meshCertCreateRequire } from 'node:module';\nconst require = __meshCertCreateRequire(import.meta.url);",
  },
});
// Tests build while other tests run the CLI: write every file atomically (temp + rename), chunks
// before the entry, and keep older chunks a while so a running process can still load them.
const written = new Set();
const files = [...result.outputFiles].sort((a, b) => Number(a.path.endsWith('index.js')) - Number(b.path.endsWith('index.js')));
for (const f of files) {
  mkdirSync(dirname(f.path), { recursive: true });
  const tmp = `${f.path}.${process.pid}.tmp`;
  writeFileSync(tmp, f.contents);
  renameSync(tmp, f.path);
  written.add(f.path);
}
const chunkDir = join(outdir, 'chunks');
for (const name of readdirSync(chunkDir)) {
  const p = join(chunkDir, name);
  if (!written.has(p) && Date.now() - statSync(p).mtimeMs > 10 * 60_000) rmSync(p, { force: true });
}

if (process.env.MESH_CERT_BUILD_ANALYZE) {
  const { analyzeMetafile } = await import('esbuild');
  console.log(await analyzeMetafile(result.metafile));
}
