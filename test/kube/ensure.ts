// `npx tsx test/kube/ensure.ts`: make sure kube-apiserver, kube-controller-manager and etcd of
// the pinned release exist, building them from the Go modules in apiserver/ and etcd/ when they
// do not. Binaries live in $XDG_CACHE_HOME/mesh-cert/kube/<release>/ (built once per machine);
// KUBEBUILDER_ASSETS, when set, is used as it is and nothing is built.
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binariesIn, findBinaries, type KubeBinaries, missingIn } from './binaries.js';
import { goInherit, goToolchain } from './go.js';
import { removeStaleBuilds } from '../go/toolchain.js';
import { parseGoLine } from './gomod.js';
import { readFileSync } from 'node:fs';
import { cacheDirFor, KUBE_DIR, KUBE_RELEASE, majorMinor } from './release.js';

/** Upstream's flags (hack/lib/golang.sh, non-debug): static, trimmed, stripped, no test hooks. */
function commonFlags(): string[] {
  // -pgo=off: skip profile-guided optimisation (cmd/kube-apiserver may ship a default.pgo): it
  // costs build time and nothing a test notices
  return ['build', '-mod=readonly', '-trimpath', '-pgo=off'];
}

function kubeLdflags(release: string): string {
  const { major, minor } = majorMinor(release);
  // without these the servers report v0.0.0-master and kubectl version shows no release
  const vars = { gitVersion: release, gitMajor: major, gitMinor: minor, gitTreeState: 'clean' };
  const x = Object.entries(vars).flatMap(([k, v]) => [
    `-X k8s.io/component-base/version.${k}=${v}`,
    `-X k8s.io/client-go/pkg/version.${k}=${v}`,
  ]);
  return `all=-s -w ${x.join(' ')}`;
}

interface Step {
  names: string[];
  module: 'apiserver' | 'etcd';
  args: (out: string) => string[];
}

function steps(release: string, etcdVersion: string): Step[] {
  return [
    {
      // one go build for both: they share most packages, so the second costs little more than a link
      names: ['kube-apiserver', 'kube-controller-manager'],
      module: 'apiserver',
      args: (out) => [
        ...commonFlags(),
        '-tags',
        'selinux,notest,grpcnotrace',
        '-ldflags',
        kubeLdflags(release),
        '-o',
        `${out}/`,
        'k8s.io/kubernetes/cmd/kube-apiserver',
        'k8s.io/kubernetes/cmd/kube-controller-manager',
      ],
    },
    {
      names: ['etcd'],
      module: 'etcd',
      args: (out) => [
        ...commonFlags(),
        '-ldflags',
        `-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${etcdVersion}`,
        '-o',
        join(out, 'etcd'),
        'go.etcd.io/etcd/server/v3',
      ],
    },
  ];
}

function requiredVersion(module: string, path: string): string {
  const m = new RegExp(`^\\s*${path.replace(/[./]/g, '\\$&')}\\s+(\\S+)`, 'm').exec(
    readFileSync(join(KUBE_DIR, module, 'go.mod'), 'utf8'),
  );
  if (!m) throw new Error(`test/kube/${module}/go.mod does not require ${path}: run npx tsx test/kube/generate.ts`);
  return m[1];
}

export interface EnsureOptions {
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** The binaries, built first when they are missing. */
export async function ensureBinaries(opts: EnsureOptions = {}): Promise<KubeBinaries> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const env = opts.env ?? process.env;
  if (env.KUBEBUILDER_ASSETS) return findBinaries(env);
  const dir = cacheDirFor(KUBE_RELEASE, env);
  const missing = missingIn(dir);
  if (!missing.length) return binariesIn(dir, 'cache');

  const goMin = parseGoLine(readFileSync(join(KUBE_DIR, 'apiserver', 'go.mod'), 'utf8')).goLine.slice(3);
  const go = await goToolchain(goMin);
  const etcdVersion = requiredVersion('etcd', 'go.etcd.io/etcd/server/v3');
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  await removeStaleBuilds(parent);
  // build beside the cache folder, then rename: a killed build never leaves a partial binary
  const tmp = join(parent, `.build-${KUBE_RELEASE}-${process.pid}`);
  await mkdir(tmp, { recursive: true });
  const buildEnv = { ...env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };
  try {
    await mkdir(dir, { recursive: true });
    for (const step of steps(KUBE_RELEASE, etcdVersion)) {
      if (!step.names.some((n) => missing.includes(n))) continue;
      const t0 = Date.now();
      log(
        `kube: building ${step.names.join(', ')} ${step.module === 'etcd' ? etcdVersion : KUBE_RELEASE} with ${go} (test/kube/${step.module}; the first build on a machine fetches ~130 MB of modules and takes ~7 min on 2 cores)...`,
      );
      await goInherit(step.args(tmp), { cwd: join(KUBE_DIR, step.module), env: buildEnv });
      for (const n of step.names) await rename(join(tmp, n), join(dir, n));
      log(`kube: built ${step.names.join(', ')}, took ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return findBinaries(env);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureBinaries().then(
    (b) => process.stdout.write(`kube ${KUBE_RELEASE} binaries: ${b.dir}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
