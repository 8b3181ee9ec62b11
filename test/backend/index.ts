// The two backends every end-to-end suite runs on: the sandbox (test/sandbox: fast, with fault
// injection) and the real control plane (test/kube: kube-apiserver, kube-controller-manager and
// etcd built from their Go modules, the reference). A suite is written once and run on each:
//
//   for (const backend of BACKENDS) describe(backend, () => { ... startBackend(backend, clusters) ... });
//
// Fault injection (`sandbox`) exists on the sandbox only; tests that need it are defined for that
// backend alone and say so.
import { startSandbox, type Sandbox } from '../sandbox/index.js';

export type BackendKind = 'sandbox' | 'kube';
const KINDS: readonly BackendKind[] = ['sandbox', 'kube'];

/**
 * Both, unless MESH_CERT_BACKENDS narrows them for a quick local run (`MESH_CERT_BACKENDS=sandbox`).
 * `npm test` and CI set nothing: both run.
 */
export const BACKENDS: readonly BackendKind[] = parseBackends(process.env.MESH_CERT_BACKENDS);

export function parseBackends(text: string | undefined): readonly BackendKind[] {
  if (!text) return KINDS;
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.find((s) => !KINDS.includes(s as BackendKind));
  if (bad !== undefined)
    throw new Error(`MESH_CERT_BACKENDS: unknown backend "${bad}" (expected a comma list of ${KINDS.join(', ')})`);
  return list as BackendKind[];
}

export interface Backend {
  kind: BackendKind;
  /** One context per cluster, named after it; the first cluster is the current context. */
  kubeconfigPath: string;
  /** The sandbox's internals (faults, request log, stop/start of one cluster); sandbox only. */
  sandbox?: Sandbox;
  /**
   * Makes one cluster's API server stop answering, keeping its state: the sandbox closes its
   * port (connections refused); the real kube-apiserver is frozen with SIGSTOP (connections hang,
   * as on a partitioned network). `resume` brings it back.
   */
  pause(cluster: string): Promise<void>;
  resume(cluster: string): Promise<void>;
  stop(): Promise<void>;
}

/** A real cluster start takes seconds: hooks that start one need this much room. */
export const START_TIMEOUT_MS = 180_000;

export async function startBackend(kind: BackendKind, clusters: string[]): Promise<Backend> {
  if (kind === 'sandbox') {
    const sandbox = await startSandbox({ clusters });
    const cluster = (name: string) => {
      const c = sandbox.clusters.get(name);
      if (!c) throw new Error(`no cluster "${name}" in this sandbox`);
      return c;
    };
    return {
      kind,
      kubeconfigPath: sandbox.kubeconfigPath,
      sandbox,
      pause: (name) => cluster(name).stop(),
      resume: (name) => cluster(name).start(),
      stop: () => sandbox.stop(),
    };
  }
  const { startKube } = await import('../kube/index.js');
  const kube = await startKube({ clusters });
  const signal = (name: string, sig: NodeJS.Signals) => {
    const c = kube.clusters.get(name);
    if (!c) throw new Error(`no cluster "${name}" in this control plane`);
    process.kill(c.pids.apiserver, sig);
    return Promise.resolve();
  };
  return {
    kind,
    kubeconfigPath: kube.kubeconfigPath,
    pause: (name) => signal(name, 'SIGSTOP'),
    resume: (name) => signal(name, 'SIGCONT'),
    // A frozen apiserver would not stop: wake every one first.
    stop: async () => {
      for (const name of kube.clusters.keys()) await signal(name, 'SIGCONT').catch(() => undefined);
      await kube.stop();
    },
  };
}
