// Go programs the install tests use as referees (krew, helm), and the benchmarks' own load
// generator (loadgen), built as test/kube/ensure.ts builds the control plane: from a small Go
// module of their own (test/<tool>/go.mod, go.sum, a `tool` line; or the program's own sources),
// static, trimmed and stripped, with -mod=readonly (go.sum must hold every module) and
// GOTOOLCHAIN=local. The binary lives in $XDG_CACHE_HOME/mesh-cert/<tool>/<version>/ (~/.cache
// without XDG_CACHE_HOME), named after a hash of go.mod and go.sum (a program of our own: go.mod
// and its .go files) so an edit builds a new one;
// built once per machine into a folder beside it and renamed into place, so a killed build
// leaves no partial binary. find() never builds: the tests only find; `npm test` runs
// test/ensure-tools.ts first, which builds.
import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goInherit, goToolchain, removeStaleBuilds } from '../go/toolchain.js';

export const TEST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface GoTool {
  /** e.g. "helm": the folder test/<name>/ and the cache folder's name. */
  name: string;
  /** The module whose version names the cache folder, e.g. "helm.sh/helm/v4". */
  module: string;
  /**
   * A program of our own (its sources in test/<name>/, the standard library only): the cache
   * folder's name instead of a module version; go.mod and every .go file there are hashed.
   */
  local?: { version: string };
  /** The main package to build, e.g. "helm.sh/helm/v4/cmd/helm". */
  pkg: string;
  /** The binary's file name, e.g. "helm" or "kubectl-krew". */
  binary: string;
  /** -X flags for the version the program reports, given the module version. */
  ldflagsX: (version: string) => string[];
  /** Shown while building: how long, how much. */
  hint: string;
}

export function moduleDir(t: GoTool): string {
  return join(TEST_DIR, t.name);
}

function goMod(t: GoTool): string {
  return readFileSync(join(moduleDir(t), 'go.mod'), 'utf8');
}

/** The version of t.module that test/<name>/go.mod requires. */
export function toolVersion(t: GoTool): string {
  if (t.local) return t.local.version;
  const esc = t.module.replace(/[./]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${esc}\\s+(v\\S+)`, 'm').exec(goMod(t));
  if (!m) throw new Error(`test/${t.name}/go.mod does not require ${t.module}`);
  return m[1];
}

function goMinimum(t: GoTool): string {
  const m = /^go\s+(\S+)\s*$/m.exec(goMod(t));
  if (!m) throw new Error(`test/${t.name}/go.mod has no go line`);
  return m[1];
}

function sourceHash(t: GoTool): string {
  const h = createHash('sha256');
  const goFiles = t.local
    ? readdirSync(moduleDir(t))
        .filter((f) => f.endsWith('.go'))
        .sort()
    : [];
  for (const f of t.local ? ['go.mod', ...goFiles] : ['go.mod', 'go.sum'])
    h.update(`${f}\0`)
      .update(readFileSync(join(moduleDir(t), f)))
      .update('\0');
  return h.digest('hex').slice(0, 12);
}

export function cacheDir(t: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'mesh-cert', t.name, toolVersion(t));
}

export function toolPath(t: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(t, env), `${t.binary}-${sourceHash(t)}`);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The built program, or an Error that says how to build it. Never builds. */
export function findTool(t: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  const path = toolPath(t, env);
  if (!executable(path)) {
    const what = t.local ? `the program in test/${t.name}/` : `${t.module} ${toolVersion(t)}`;
    const from = t.local
      ? `It is built from its sources there with Go >= ${goMinimum(t)}`
      : `It is built from the Go module in test/${t.name}/ and needs Go >= ${goMinimum(t)} and the Go module proxy on the first build`;
    throw new Error(
      `${t.name}: ${what} is not built (looked for ${path}); run \`npx tsx test/ensure-tools.ts\` ` +
        `(or \`npm test\`, which runs it first). ${from} (${t.hint}).`,
    );
  }
  return path;
}

/** Binaries of an earlier go.mod/go.sum: keep the newest other one. */
async function pruneOld(dir: string, keep: string, binary: string): Promise<void> {
  const others = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.startsWith(`${binary}-`) && join(dir, n) !== keep)
    .map((n) => ({ p: join(dir, n), t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const o of others.slice(1)) await rm(o.p, { force: true });
}

export interface EnsureOptions {
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** The program's path, built first when it is missing. */
export async function ensureTool(t: GoTool, opts: EnsureOptions = {}): Promise<string> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const env = opts.env ?? process.env;
  const path = toolPath(t, env);
  if (executable(path)) return path;
  const go = await goToolchain({
    who: t.name,
    builds: `${t.module} ${toolVersion(t)} is built from the Go module in test/${t.name}/`,
    minimum: goMinimum(t),
    env,
  });
  const dir = dirname(path);
  const parent = dirname(dir);
  await mkdir(dir, { recursive: true });
  await removeStaleBuilds(parent);
  const tmp = join(parent, `.build-${t.binary}-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  try {
    const t0 = Date.now();
    const version = toolVersion(t);
    log(`${t.name}: building ${t.pkg} ${version} with ${go} (test/${t.name}; ${t.hint})...`);
    const ldflags = ['-s', '-w', ...t.ldflagsX(version).flatMap((x) => ['-X', x])].join(' ');
    await goInherit(
      t.name,
      ['build', '-mod=readonly', '-trimpath', '-pgo=off', '-ldflags', ldflags, '-o', join(tmp, t.binary), t.pkg],
      { cwd: moduleDir(t), env: { ...env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' } },
    );
    await rename(join(tmp, t.binary), path);
    log(`${t.name}: built ${path}, took ${Math.round((Date.now() - t0) / 1000)} s`);
    await pruneOld(dir, path, t.binary);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return path;
}
