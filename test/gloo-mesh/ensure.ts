// `npx tsx test/gloo-mesh/ensure.ts`: make sure Gloo Mesh's own cert-agent and issuer exist,
// building them from the Go module github.com/solo-io/gloo-mesh (the version go.mod requires) when
// they do not. Binaries live in $XDG_CACHE_HOME/mesh-cert/gloo-mesh/<version>/ (~/.cache/...),
// built once per machine into a folder beside it and renamed into place, as test/kube/ensure.ts
// does. Today the module proxy refuses the module (README.md): this fails first thing with the
// proxy's own words, which is why it is not in test/ensure-tools.ts's TOOLS yet.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { goInherit, goToolchain, removeStaleBuilds } from '../go/toolchain.js';

const run = promisify(execFile);

export const GLOO_MESH_DIR = dirname(fileURLToPath(import.meta.url));
export const GLOO_MESH_MODULE = 'github.com/solo-io/gloo-mesh';
/** What is built: [binary name, Go package]. */
const TARGETS: readonly [string, string][] = [
  ['cert-agent', `${GLOO_MESH_MODULE}/cmd/cert-agent`],
  ['cert-issuer', './cert-issuer'],
];

export interface GlooMeshBinaries {
  version: string;
  dir: string;
  certAgent: string;
  certIssuer: string;
}

function goMod(): string {
  return readFileSync(join(GLOO_MESH_DIR, 'go.mod'), 'utf8');
}

/** The gloo-mesh version go.mod requires ("v1.1.0"). */
export function glooMeshVersion(): string {
  const m = /^\s*(?:require\s+)?github\.com\/solo-io\/gloo-mesh\s+(v\S+)/m.exec(goMod());
  if (!m) throw new Error('test/gloo-mesh/go.mod does not require github.com/solo-io/gloo-mesh');
  return m[1]!;
}

export function cacheDirFor(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'mesh-cert', 'gloo-mesh', version);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function binariesIn(dir: string, version: string): GlooMeshBinaries {
  return { version, dir, certAgent: join(dir, 'cert-agent'), certIssuer: join(dir, 'cert-issuer') };
}

/** The built binaries, or an Error that says how to build them. Never builds. */
export function findGlooMesh(env: NodeJS.ProcessEnv = process.env): GlooMeshBinaries {
  const version = glooMeshVersion();
  const b = binariesIn(cacheDirFor(version, env), version);
  const missing = TARGETS.map(([n]) => n).filter((n) => !executable(join(b.dir, n)));
  if (missing.length)
    throw new Error(
      `gloo-mesh: ${missing.join(', ')} ${version} not built in ${b.dir}: run npx tsx test/gloo-mesh/ensure.ts`,
    );
  return b;
}

/** Asks the module proxy for the module (go mod download): rejects with the proxy's answer. */
async function requireServed(version: string, env: NodeJS.ProcessEnv): Promise<void> {
  let out: string;
  try {
    ({ stdout: out } = await run('go', ['mod', 'download', '-json', `${GLOO_MESH_MODULE}@${version}`], {
      cwd: GLOO_MESH_DIR,
      env,
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
      `gloo-mesh: the module proxy does not serve ${GLOO_MESH_MODULE}@${version}: ${detail ?? err.stderr?.trim() ?? err.message} (see test/gloo-mesh/README.md)`,
      { cause: e },
    );
  }
  const info = JSON.parse(out) as { Error?: string };
  if (info.Error) throw new Error(`gloo-mesh: ${info.Error} (see test/gloo-mesh/README.md)`);
}

export interface EnsureOptions {
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** The binaries, built first when they are missing. */
export async function ensureGlooMesh(opts: EnsureOptions = {}): Promise<GlooMeshBinaries> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const env = { ...(opts.env ?? process.env), CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };
  const version = glooMeshVersion();
  const dir = cacheDirFor(version, env);
  if (TARGETS.every(([n]) => executable(join(dir, n)))) return binariesIn(dir, version);

  const minimum = /^go\s+(\S+)\s*$/m.exec(goMod())?.[1];
  const go = await goToolchain({
    who: 'gloo-mesh',
    builds: `Gloo Mesh's cert-agent and issuer are built from ${GLOO_MESH_MODULE}`,
    ...(minimum ? { minimum } : {}),
    env,
  });
  await requireServed(version, env);
  if (!existsSync(join(GLOO_MESH_DIR, 'go.sum'))) {
    throw new Error(
      `gloo-mesh: test/gloo-mesh/go.sum is missing: run \`go mod tidy\` in test/gloo-mesh and commit go.sum (the build is -mod=readonly)`,
    );
  }
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  await removeStaleBuilds(parent);
  const tmp = join(parent, `.build-${version}-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  try {
    const t0 = Date.now();
    log(
      `gloo-mesh: building cert-agent and cert-issuer ${version} with ${go} (test/gloo-mesh; about 1.5 min on 2 cores once the modules are downloaded)...`,
    );
    await goInherit(
      'gloo-mesh',
      [
        'build',
        '-mod=readonly',
        '-trimpath',
        '-pgo=off',
        '-ldflags',
        '-s -w',
        '-o',
        `${tmp}/`,
        ...TARGETS.map(([, pkg]) => pkg),
      ],
      { cwd: GLOO_MESH_DIR, env },
    );
    await mkdir(dir, { recursive: true });
    for (const [n] of TARGETS) await rename(join(tmp, n), join(dir, n));
    log(`gloo-mesh: built, took ${Math.round((Date.now() - t0) / 1000)} s`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return binariesIn(dir, version);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureGlooMesh().then(
    (b) => process.stdout.write(`gloo-mesh ${b.version}: ${b.dir}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
