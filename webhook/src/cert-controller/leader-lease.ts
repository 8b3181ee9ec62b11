// One leader among the webhook's replicas, by a coordination.k8s.io Lease, as client-go's
// leaderelection does it: the holder renews the Lease every retry period; another replica takes
// it over only once it has seen the same record unchanged for a whole lease duration, measured
// on its own clock (so clocks that disagree do not matter); the holder that cannot renew within
// the renew deadline stops acting as leader before anyone else may start. On shutdown the holder
// hands the Lease back (no holder), so a rolling update does not wait out the lease duration.
import { ok, type ApiStatus } from '../kube-api.js';
import type { KubeApi } from './kube-api.js';

export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's defaults. */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; managedFields?: unknown };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderEvents {
  onChange(leader: boolean): void;
  onError(message: string): void;
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderLease {
  private leader = false;
  private lastRenewMs = 0;
  private observed = { record: '', atMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastError = '';

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly events: LeaderEvents,
    private readonly timings: LeaseTimings = DEFAULT_LEASE_TIMINGS,
  ) {}

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      void this.tryAcquireOrRenew().finally(() => {
        if (this.stopped) return;
        this.timer = setTimeout(tick, this.timings.retryPeriodMs);
        this.timer.unref();
      });
    };
    tick();
  }

  /** Stops, and hands the Lease back when holding it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leader) return;
    this.setLeader(false);
    try {
      const lease = await this.get();
      if (lease?.spec?.holderIdentity !== this.identity) return;
      const now = Date.now();
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) };
      ok('release the Lease', await this.api.call<Lease | ApiStatus>('PUT', this.path(), lease));
    } catch (err) {
      this.events.onError(
        `could not hand back Lease ${this.namespace}/${this.name}: ${String(err instanceof Error ? err.message : err)}`,
      );
    }
  }

  private path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases/${this.name}`;
  }

  /** The Lease without its managedFields, ready to be sent back in an update (the API server keeps them). */
  private async get(): Promise<Lease | undefined> {
    const r = await this.api.call<Lease | ApiStatus>('GET', this.path());
    if (r.status === 404) return undefined;
    const lease = ok<Lease>(`get Lease ${this.namespace}/${this.name}`, r);
    delete lease.metadata.managedFields;
    return lease;
  }

  private setLeader(v: boolean): void {
    if (v === this.leader) return;
    this.leader = v;
    this.events.onChange(v);
  }

  private spec(now: number, transitions: number, acquired?: string): Lease['spec'] {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timings.leaseDurationMs / 1000),
      acquireTime: acquired ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    };
  }

  /** One round: create, renew or take over the Lease; anything else leaves it to its holder. */
  async tryAcquireOrRenew(): Promise<void> {
    const now = Date.now();
    try {
      const lease = await this.get();
      if (!lease) {
        const body: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace: this.namespace },
          spec: this.spec(now, 0),
        };
        const r = await this.api.call<Lease | ApiStatus>(
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`,
          body,
        );
        if (r.status === 409) return; // another replica created it first
        ok(`create Lease ${this.namespace}/${this.name}`, r);
        return this.renewed(now);
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const record = `${holder}|${spec.renewTime ?? ''}|${lease.metadata.resourceVersion ?? ''}`;
      if (record !== this.observed.record) this.observed = { record, atMs: now };
      const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.timings.leaseDurationMs / 1000)) * 1000;
      if (holder !== this.identity && holder !== '' && now < this.observed.atMs + durationMs) {
        this.setLeader(false);
        return;
      }
      const takeover = holder !== this.identity;
      lease.spec = this.spec(
        now,
        (spec.leaseTransitions ?? 0) + (takeover ? 1 : 0),
        takeover ? undefined : spec.acquireTime,
      );
      const r = await this.api.call<Lease | ApiStatus>('PUT', this.path(), lease);
      if (r.status === 409) return this.failedRenew(now); // changed under us: look again next round
      ok(`${takeover ? 'take over' : 'renew'} Lease ${this.namespace}/${this.name}`, r);
      this.renewed(now);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg !== this.lastError) this.events.onError(msg);
      this.lastError = msg;
      this.failedRenew(now);
    }
  }

  private renewed(now: number): void {
    this.lastRenewMs = now;
    this.lastError = '';
    this.setLeader(true);
  }

  private failedRenew(now: number): void {
    if (this.leader && now - this.lastRenewMs > this.timings.renewDeadlineMs) this.setLeader(false);
  }
}
