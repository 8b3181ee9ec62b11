// The in-memory storage of one cluster: objects keyed by resource and namespace/name, one
// monotonically increasing resourceVersion counter (as etcd's revision), and a bounded ring of
// change events that watches replay from.
import type { Json } from './patch.js';

export type KObject = { apiVersion?: string; kind?: string; metadata: Meta; [k: string]: Json | Meta | undefined };
export interface Meta {
  name?: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: Json | undefined;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  rv: number;
  type: EventType;
  key: string;
  object: KObject;
  prev?: KObject;
}
export type Listener = (e: StoreEvent) => void;

const objKey = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;

export class Store {
  private rv = 1;
  private readonly data = new Map<string, Map<string, KObject>>();
  private readonly ring: StoreEvent[] = [];
  private readonly listeners = new Set<Listener>();
  /** Oldest resourceVersion a watch may start from without missing events. */
  private horizon = 1;

  constructor(readonly ringSize = 1000) {}

  get resourceVersion(): number {
    return this.rv;
  }
  get oldestWatchable(): number {
    return this.horizon;
  }

  get(key: string, ns: string | undefined, name: string): KObject | undefined {
    const o = this.data.get(key)?.get(objKey(ns, name));
    return o && structuredClone(o);
  }

  /** Objects in a stable order (namespace, then name), as etcd's key order gives. */
  list(key: string, ns?: string): KObject[] {
    const m = this.data.get(key);
    if (!m) return [];
    return [...m.entries()]
      .filter(([k]) => ns === undefined || k.startsWith(`${ns}/`))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o));
  }

  /** Writes the object with the next resourceVersion; the caller has done all checks. */
  put(key: string, obj: KObject, type: 'ADDED' | 'MODIFIED'): KObject {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    let m = this.data.get(key);
    if (!m) {
      m = new Map();
      this.data.set(key, m);
    }
    const k = objKey(stored.metadata.namespace, stored.metadata.name!);
    const prev = m.get(k);
    m.set(k, stored);
    this.emit({ rv: this.rv, type, key, object: stored, prev });
    return structuredClone(stored);
  }

  remove(key: string, ns: string | undefined, name: string): KObject | undefined {
    const m = this.data.get(key);
    const o = m?.get(objKey(ns, name));
    if (!m || !o) return undefined;
    m.delete(objKey(ns, name));
    const gone = structuredClone(o);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', key, object: gone });
    return structuredClone(gone);
  }

  /** Drops every object of a resource (a deleted CRD takes its custom resources with it). */
  dropResource(key: string): void {
    for (const o of this.list(key)) this.remove(key, o.metadata.namespace, o.metadata.name!);
    this.data.delete(key);
  }

  /** Events after `rv`, or undefined when some of them have left the ring (410 Gone). */
  eventsSince(rv: number, key: string): StoreEvent[] | undefined {
    if (rv < this.horizon - 1) return undefined;
    return this.ring.filter((e) => e.rv > rv && e.key === key);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Forgets the event history up to now, as etcd compaction does. */
  compact(): void {
    this.ring.length = 0;
    this.horizon = this.rv + 1;
  }

  private emit(e: StoreEvent): void {
    this.ring.push(e);
    if (this.ring.length > this.ringSize) {
      const dropped = this.ring.shift()!;
      this.horizon = dropped.rv + 1;
    }
    for (const l of this.listeners) l(e);
  }
}
