// `npx tsx test/istio/ensure.ts`: make sure the Istio referee (referee/, a Go program built
// against istio.io/istio's own plugged-in CA code) exists, building it when it does not. The
// binary lives in $XDG_CACHE_HOME/mesh-cert/istio/<istio.io/istio version>/ (~/.cache/... when
// XDG_CACHE_HOME is unset), named after a hash of referee/'s sources, so an edit to main.go,
// go.mod or go.sum builds a new one and never runs a stale one. Built once per machine, into a
// folder beside the cache and renamed into place: a killed build never leaves a partial binary.
// Finding the binary (findReferee) never builds; the tests only find it.
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goInherit, goToolchain as requireGo, removeStaleBuilds } from '../go/toolchain.js';

export const ISTIO_DIR = dirname(fileURLToPath(import.meta.url));
export const REFEREE_DIR = join(ISTIO_DIR, 'referee');
const SOURCES = ['go.mod', 'go.sum', 'main.go'];
const BUILD_HINT =
  'the first build downloads ~48 MB of Go modules (~300 MB unpacked) and takes 1.5 to 3 min on 2 cores';

function goMod(): string {
  return readFileSync(join(REFEREE_DIR, 'go.mod'), 'utf8');
}

/** The istio.io/istio version referee/go.mod requires, e.g. "v0.0.0-20260827124520-eed52ebb66ad". */
export function istioVersion(): string {
  const m = /^\s*(?:require\s+)?istio\.io\/istio\s+(v\S+)/m.exec(goMod());
  if (!m) throw new Error('test/istio/referee/go.mod does not require istio.io/istio');
  return m[1];
}

/** The Go version referee/go.mod's go line asks for ("1.26.0"). */
export function goMinimum(): string {
  const m = /^go\s+(\S+)\s*$/m.exec(goMod());
  if (!m) throw new Error('test/istio/referee/go.mod has no go line');
  return m[1];
}

/** First 12 hex digits of a hash of the referee's sources. */
export function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of SOURCES)
    h.update(`${f}\0`)
      .update(readFileSync(join(REFEREE_DIR, f)))
      .update('\0');
  return h.digest('hex').slice(0, 12);
}

/** $XDG_CACHE_HOME/mesh-cert/istio/<istio version>, as test/kube/release.ts does for kube. */
export function cacheDirFor(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'mesh-cert', 'istio', version);
}

export function refereePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDirFor(istioVersion(), env), `istio-referee-${sourceHash()}`);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The built referee, or an Error that says how to build it. Never builds. */
export function findReferee(env: NodeJS.ProcessEnv = process.env): string {
  const path = refereePath(env);
  if (!executable(path)) {
    throw new Error(
      `istio: the Istio referee (istio.io/istio ${istioVersion()}, sources ${sourceHash()}) is not built (looked for ${path}); ` +
        `run \`npx tsx test/istio/ensure.ts\` first (needs Go >= ${goMinimum()}; ${BUILD_HINT}, see test/istio/README.md)`,
    );
  }
  return path;
}

/** The toolchain's version ("go1.26.8"), or an error that names Go and what to do. */
export function goToolchain(minimum: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return requireGo({
    who: 'istio',
    builds: `The Istio referee (test/istio/referee) is built from the Go module istio.io/istio ${istioVersion()}`,
    minimum,
    env,
  });
}

/** Binaries of earlier sources pile up as referee/ changes: keep the two most recent besides the new one. */
async function pruneOldBuilds(dir: string, keep: string): Promise<void> {
  const others = (await readdir(dir))
    .filter((n) => /^istio-referee-[0-9a-f]{12}$/.test(n) && join(dir, n) !== keep)
    .map((n) => ({ path: join(dir, n), mtime: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const o of others.slice(2)) await rm(o.path, { force: true });
}

export interface EnsureOptions {
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** The referee's path, built first when it is missing. */
export async function ensureReferee(opts: EnsureOptions = {}): Promise<string> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const env = opts.env ?? process.env;
  const path = refereePath(env);
  if (executable(path)) return path;

  const go = await goToolchain(goMinimum(), env);
  const dir = dirname(path);
  const parent = dirname(dir);
  await mkdir(dir, { recursive: true });
  await removeStaleBuilds(parent);
  const tmp = join(parent, `.build-istio-referee-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  try {
    const t0 = Date.now();
    log(
      `istio: building the referee against istio.io/istio ${istioVersion()} with ${go} (test/istio/referee; ${BUILD_HINT})...`,
    );
    // static, trimmed, stripped; -mod=readonly: go.sum must already hold every module
    await goInherit(
      'istio',
      ['build', '-mod=readonly', '-trimpath', '-pgo=off', '-ldflags', '-s -w', '-o', join(tmp, 'istio-referee'), '.'],
      { cwd: REFEREE_DIR, env: { ...env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' } },
    );
    await rename(join(tmp, 'istio-referee'), path);
    log(`istio: built ${path}, took ${Math.round((Date.now() - t0) / 1000)} s`);
    await pruneOldBuilds(dir, path);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureReferee().then(
    (p) => process.stdout.write(`istio referee (istio.io/istio ${istioVersion()}): ${p}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
