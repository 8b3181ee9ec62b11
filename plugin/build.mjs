// Bundles the CLI into plugin/dist/ with esbuild. Splitting is on so every `await import()` of a
// heavy module (client-node, jsrsasign, yaml, prompts, listr2, the engine) becomes a chunk that
// only the commands needing it load: `--help` never pays for the Kubernetes client.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';

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
  // One wrap at the terminal's width, kubectl-style usage, "did you mean" (src/lib/help.ts).
  helpClass: { target: './plugin/dist/help.js', identifier: 'MeshCertHelp' },
  hooks: { command_not_found: { target: './plugin/dist/help.js', identifier: 'commandNotFound' } },
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
      const ids = files.map(
        (f, i) => `${JSON.stringify(relative(dir, f).replace(/\.ts$/, '').split(sep).join(':'))}: C${i}`,
      );
      return {
        contents: `${lines.join('\n')}\nexport const COMMANDS = { ${ids.join(', ')} };\n`,
        resolveDir: dir,
        loader: 'js',
        watchFiles: files,
      };
    });
  },
};

// The CRDs of manifests/crds as this build knows them: `version` compares the cluster's with
// them (report/version.ts), also from the single binary, which has no manifests/ beside it.
const crds = readdirSync(join(root, 'manifests', 'crds'))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .flatMap((f) => parseAllDocuments(readFileSync(join(root, 'manifests', 'crds', f), 'utf8')).map((d) => d.toJS()))
  .filter((o) => o?.kind === 'CustomResourceDefinition')
  .map((o) => ({
    metadata: { name: o.metadata.name, labels: o.metadata.labels },
    spec: { group: o.spec.group, versions: o.spec.versions },
  }));
const define = { __MESH_CERT_PJSON__: JSON.stringify(pjson), __MESH_CERT_CRDS__: JSON.stringify(crds) };

// --sea FILE: one CommonJS file for a Node single-executable application (plugin/release/):
// Node 20's SEA runs one CommonJS script whose require() knows only built-in modules, so
// everything is in this file, import() of our own modules becomes require() of the bundle's
// own, import.meta.url is the executable's, and oclif's loads of its targets (the command
// table plugin/dist/index.js, the help class and hook plugin/dist/help.js) are answered from memory.
const seaAt = process.argv.indexOf('--sea');
if (seaAt > 0) {
  const outfile = process.argv[seaAt + 1];
  if (!outfile) throw new Error('--sea needs the output file');
  await build({
    stdin: {
      contents:
        "import { main, COMMANDS } from './src/index.ts';\nimport { MeshCertHelp, commandNotFound } from './src/lib/help.ts';\nglobalThis.__MESH_CERT_SEA_COMMANDS__ = { COMMANDS, MeshCertHelp, commandNotFound };\nvoid main(process.argv.slice(2));\n",
      resolveDir: here,
      sourcefile: 'sea-main.ts',
      loader: 'ts',
    },
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // import() becomes require(): the SEA's main script has no dynamic-import callback in Node 20
    supported: { 'dynamic-import': false },
    legalComments: 'none',
    logLevel: 'error',
    plugins: [commandsPlugin],
    external: ['typescript', 'ts-node', 'tsx'],
    define: { ...define, 'import.meta.url': '__meshCertImportMetaUrl' },
    banner: {
      js: [
        "var __meshCertImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
        'var __meshCertBuiltinRequire = require;',
        'require = function (id) {',
        // oclif's targets (pjson.oclif: commands, helpClass, hooks) are files of plugin/dist/:
        // each is answered with the object of every identifier they name
        "  if (typeof id === 'string' && /[\\\\/]plugin[\\\\/]dist[\\\\/][\\w.-]+?(\\.js)?$/.test(id)) return globalThis.__MESH_CERT_SEA_COMMANDS__;",
        // anything else but a built-in is not there: say so as Node would, without the SEA's warning
        "  if (typeof id !== 'string' || !__meshCertBuiltinRequire('node:module').isBuiltin(id)) {",
        '    var e = new Error("Cannot find module \'" + id + "\' (not in the single executable)"); e.code = \'MODULE_NOT_FOUND\'; throw e;',
        '  }',
        '  return __meshCertBuiltinRequire(id);',
        '};',
        'require.resolve = function (id) { return require(id) && id; };',
      ].join('\n'),
    },
  });
  process.exit(0);
}

const outdir = join(here, 'dist');
if (process.argv.includes('--clean')) rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { index: join(here, 'src/index.ts'), help: join(here, 'src/lib/help.ts') },
  outdir,
  write: false,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // --no-sourcemap: the npm package ships no maps (plugin/release/)
  sourcemap: process.argv.includes('--no-sourcemap') ? false : 'linked',
  minify: false,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  plugins: [commandsPlugin],
  // oclif can transpile TypeScript commands at run time; the bundle never does (main() turns it off).
  external: ['typescript', 'ts-node', 'tsx'],
  metafile: true,
  define,
  // CommonJS dependencies (oclif, client-node) call require() for node built-ins.
  banner: {
    js: "import { createRequire as __meshCertCreateRequire } from 'node:module';\nconst require = __meshCertCreateRequire(import.meta.url);",
  },
});
// Tests build while other tests run the CLI: write every file atomically (temp + rename), chunks
// before the entry, and keep older chunks a while so a running process can still load them.
const written = new Set();
const files = [...result.outputFiles].sort(
  (a, b) => Number(a.path.endsWith('index.js')) - Number(b.path.endsWith('index.js')),
);
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
