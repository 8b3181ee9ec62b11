// The clusters the CLI suites of dry runs, errors and progress share, set up in the describe that
// calls useCliWorld: a backend whose clusters have the real webhook registered (startCliSandbox),
// a root CA gloo-mesh/root-ca in the management cluster, and `kubectl mesh-cert` run against
// them, checked never to print a private key.
import { afterAll, beforeAll, expect } from 'vitest';
import { buildPlugin, kubectlMeshCert, privateKeyBlocks, type RunResult } from './helpers.js';
import { startCliSandbox } from './issue-rotate.helpers.js';
import { START_TIMEOUT_MS, type BackendKind } from '../backend/index.js';

export interface CliWorld {
  readonly kubeconfigPath: string;
  readonly env: Record<string, string>;
  /** `kubectl mesh-cert ARGS` against the clusters; fails the test if it prints a private key. */
  mc(args: string[]): Promise<RunResult>;
  /** Plain kubectl against one context. */
  kubectl(context: string, args: string[]): Promise<string>;
}

export function useCliWorld(backend: BackendKind, clusters: string[]): CliWorld {
  let world: Awaited<ReturnType<typeof startCliSandbox>> | undefined;
  const started = () => {
    if (!world) throw new Error('the clusters are not started yet (useCliWorld sets them up in beforeAll)');
    return world;
  };
  const handle: CliWorld = {
    get kubeconfigPath() {
      return started().kubeconfigPath;
    },
    get env() {
      return { KUBECONFIG: started().kubeconfigPath };
    },
    async mc(args) {
      const r = await kubectlMeshCert(args, { env: handle.env, timeoutMs: 55_000 });
      expect(privateKeyBlocks(r.stdout + r.stderr)).toEqual([]);
      return r;
    },
    kubectl: (context, args) => started().kubectl(context, args),
  };
  beforeAll(async () => {
    buildPlugin();
    world = await startCliSandbox(clusters, backend);
    const r = await handle.mc(['root', 'create', 'gloo-mesh/root-ca', '--mgmt-context', 'mgmt', '--key-size', '2048']);
    expect(r.code, r.stderr).toBe(0);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await world?.stop();
  });
  return handle;
}
