// The sandbox as a library: one Kubernetes-compatible API server per named cluster on
// 127.0.0.1, a kubeconfig with one context per cluster, the CRDs of manifests/crds installed.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Cluster, type PodReplacementOptions, type SandboxCluster } from './cluster.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { makeServingCert } from './tls.js';

export type { SandboxCluster, PodReplacementOptions } from './cluster.js';
export type { Fault, FaultOptions } from './faults.js';
export { Cluster } from './cluster.js';

export interface SandboxOptions {
  clusters: string[];
  kubeconfigPath?: string;
  /** default true: install manifests/crds/*.yaml */
  crds?: boolean;
  crdDir?: string;
  /** how often a watch that allows bookmarks gets one (default 5 s) */
  bookmarkIntervalMs?: number;
  /** Service routes for every cluster: "namespace/name" → port on 127.0.0.1 (see SandboxCluster.routeService) */
  services?: Record<string, number>;
  /** every cluster replaces deleted Pods as a ReplicaSet would (see SandboxCluster.replaceDeletedPods) */
  replaceDeletedPods?: boolean | PodReplacementOptions;
}

export interface Sandbox {
  kubeconfigPath: string;
  clusters: Map<string, SandboxCluster>;
  /** the same clusters with their internals (store, request log) for tests */
  internals: Map<string, Cluster>;
  caPem: string;
  stop(): Promise<void>;
}

export const DEFAULT_CRD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../manifests/crds');

/** Every CustomResourceDefinition document in the *.yaml / *.yml / *.json files of a directory. */
export async function readCrds(dir: string): Promise<unknown[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  } catch {
    return [];
  }
  const docs = await Promise.all(
    files.map(async (f) => {
      const text = await readFile(join(dir, f), 'utf8');
      return parseAllDocuments(text).map((d) => {
        if (d.errors.length) throw new Error(`${join(dir, f)}: ${d.errors[0].message}`);
        return d.toJS() as { kind?: string } | null;
      });
    }),
  );
  return docs.flat().filter((d): d is { kind: string } => d?.kind === 'CustomResourceDefinition');
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  if (!opts.clusters.length) throw new Error('startSandbox: at least one cluster name is required');
  const dup = opts.clusters.find((c, i) => opts.clusters.indexOf(c) !== i);
  if (dup) throw new Error(`startSandbox: cluster name "${dup}" given twice`);
  const bad = opts.clusters.find((c) => !NAME.test(c));
  if (bad !== undefined)
    throw new Error(`startSandbox: cluster name "${bad}" must be a lowercase RFC 1123 label (e.g. mgmt, cluster1)`);

  const [tls, crds] = await Promise.all([
    makeServingCert(),
    opts.crds === false ? Promise.resolve([]) : readCrds(opts.crdDir ?? DEFAULT_CRD_DIR),
  ]);
  const internals = new Map<string, Cluster>();
  for (const name of opts.clusters) {
    const c = new Cluster(name, tls, { bookmarkIntervalMs: opts.bookmarkIntervalMs });
    for (const [svc, port] of Object.entries(opts.services ?? {})) {
      const [ns, svcName] = svc.split('/');
      if (!ns || !svcName || !Number.isInteger(port))
        throw new Error(`startSandbox: services key "${svc}" must be "namespace/name" with an integer port`);
      c.routeService(ns, svcName, port);
    }
    if (opts.replaceDeletedPods) c.replaceDeletedPods(opts.replaceDeletedPods === true ? {} : opts.replaceDeletedPods);
    internals.set(name, c);
  }
  const started: Cluster[] = [];
  let tmp: string | undefined;
  try {
    for (const c of internals.values()) {
      for (const crd of crds) await c.api.installCrd(crd);
      await c.start();
      started.push(c);
    }
    let kubeconfigPath = opts.kubeconfigPath;
    if (!kubeconfigPath) {
      tmp = await mkdtemp(join(tmpdir(), 'sandbox-kube-'));
      kubeconfigPath = join(tmp, 'kubeconfig');
    }
    await writeFile(kubeconfigPath, kubeconfigYaml([...internals.values()]), { mode: 0o600 });
    const tmpDir = tmp;
    return {
      kubeconfigPath,
      internals,
      caPem: tls.caPem,
      clusters: new Map([...internals].map(([k, v]) => [k, v as SandboxCluster])),
      async stop() {
        await Promise.all([...internals.values()].map((c) => c.stop()));
        if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.all(started.map((c) => c.stop()));
    if (tmp) await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
