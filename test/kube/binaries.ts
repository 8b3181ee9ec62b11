// Where the control plane's binaries are: KUBEBUILDER_ASSETS when it is set, otherwise the
// per-release cache that ensure.ts fills. Finding them never builds anything.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { cacheDirFor, KUBE_RELEASE } from './release.js';

export const BINARY_NAMES = ['kube-apiserver', 'kube-controller-manager', 'etcd'] as const;

export interface KubeBinaries {
  dir: string;
  apiserver: string;
  controllerManager: string;
  etcd: string;
  /** where they came from */
  source: 'KUBEBUILDER_ASSETS' | 'cache';
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function binariesIn(dir: string, source: KubeBinaries['source']): KubeBinaries {
  return {
    dir,
    source,
    apiserver: join(dir, 'kube-apiserver'),
    controllerManager: join(dir, 'kube-controller-manager'),
    etcd: join(dir, 'etcd'),
  };
}

/** Names of the binaries missing from dir. */
export function missingIn(dir: string): string[] {
  return BINARY_NAMES.filter((n) => !executable(join(dir, n)));
}

/**
 * The binaries to run, or an Error that says how to get them. KUBEBUILDER_ASSETS wins when set
 * (envtest's assets lack kube-controller-manager: that is reported, not silently skipped, since
 * namespace deletion and garbage collection need it).
 */
export function findBinaries(env: NodeJS.ProcessEnv = process.env): KubeBinaries {
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets) {
    const missing = missingIn(assets);
    if (missing.length)
      throw new Error(
        `kube: KUBEBUILDER_ASSETS=${assets} lacks ${missing.join(', ')} (envtest's assets do not ship kube-controller-manager); put them there, or unset KUBEBUILDER_ASSETS to use binaries built from Go modules (npx tsx test/kube/ensure.ts)`,
      );
    return binariesIn(assets, 'KUBEBUILDER_ASSETS');
  }
  const dir = cacheDirFor(KUBE_RELEASE, env);
  const missing = missingIn(dir);
  if (missing.length)
    throw new Error(
      `kube: ${missing.join(', ')} (release ${KUBE_RELEASE}) not built yet (looked in ${dir}); run \`npx tsx test/kube/ensure.ts\` first (needs Go; the first build takes many minutes, see test/kube/README.md), or set KUBEBUILDER_ASSETS`,
    );
  return binariesIn(dir, 'cache');
}
