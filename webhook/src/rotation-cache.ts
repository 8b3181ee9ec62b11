// The CertificateRotations of the cluster, listed and watched as client-go's reflector does
// (list, then watch from the list's resourceVersion with bookmarks; on 410 Gone list again; on
// any other failure back off and watch again from the last resourceVersion seen), behind the
// interface validation reads. Requests go through kube-api.ts, not @kubernetes/client-node.
//
// The cache is trusted (synced) only while it is current: listed, and a watch open or one lost
// less than `staleAfterMs` ago. A watch the API server refuses (403: RBAC that allows list but
// not watch) makes it untrusted at once: the list would silently go stale.
import type { IncomingMessage } from 'node:http';
import { KINDS } from '../../schemas/src/index.js';
import type { RotationLister } from './admission/validate.js';
import { ApiRequestError, get, inClusterConnection, kubeconfigConnection, statusMessage, type ClusterConnection, type Stream } from './kube-api.js';

export { ClusterConfigError, clusterConfigured } from './kube-api.js';

export interface RotationCache extends RotationLister {
  /** Where the list comes from, for the start-up log line. */
  readonly source: string;
  /** Why the cache is not to be trusted now (for /readyz), or undefined when it is current. */
  notReady(): string | undefined;
  stop(): Promise<void>;
}

/** A cache fed by the caller: tests, and anything that already holds the list. */
export function staticRotationCache(items: readonly unknown[] = []): RotationCache & { set(items: readonly unknown[]): void } {
  let current = [...items];
  return {
    source: 'static list',
    list: () => current,
    synced: () => true,
    notReady: () => undefined,
    set(next) {
      current = [...next];
    },
    stop: async () => undefined,
  };
}

export interface InformerOptions {
  /** A kubeconfig file (its current context); absent: the pod's service account. */
  kubeconfig?: string;
  onError(message: string): void;
  onChange?(count: number): void;
  /** First retry delay after a failed list or watch; doubles up to 30 s. */
  retryMs?: number;
  /**
   * How long the cache stays trusted without a watch (the API server restarting, a network
   * blip): past it, validation of CertificateRotations and /readyz fail until a watch is back.
   */
  staleAfterMs?: number;
  /** The watch's timeoutSeconds; default 5 to 10 minutes, drawn per watch as client-go does. */
  watchTimeoutSeconds?: number;
}

const MAX_RETRY_MS = 30_000;
const DEFAULT_STALE_AFTER_MS = 30_000;
/** A list page: client-go's reflector asks for 500 at a time. */
const PAGE = 500;
/** One watch event line; an object is at most 3 MiB (the API server's own limit), in JSON. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

type Meta = { name?: string; namespace?: string; resourceVersion?: string };
type WatchEvent = { type?: string; object?: { metadata?: Meta; code?: number } & Record<string, unknown> };

const keyOf = (o: unknown): string => {
  const m = (o as { metadata?: Meta } | null)?.metadata;
  return `${m?.namespace ?? ''}/${m?.name ?? ''}`;
};

/** A 4xx other than 410 Gone and 429: the API server refuses, and retrying will not change that. */
const refusal = (code: number): boolean => code >= 400 && code < 500 && code !== 410 && code !== 429;

function readJson(res: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(new ApiRequestError(0, `the list answer is not JSON: ${(err as Error).message}`));
      }
    });
    res.on('error', reject);
  });
}

/** Reads a watch: one JSON event per line, handed to `onEvent` in order. */
function readEvents(res: IncomingMessage, onEvent: (e: WatchEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let ended = false;
    const fail = (err: Error): void => {
      ended = true;
      res.destroy();
      reject(err);
    };
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      if (ended) return;
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          onEvent(JSON.parse(line) as WatchEvent);
        } catch (err) {
          fail(err instanceof ApiRequestError ? err : new ApiRequestError(0, `a watch event is not JSON: ${(err as Error).message}`));
          return;
        }
      }
      if (buf.length > MAX_EVENT_BYTES) fail(new ApiRequestError(0, `a watch event is over ${MAX_EVENT_BYTES} bytes`));
    });
    res.on('end', () => {
      ended = true;
      resolve();
    });
    res.on('error', (err) => !ended && fail(err));
    res.on('close', () => !ended && fail(new ApiRequestError(0, 'the watch connection closed')));
  });
}

