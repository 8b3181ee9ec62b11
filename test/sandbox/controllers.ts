// The sandbox runs no controllers, except this one when asked: deleted Pods are replaced as their
// ReplicaSet would replace them (same labels and spec, a generateName name), Running and Ready
// after a delay. Enough for pod-bounce flows that wait for ready replacements.
import { randomUUID } from 'node:crypto';
import { now, randomSuffix } from './names.js';
import { clone, type Json } from './patch.js';
import type { KObject, Store } from './store.js';

const PODS = '/pods';

export class PodReplacer {
  /** off (undefined) by default */
  config?: { readyAfterMs: number };
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly store: Store, private readonly namespaceExists: (ns: string) => boolean) {}

  cancel(): void { for (const t of this.timers) clearTimeout(t); this.timers.clear(); }

  replace(gone: KObject): void {
    const cfg = this.config;
    const ns = gone.metadata.namespace!;
    if (!cfg || !this.namespaceExists(ns)) return;
    const base = gone.metadata.generateName ?? `${gone.metadata.name!.replace(/-[a-z0-9]{5}$/, '')}-`;
    const created = this.store.put(PODS, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: `${base}${randomSuffix()}`, generateName: base, namespace: ns, uid: randomUUID(), creationTimestamp: now(),
        ...(gone.metadata.labels ? { labels: gone.metadata.labels } : {}),
        ...(gone.metadata.ownerReferences ? { ownerReferences: gone.metadata.ownerReferences } : {}),
      },
      spec: clone(gone.spec ?? {}) as Json, status: { phase: 'Pending', qosClass: 'BestEffort' },
    }, 'ADDED');
    const t = setTimeout(() => { this.timers.delete(t); this.markReady(ns, created.metadata.name!); }, cfg.readyAfterMs);
    this.timers.add(t);
  }

  private markReady(ns: string, name: string): void {
    const cur = this.store.get(PODS, ns, name);
    if (!cur) return;
    const at = now();
    const containers = ((cur.spec as { containers?: Array<{ name: string; image?: string }> } | undefined)?.containers ?? []);
    cur.status = {
      phase: 'Running', qosClass: 'BestEffort', startTime: at,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: at })),
      containerStatuses: containers.map((c) => ({ name: c.name, image: c.image ?? '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: at } } })),
    } as Json;
    this.store.put(PODS, cur, 'MODIFIED');
  }
}
