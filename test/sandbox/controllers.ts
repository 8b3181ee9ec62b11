// The controllers behind the sandbox. Controllers (below) plays those of kube-controller-manager
// and the apiextensions apiserver whose effects clients observe. PodReplacer runs only when asked:
// deleted Pods are replaced as their ReplicaSet would replace them (same labels and spec, a
// generateName name), Running and Ready after a delay; enough for pod-bounce flows that wait for
// ready replacements.
import { randomUUID } from 'node:crypto';
import { now, randomSuffix } from './names.js';
import { clone, type Json } from './patch.js';
import type { KObject, Store } from './store.js';
import type { ClusterApi, DeleteOptions } from './apiserver.js';
import type { ResourceType } from './resources.js';
import { storeKey } from './resources.js';

const PODS = '/pods';

export class PodReplacer {
  /** off (undefined) by default */
  config?: { readyAfterMs: number };
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: Store,
    private readonly namespaceExists: (ns: string) => boolean,
  ) {}

  cancel(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  replace(gone: KObject): void {
    const cfg = this.config;
    const ns = gone.metadata.namespace!;
    if (!cfg || !this.namespaceExists(ns)) return;
    const base = gone.metadata.generateName ?? `${gone.metadata.name!.replace(/-[a-z0-9]{5}$/, '')}-`;
    const created = this.store.put(
      PODS,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${base}${randomSuffix()}`,
          generateName: base,
          namespace: ns,
          uid: randomUUID(),
          creationTimestamp: now(),
          ...(gone.metadata.labels ? { labels: gone.metadata.labels } : {}),
          ...(gone.metadata.ownerReferences ? { ownerReferences: gone.metadata.ownerReferences } : {}),
        },
        spec: clone(gone.spec ?? {}) as Json,
        status: { phase: 'Pending', qosClass: 'BestEffort' },
      },
      'ADDED',
    );
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.markReady(ns, created.metadata.name!);
    }, cfg.readyAfterMs);
    this.timers.add(t);
  }

  private markReady(ns: string, name: string): void {
    const cur = this.store.get(PODS, ns, name);
    if (!cur) return;
    const at = now();
    const containers =
      (cur.spec as { containers?: Array<{ name: string; image?: string }> } | undefined)?.containers ?? [];
    cur.status = {
      phase: 'Running',
      qosClass: 'BestEffort',
      startTime: at,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: at,
      })),
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: at } },
      })),
    } as Json;
    this.store.put(PODS, cur, 'MODIFIED');
  }
}

// ---- what kube-controller-manager and the apiextensions apiserver do that clients see ----

const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
const CRD_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
const BACKGROUND: DeleteOptions = { propagationPolicy: 'Background' };

interface OwnerRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  blockOwnerDeletion?: boolean;
}

/**
 * The controllers clients observe, run a few milliseconds after the writes that concern them:
 * - every new namespace gets the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap
 *   (done at once, so they exist when the namespace's creation returns);
 * - the namespace controller empties a Terminating namespace, then removes its `kubernetes`
 *   finalizer (the namespace is gone); objects held by finalizers keep it Terminating;
 * - the CRD finalizer deletes a deleted CRD's custom resources, then lets the CRD go;
 * - the garbage collector: a dependent whose owners are all gone (by uid) is deleted, one with
 *   some owners gone loses those references; `orphan` removes the owner's references from its
 *   dependents, `foregroundDeletion` deletes them and waits for those with blockOwnerDeletion.
 *   Owner kinds the sandbox does not serve are never resolved (their dependents stay).
 * Their writes bypass admission.
 */
export class Controllers {
  private timer?: NodeJS.Timeout;

  constructor(private readonly api: ClusterApi) {}

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  namespaceAdded(ns: string): void {
    const cm = this.api.lookup('', 'v1', 'configmaps');
    const sa = this.api.lookup('', 'v1', 'serviceaccounts');
    if (sa)
      this.api.controllerCreate(
        sa,
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } },
        'kube-controller-manager',
      );
    if (cm) {
      this.api.controllerCreate(
        cm,
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'kube-root-ca.crt',
            namespace: ns,
            annotations: { 'kubernetes.io/description': ROOT_CA_DESCRIPTION },
          },
          data: { 'ca.crt': this.api.caPem },
        },
        'kube-controller-manager',
      );
    }
  }

  written(r: ResourceType, stored: KObject, old: KObject | undefined): void {
    if (r.group === '' && r.plural === 'namespaces' && !old) this.namespaceAdded(stored.metadata.name!);
    if (stored.metadata.ownerReferences || stored.metadata.deletionTimestamp) this.schedule();
  }

  removed(r: ResourceType, gone: KObject): void {
    // the service account and root CA publisher controllers put theirs back in a live namespace
    const ns = gone.metadata.namespace;
    const mine =
      r.group === '' &&
      ((r.plural === 'configmaps' && gone.metadata.name === 'kube-root-ca.crt') ||
        (r.plural === 'serviceaccounts' && gone.metadata.name === 'default'));
    if (mine && ns) {
      const n = this.api.store.get('/namespaces', undefined, ns);
      if (n && !n.metadata.deletionTimestamp) this.namespaceAdded(ns);
    }
    this.schedule();
  }

  schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.sweep();
    }, 10);
  }

  /** Every served type once (a CRD's versions share their objects). */
  private types(): ResourceType[] {
    const seen = new Set<string>();
    return this.api.resources().filter((t) => !t.review && !seen.has(storeKey(t)) && !!seen.add(storeKey(t)));
  }

  private sweep(): void {
    let acted = false;
    const types = this.types();
    const all: Array<{ r: ResourceType; o: KObject }> = types.flatMap((r) =>
      this.api.store.list(storeKey(r)).map((o) => ({ r, o })),
    );
    const dependentsOf = (uid: string): Array<{ r: ResourceType; o: KObject }> =>
      all.filter((x) => ((x.o.metadata.ownerReferences ?? []) as OwnerRef[]).some((ref) => ref.uid === uid));
    const fresh = (x: { r: ResourceType; o: KObject }): KObject | undefined =>
      this.api.store.get(storeKey(x.r), x.o.metadata.namespace, x.o.metadata.name!);

    // the namespace controller
    for (const n of all.filter(
      (x) => x.r.group === '' && x.r.plural === 'namespaces' && x.o.metadata.deletionTimestamp,
    )) {
      const ns = n.o.metadata.name!;
      const content = all.filter((x) => x.r.namespaced && x.o.metadata.namespace === ns);
      for (const c of content)
        if (!c.o.metadata.deletionTimestamp && fresh(c)) {
          this.api.deleteAdmitted(c.r, c.o, BACKGROUND, false);
          acted = true;
        }
      const left = types.filter((t) => t.namespaced).some((t) => this.api.store.list(storeKey(t), ns).length > 0);
      if (!left) {
        const cur = fresh(n);
        if (cur) {
          const next = clone(cur);
          next.spec = { ...((next.spec ?? {}) as object), finalizers: [] } as Json;
          this.api.controllerUpdate(n.r, next, 'namespace-controller');
          acted = true;
        }
      }
    }

    // the CRD finalizer
    for (const c of all.filter(
      (x) =>
        x.r.plural === 'customresourcedefinitions' &&
        x.r.group === 'apiextensions.k8s.io' &&
        x.o.metadata.deletionTimestamp,
    )) {
      const crdTypes = types.filter((t) => t.crd === c.o.metadata.name);
      for (const t of crdTypes)
        for (const o of this.api.store.list(storeKey(t)))
          if (!o.metadata.deletionTimestamp) {
            this.api.deleteAdmitted(t, o, BACKGROUND, false);
            acted = true;
          }
      if (!crdTypes.some((t) => this.api.store.list(storeKey(t)).length)) {
        const cur = fresh(c);
        if (cur && ((cur.metadata.finalizers ?? []) as string[]).includes(CRD_FINALIZER)) {
          const next = clone(cur);
          next.metadata.finalizers = ((cur.metadata.finalizers ?? []) as string[]).filter((f) => f !== CRD_FINALIZER);
          this.api.controllerUpdate(c.r, next, 'apiextensions-apiserver');
          acted = true;
        }
      }
    }

    // the garbage collector: owners being deleted with orphan / foregroundDeletion
    for (const x of all.filter((y) => y.o.metadata.deletionTimestamp)) {
      const fins = (x.o.metadata.finalizers ?? []) as string[];
      const uid = x.o.metadata.uid!;
      if (fins.includes('orphan')) {
        for (const d of dependentsOf(uid)) {
          const cur = fresh(d);
          if (!cur) continue;
          const next = clone(cur);
          const refs = ((cur.metadata.ownerReferences ?? []) as OwnerRef[]).filter((ref) => ref.uid !== uid);
          if (refs.length) next.metadata.ownerReferences = refs as Json;
          else delete next.metadata.ownerReferences;
          this.api.controllerUpdate(d.r, next, 'generic-garbage-collector');
          acted = true;
        }
        const cur = fresh(x);
        if (cur) {
          const next = clone(cur);
          next.metadata.finalizers = fins.filter((f) => f !== 'orphan');
          this.api.controllerUpdate(x.r, next, 'generic-garbage-collector');
          acted = true;
        }
      } else if (fins.includes('foregroundDeletion')) {
        const deps = dependentsOf(uid).filter((d) => fresh(d));
        for (const d of deps)
          if (!d.o.metadata.deletionTimestamp) {
            this.api.deleteAdmitted(d.r, d.o, BACKGROUND, false);
            acted = true;
          }
        const blocking = deps.filter(
          (d) =>
            fresh(d) &&
            ((d.o.metadata.ownerReferences ?? []) as OwnerRef[]).some(
              (ref) => ref.uid === uid && ref.blockOwnerDeletion,
            ),
        );
        if (!blocking.length) {
          const cur = fresh(x);
          if (cur) {
            const next = clone(cur);
            next.metadata.finalizers = fins.filter((f) => f !== 'foregroundDeletion');
            this.api.controllerUpdate(x.r, next, 'generic-garbage-collector');
            acted = true;
          }
        }
      }
    }

    // the garbage collector: dependents whose owners are gone
    for (const snap of all.filter(
      (y) => (y.o.metadata.ownerReferences as OwnerRef[] | undefined)?.length && !y.o.metadata.deletionTimestamp,
    )) {
      const cur0 = fresh(snap);
      if (
        !cur0 ||
        cur0.metadata.deletionTimestamp ||
        !(cur0.metadata.ownerReferences as OwnerRef[] | undefined)?.length
      )
        continue;
      const d = { r: snap.r, o: cur0 };
      const refs = d.o.metadata.ownerReferences as OwnerRef[];
      const dangling = refs.filter((ref) => {
        const [group, version] = (ref.apiVersion ?? '').includes('/')
          ? (ref.apiVersion ?? '').split('/')
          : ['', ref.apiVersion ?? ''];
        const t = this.api.lookupKind(group, version, ref.kind ?? '');
        if (!t) return false;
        const owner = this.api.store.get(
          storeKey(t),
          t.namespaced ? d.o.metadata.namespace : undefined,
          ref.name ?? '',
        );
        return !owner || owner.metadata.uid !== ref.uid;
      });
      if (!dangling.length) continue;
      if (dangling.length === refs.length) {
        this.api.deleteAdmitted(d.r, d.o, BACKGROUND, false);
        acted = true;
        continue;
      }
      const cur = fresh(d);
      if (!cur) continue;
      const next = clone(cur);
      next.metadata.ownerReferences = refs.filter((ref) => !dangling.includes(ref)) as Json;
      this.api.controllerUpdate(d.r, next, 'generic-garbage-collector');
      acted = true;
    }
    if (acted) this.schedule();
  }
}
