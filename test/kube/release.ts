// The one Kubernetes release the real control plane is built from (release.json), and where
// its binaries are cached. Everything else (staging module versions, etcd's version) is derived
// from the go.mod that the Go module proxy serves for this release.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KUBE_DIR = dirname(fileURLToPath(import.meta.url));

function readRelease(): string {
  const { kubernetes } = JSON.parse(readFileSync(join(KUBE_DIR, 'release.json'), 'utf8')) as { kubernetes?: unknown };
  if (typeof kubernetes !== 'string' || !/^v1\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(kubernetes)) {
    throw new Error(
      `test/kube/release.json: "kubernetes" must be a release tag such as "v1.34.4", got ${JSON.stringify(kubernetes)}`,
    );
  }
  return kubernetes;
}

/** e.g. "v1.34.4" */
export const KUBE_RELEASE = readRelease();

/** Staging modules (k8s.io/api, k8s.io/client-go, ...) are tagged v0.Y.Z for release v1.Y.Z. */
export function stagingVersion(release: string): string {
  return release.replace(/^v1\./, 'v0.');
}

/** major and minor as kube's version ldflags want them: "1", "34" */
export function majorMinor(release: string): { major: string; minor: string } {
  const m = /^v(\d+)\.(\d+)\./.exec(release);
  if (!m) throw new Error(`not a release tag: ${release}`);
  return { major: m[1], minor: m[2] };
}

/** $XDG_CACHE_HOME/mesh-cert/kube/<release>, ~/.cache/... when XDG_CACHE_HOME is unset. */
export function cacheDirFor(release: string, env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'mesh-cert', 'kube', release);
}
