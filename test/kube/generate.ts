// `npx tsx test/kube/generate.ts [--check]`
// Writes test/kube/apiserver/go.mod and test/kube/etcd/go.mod from the go.mod files the module
// proxy serves for the release in release.json, then `go mod tidy` fills in the requirements and
// go.sum (both committed, so every build resolves the same modules and verifies their hashes).
// --check regenerates into a temporary folder and fails if the committed files differ.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { goToolchain, servedGoMod } from './go.js';
import { apiserverGoMod, ETCD_MODULE, etcdGoMod, etcdVersionOf, parseGoLine, parseUpstreamGoMod } from './gomod.js';
import { KUBE_DIR, KUBE_RELEASE, stagingVersion } from './release.js';

const run = promisify(execFile);

export const MODULES = ['apiserver', 'etcd'] as const;
export type ModuleName = (typeof MODULES)[number];

/** Both go.mod files as generated, before `go mod tidy` adds the indirect requirements. */
export async function untidiedGoMods(cwd: string, release = KUBE_RELEASE): Promise<Record<ModuleName, string>> {
  const upstream = parseUpstreamGoMod(await servedGoMod('k8s.io/kubernetes', release, cwd));
  await goToolchain(upstream.goLine.slice(3));
  const etcdVersion = etcdVersionOf(upstream);
  const etcdUpstream = parseGoLine(await servedGoMod(ETCD_MODULE, etcdVersion, cwd));
  return {
    apiserver: apiserverGoMod(release, upstream, stagingVersion(release)),
    etcd: etcdGoMod(release, etcdVersion, etcdUpstream),
  };
}

/** go.mod, go.sum of both modules, generated and tidied under root/<module>/. */
export async function generateModules(root: string, release = KUBE_RELEASE): Promise<void> {
  const files = await untidiedGoMods(root, release);
  for (const m of MODULES) {
    const dir = join(root, m);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'go.mod'), files[m]);
    await rm(join(dir, 'go.sum'), { force: true });
    try {
      // GOTOOLCHAIN=local: tidy must not rewrite the go line to a toolchain it would then fetch
      await run('go', ['mod', 'tidy'], {
        cwd: dir,
        env: { ...process.env, GOTOOLCHAIN: 'local' },
        maxBuffer: 16 << 20,
      });
    } catch (e) {
      throw new Error(
        `kube: go mod tidy in ${dir} failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
        { cause: e },
      );
    }
  }
}

interface GoModJson {
  Go?: string;
  GoDebug?: unknown[];
  Tool?: unknown[];
  Replace?: unknown[];
  Require?: { Path: string; Version: string }[];
}

async function goModJson(file: string): Promise<GoModJson> {
  const { stdout } = await run('go', ['mod', 'edit', '-json', file], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as GoModJson;
}

/** What the generator decides: go line, godebug, tools, replaces and the versions of the modules it requires. */
function decided(j: GoModJson, requires: string[]): string {
  const require = (j.Require ?? []).filter((r) => requires.includes(r.Path)).map((r) => `${r.Path} ${r.Version}`);
  return JSON.stringify({ go: j.Go, godebug: j.GoDebug ?? [], tool: j.Tool ?? [], replace: j.Replace ?? [], require });
}

/**
 * The quick check (no tidy, no download beyond the two modules the build needs anyway): the
 * committed go.mod files hold exactly the go line, godebug, tools, replaces and direct
 * requirements that the generator derives from the served go.mod. The indirect requirements
 * and go.sum are tidy's; a build with -mod=readonly fails if they are incomplete.
 */
export async function checkDirectives(): Promise<string[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'kube-gomod-'));
  try {
    const files = await untidiedGoMods(tmp);
    const diffs: string[] = [];
    for (const m of MODULES) {
      await writeFile(join(tmp, `${m}.mod`), files[m]);
      const [generated, committed] = await Promise.all([
        goModJson(join(tmp, `${m}.mod`)),
        goModJson(join(KUBE_DIR, m, 'go.mod')),
      ]);
      // tidy marks them "// indirect" (no Go file imports a tool's module), so compare path and version only
      const ours = (generated.Require ?? []).map((r) => r.Path);
      const [want, have] = [decided(generated, ours), decided(committed, ours)];
      if (want !== have)
        diffs.push(
          `test/kube/${m}/go.mod differs from what generate.ts derives for ${KUBE_RELEASE}:\nwant ${want}\nhave ${have}`,
        );
    }
    return diffs;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Differences between the committed go.mod/go.sum and freshly generated and tidied ones ([] when equal). */
export async function checkModules(): Promise<string[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'kube-gomod-'));
  try {
    await generateModules(tmp);
    const diffs: string[] = [];
    for (const m of MODULES) {
      for (const f of ['go.mod', 'go.sum']) {
        const [want, have] = await Promise.all([
          readFile(join(tmp, m, f), 'utf8'),
          readFile(join(KUBE_DIR, m, f), 'utf8').catch(() => ''),
        ]);
        if (want !== have) diffs.push(`test/kube/${m}/${f} differs from what generate.ts makes for ${KUBE_RELEASE}`);
      }
    }
    return diffs;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const diffs = await checkModules();
    for (const d of diffs) process.stderr.write(`${d}\n`);
    if (diffs.length) {
      process.stderr.write('run `npx tsx test/kube/generate.ts` and commit the result\n');
      process.exit(1);
    }
    process.stdout.write(`test/kube go.mod/go.sum match ${KUBE_RELEASE}\n`);
    return;
  }
  const t0 = Date.now();
  await generateModules(KUBE_DIR);
  process.stdout.write(
    `wrote test/kube/{${MODULES.join(',')}}/go.{mod,sum} for ${KUBE_RELEASE} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