export async function startRotationInformer(opts: InformerOptions): Promise<RotationCache> {
  const info = KINDS.find((k) => k.kind === 'CertificateRotation');
  if (!info) throw new Error('schemas: CertificateRotation is missing from KINDS');
  const conn: ClusterConnection = opts.kubeconfig ? await kubeconfigConnection(opts.kubeconfig) : inClusterConnection();
  const path = `/apis/${info.group}/${info.version}/${info.plural}`;
  const baseRetry = opts.retryMs ?? 1000;
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;

  let items = new Map<string, unknown>();
  let snapshot: readonly unknown[] = [];
  let resourceVersion: string | undefined;
  let listed = false;
  let watchOpen = false;
  /** When the cache was last known current: a list's end, or a watch's. */
  let currentAt = 0;
  /** The API server's refusal of the list or the watch, until one succeeds. */
  let refused: string | undefined;
  let lastError: string | undefined;
  let retry = baseRetry;
  let stopped = false;
  let stream: Stream | undefined;
  let wake: (() => void) | undefined;

  const changed = (): void => {
    snapshot = [...items.values()];
    opts.onChange?.(items.size);
  };

  const list = async (): Promise<void> => {
    const next = new Map<string, unknown>();
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      let page: { metadata?: { continue?: string; resourceVersion?: string }; items?: unknown[] } = {};
      stream = get(conn, `${path}?limit=${PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, async (res) => void (page = (await readJson(res)) as typeof page), 30_000);
      await stream.done;
      for (const o of page.items ?? []) next.set(keyOf(o), o);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion;
    } while (cont && !stopped);
    items = next;
    resourceVersion = rv;
    listed = true;
    refused = undefined;
    currentAt = Date.now();
    changed();
  };

  const watch = async (): Promise<void> => {
    const timeout = opts.watchTimeoutSeconds ?? Math.round(300 * (1 + Math.random()));
    const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeout}&resourceVersion=${encodeURIComponent(resourceVersion ?? '')}`;
    stream = get(
      conn,
      `${path}?${query}`,
      (res) => {
        watchOpen = true;
        refused = undefined;
        lastError = undefined;
        retry = baseRetry;
        return readEvents(res, (e) => {
          const o = e.object;
          if (e.type === 'ERROR') {
            const code = typeof o?.code === 'number' ? o.code : 0;
            throw new ApiRequestError(code, statusMessage(code, JSON.stringify(o ?? {})));
          }
          const rv = o?.metadata?.resourceVersion;
          if (rv) resourceVersion = rv;
          if (e.type === 'ADDED' || e.type === 'MODIFIED') items.set(keyOf(o), o);
          else if (e.type === 'DELETED') items.delete(keyOf(o));
          else return; // BOOKMARK: only the resourceVersion moves
          changed();
        });
      },
      // a frozen API server leaves the watch open and silent: give up a while after its timeout
      (timeout + 30) * 1000,
    );
    try {
      await stream.done;
    } finally {
      if (watchOpen) currentAt = Date.now();
      watchOpen = false;
    }
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  // Start-up waits for the first list (or its failure), not for the watch.
  let firstAttempt: () => void = () => undefined;
  const firstAttemptDone = new Promise<void>((resolve) => (firstAttempt = resolve));

  const run = async (): Promise<void> => {
    while (!stopped) {
      let phase = 'list';
      try {
        if (resourceVersion === undefined) await list();
        firstAttempt();
        if (stopped) break;
        phase = 'watch';
        await watch(); // ends at its timeoutSeconds: watch again at once
      } catch (err) {
        firstAttempt();
        if (stopped) break;
        const code = err instanceof ApiRequestError ? err.code : 0;
        const message = err instanceof Error ? err.message : String(err);
        if (code === 410) {
          // the resourceVersion is too old (compacted) or a list's continue token expired
          resourceVersion = undefined;
          continue;
        }
        lastError = `${phase}: ${message}`;
        if (refusal(code)) refused = lastError;
        opts.onError(`CertificateRotation list/watch on ${conn.server} failed (${lastError}); retrying in ${retry} ms`);
        await sleep(retry);
        retry = Math.min(retry * 2, MAX_RETRY_MS);
      }
    }
  };
  void run();
  await firstAttemptDone;

  const notReady = (): string | undefined => {
    if (!listed) return `CertificateRotation cache not synced yet${lastError ? `: ${lastError}` : ''}`;
    if (refused) return `the API server refuses the CertificateRotation ${refused}`;
    if (watchOpen) return undefined;
    const age = Date.now() - currentAt;
    if (age <= staleAfterMs) return undefined;
    return `no CertificateRotation watch for ${Math.round(age / 1000)} s (the cache is trusted ${Math.round(staleAfterMs / 1000)} s without one)${lastError ? `: ${lastError}` : ''}`;
  };

  return {
    source: conn.source,
    list: () => snapshot,
    synced: () => notReady() === undefined,
    notReady,
    async stop() {
      stopped = true;
      stream?.abort();
      wake?.();
      conn.agent.destroy();
    },
  };
}
