// The independent trust watcher that rotation tests run beside the code under test: it watches
// every cluster's Istio `cacerts` Secret and, at every change of any of them, re-checks that every
// cluster's workloads can verify every other's (trust-check.ts). Any failure is a gap, recorded
// with the moment and the event that caused it. See README.md.
import { KubeConfig } from '@kubernetes/client-node';
import { parseCacerts, TrustEvaluator, type ClusterCA, type Failure } from './trust-check.js';
import { SecretWatch, type SecretChange } from './secret-watch.js';

export { parseCacerts, TrustEvaluator } from './trust-check.js';
export type { ClusterCA, Failure } from './trust-check.js';

export interface TrustWatcherOptions {
  kubeconfigPath: string;
  /** kubeconfig contexts, one per cluster; gaps name clusters by context */
  contexts: string[];
  /** default istio-system/cacerts */
  secret?: { namespace: string; name: string };
  /** the clock for validity and gap times (default: the real one) */
  now?: () => Date;
}

export interface Gap {
  /** when the watcher first saw it (evaluation time) */
  time: Date;
  /** the change that triggered the snapshot, e.g. "c2 MODIFIED istio-system/cacerts rv 42" */
  event: string;
  from: string;
  to: string;
  reason: string;
  /** when a later snapshot no longer had it; absent while it lasts */
  until?: Date;
}

export interface Report {
  gaps: Gap[];
  /** gaps still open at the last snapshot */
  open: Gap[];
  events: number;
  snapshots: number;
  /** watch connections made again after a drop or a server timeout */
  reconnects: number;
  /** lists after 410 Gone: the changes in between were seen only as their net result */
  relists: number;
  /** lists after a lost connection (the copy was unknown meanwhile; net result only, as relists) */
  resyncs: number;
}

export interface TrustWatcher {
  readonly gaps: Gap[];
  readonly events: number;
  readonly snapshots: number;
  /**
   * Resolves once every cluster's watched copy is the one a fresh read returns and no change has
   * come for `ms`: everything written before the call has been evaluated. Throws after timeoutMs.
   */
  waitForQuiet(ms?: number, timeoutMs?: number): Promise<void>;
  report(): Report;
  /** Throws a readable error listing the first gaps. */
  assertNoGaps(): void;
  stop(): Promise<Report>;
}

export async function startTrustWatcher(opts: TrustWatcherOptions): Promise<TrustWatcher> {
  const { namespace, name } = opts.secret ?? { namespace: 'istio-system', name: 'cacerts' };
  const now = opts.now ?? (() => new Date());
  const evaluator = new TrustEvaluator();
  const cas = new Map<string, ClusterCA>();
  const deleted = new Set<string>(); // seen once, then gone: a gap until it comes back
  // Clusters whose watch connection is lost: their copy is unknown (not a gap, not trusted) until
  // a fresh list brings it back; pairs with them are judged again then.
  const unknown = new Set<string>();
  const gaps: Gap[] = [];
  const open = new Map<string, Gap>();
  let events = 0;
  let snapshots = 0;
  let lastChange = Date.now();

  const snapshot = (event: string): void => {
    snapshots++;
    const at = now();
    const known = unknown.size ? new Map([...cas].filter(([c]) => !unknown.has(c))) : cas;
    const failures: Failure[] = evaluator.evaluate(known, at);
    for (const c of deleted)
      failures.push({ from: c, to: c, reason: `${namespace}/${name} was deleted after it had been seen` });
    const seen = new Set<string>();
    for (const f of failures) {
      const key = `${f.from}\0${f.to}\0${f.reason}`;
      seen.add(key);
      if (!open.has(key)) {
        const g: Gap = { time: at, event, ...f };
        gaps.push(g);
        open.set(key, g);
      }
    }
    for (const [key, g] of open)
      if (!seen.has(key)) {
        g.until = at;
        open.delete(key);
      }
  };

  const onChange =
    (cluster: string) =>
    (c: SecretChange): void => {
      events++;
      lastChange = Date.now();
      // parse once per Secret version; pairs are then evaluated from the parsed copies
      if (c.secret) {
        cas.set(cluster, parseCacerts(c.secret.data));
        deleted.delete(cluster);
      } else if (cas.delete(cluster)) deleted.add(cluster);
      snapshot(`${cluster} ${c.type} ${namespace}/${name} rv ${c.resourceVersion}`);
    };

  const watches = new Map<string, SecretWatch>();
  for (const ctx of opts.contexts) {
    const kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfigPath);
    if (!kc.getContextObject(ctx))
      throw new Error(`trust watcher: context "${ctx}" not found in ${opts.kubeconfigPath}`);
    kc.setCurrentContext(ctx);
    watches.set(
      ctx,
      new SecretWatch(kc, namespace, name, onChange(ctx), (live) => {
        if (!live) {
          unknown.add(ctx);
          return;
        }
        unknown.delete(ctx);
        snapshot(`${ctx} watch back, listed afresh`);
      }),
    );
  }
  const started = await Promise.allSettled(
    [...watches].map(async ([ctx, w]) => {
      try {
        await w.start();
      } catch (e) {
        throw new Error(
          `trust watcher: cannot list ${namespace}/${name} in context "${ctx}": ${(e as Error).message}`,
          { cause: e },
        );
      }
    }),
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all([...watches.values()].map((w) => w.stop()));
    throw failed.reason;
  }

  const report = (): Report => {
    const ws = [...watches.values()];
    return {
      gaps: [...gaps],
      open: [...open.values()],
      events,
      snapshots,
      reconnects: ws.reduce((n, w) => n + Math.max(0, w.watches - 1), 0),
      relists: ws.reduce((n, w) => n + w.relists, 0),
      resyncs: ws.reduce((n, w) => n + w.resyncs, 0),
    };
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  return {
    get gaps() {
      return gaps;
    },
    get events() {
      return events;
    },
    get snapshots() {
      return snapshots;
    },
    report,
    async waitForQuiet(ms = 200, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const behind: string[] = [];
        await Promise.all(
          [...watches].map(async ([ctx, w]) => {
            const fresh = await w.read().catch(() => w.current); // an unreachable cluster cannot be behind
            if (fresh?.metadata.resourceVersion !== w.current?.metadata.resourceVersion) behind.push(ctx);
          }),
        );
        const quietFor = Date.now() - lastChange;
        if (!behind.length && quietFor >= ms) return;
        if (Date.now() > deadline) {
          throw new Error(
            `trust watcher: not quiet after ${timeoutMs} ms (${behind.length ? `behind in ${behind.join(', ')}` : `last change ${quietFor} ms ago`})`,
          );
        }
        await sleep(behind.length ? 20 : Math.min(ms - quietFor, 100));
      }
    },
    assertNoGaps() {
      if (!gaps.length) return;
      const shown = gaps
        .slice(0, 10)
        .map(
          (g) =>
            `  ${g.time.toISOString()}  ${g.from} -> ${g.to}  [${g.event}]${g.until ? ` (until ${g.until.toISOString()})` : ' (still open)'}\n    ${g.reason}`,
        );
      if (gaps.length > 10) shown.push(`  ... and ${gaps.length - 10} more`);
      throw new Error(
        `trust watcher saw ${gaps.length} gap(s) in ${snapshots} snapshot(s) of ${watches.size} cluster(s):\n${shown.join('\n')}`,
      );
    },
    async stop() {
      await Promise.all([...watches.values()].map((w) => w.stop()));
      snapshot('stop'); // a last look: certificates may have expired since the last change
      return report();
    },
  };
}
