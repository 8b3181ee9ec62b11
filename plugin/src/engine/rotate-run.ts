// What `kubectl mesh-cert rotate` does with the selected clusters: build the engine's cluster
// views and run the rotation driver. Lazily imported by the command (client-node, pki).
import type { ClusterSet } from '../lib/clusters.js';
import { clusterApiOf } from './k8s-cluster-api.js';
import type { ObjectRef } from './objects.js';
import { rotate } from './rotation/driver.js';
import type { Verifier } from './rotation/verifier.js';
import type { RotateResult, RotationEvent } from './rotation/rotate-options.js';
import type { KeySize } from './issuance/agent.js';

export interface RotateRunOptions {
  set: ClusterSet;
  virtualMesh: ObjectRef;
  newRootSecret?: ObjectRef;
  generateRoot?: { keySize: KeySize; ttlDays: number };
  abort: boolean;
  verify: Verifier;
  stepTimeoutMs: number;
  keepPreviousRoots?: number;
  signal?: AbortSignal;
  onEvent?: (e: RotationEvent) => void;
  /**
   * A dry run (the K8s clients judge or skip every write): one pass. The checks before anything
   * is written run as always, then the writes that start (or abort) the rotation are judged, and
   * the run stops before its first step: nothing stored means no step to take.
   */
  dryRun?: boolean;
}

export async function runRotate(o: RotateRunOptions): Promise<RotateResult> {
  const mgmt = await clusterApiOf(o.set.mgmt);
  const clusters = await Promise.all(o.set.managed.map((c) => clusterApiOf(c)));
  return rotate({
    mgmt,
    clusters,
    virtualMesh: o.virtualMesh,
    newRootSecret: o.newRootSecret,
    generateRoot: o.generateRoot,
    abort: o.abort,
    verify: o.verify,
    stepTimeoutMs: o.stepTimeoutMs,
    keepPreviousRoots: o.keepPreviousRoots,
    signal: o.signal,
    onEvent: o.onEvent,
    ...(o.dryRun ? { stopAfterWrites: 0 } : {}),
  });
}

export { builtInVerifier } from './rotation/verifier.js';
export { commandVerifier } from './rotation/verify-command.js';
