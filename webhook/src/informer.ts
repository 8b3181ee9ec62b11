// One kind's objects in every namespace, listed and watched as client-go's reflector does: list
// in pages, then watch from the list's resourceVersion with bookmarks; on 410 Gone list again; on
// any other failure back off and watch again from the last resourceVersion seen. The
// CertificateRotation cache (rotation-cache.ts) and the expiry exporter (certificate-expiry.ts)
// are each one of these; requests go through kube-api.ts.
//
// Its objects are trusted (current) only while listed and a watch is open or was lost less than
// `staleAfterMs` ago. A list or watch the API server refuses (a 4xx other than 410 and 429: RBAC
// that allows list but not watch, say) makes them untrusted at once: the list would go stale
// without a word.
import type { IncomingMessage } from 'node:http';
import {
  ApiRequestError,
  describeStatus,
  get,
  request,
  statusMessage,
  type ClusterConnection,
  type Stream,
} from './kube-api.js';

export interface InformerFailure {
  /** HTTP status, the code of a watch ERROR event, or 0 when no answer came. */
  code: number;
  /** `list: ...` or `watch: ...`, with the API server's message. */
  reason: string;
  /** When the next attempt comes. */
  retryInMs: number;
}

export interface InformerOptions {
  conn: ClusterConnection;
  /** The collection in every namespace: /apis/<group>/<version>/<plural>. */
  path: string;
  /** The kind, for readiness reasons. */
  kind: string;
  onError(failure: InformerFailure): void;
  /** After a list, and after each watch event that changes the objects. */
  onChange?(count: number): void;
  /** First retry delay after a failed list or watch; doubles up to 30 s. */
  retryMs?: number;
  /** Retry delay after a 403 instead of backing off: a missing RBAC rule is granted in minutes, if ever. */
  forbiddenRetryMs?: number;
  /** How long the objects stay trusted without a watch (an API server restarting, a network blip). */
  staleAfterMs?: number;
  /** The watch's timeoutSeconds; default 5 to 10 minutes, drawn per watch as client-go does. */
  watchTimeoutSeconds?: number;
}

export interface Informer {
  /** The objects as last seen: the same array until something changes. */
  list(): readonly unknown[];
  /** Why the objects are not to be trusted now, or undefined when they are current. */
  notReady(): string | undefined;
  /** Whether a first list has succeeded (after it, only a lost watch makes them untrusted). */
  listed(): boolean;
  /** Resolves once the first list has succeeded or failed. */
  readonly firstAttempt: Promise<void>;
  stop(): void;
}

const MAX_RETRY_MS = 30_000;
const DEFAULT_STALE_AFTER_MS = 30_000;
/** A list page: client-go's reflector asks for 500 at a time. */
const PAGE = 500;
const LIST_TIMEOUT_MS = 30_000;
/** One watch event line; an object is at most 3 MiB (the API server's own limit), in JSON. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

type Meta = { name?: string; namespace?: string; resourceVersion?: string };
type WatchEvent = { type?: string; object?: { metadata?: Meta; code?: number } & Record<string, unknown> };
type ListPage = { metadata?: { continue?: string; resourceVersion?: string }; items?: unknown[] };

const keyOf = (o: unknown): string => {
  const m = (o as { metadata?: Meta } | null)?.metadata;
  return `${m?.namespace ?? ''}/${m?.name ?? ''}`;
};

/** A 4xx other than 410 Gone and 429: the API server refuses, and retrying will not change that. */
const refusal = (code: number): boolean => code >= 400 && code < 500 && code !== 410 && code !== 429;

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
          fail(
            err instanceof ApiRequestError
              ? err
              : new ApiRequestError(0, `a watch event is not JSON: ${(err as Error).message}`),
          );
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

/** Starts listing and watching; never throws after start: failures go to `onError`, and it retries. */
export function startInformer(opts: InformerOptions): Informer {
  const { conn, path, kind } = opts;
  const baseRetry = opts.retryMs ?? 1000;
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;

  let items = new Map<string, unknown>();
  let snapshot: readonly unknown[] = [];
  let resourceVersion: string | undefined;
  let listed = false;
  let watchOpen = false;
  /** When the objects were last known current: a list's end, or a watch's. */
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
      const page = await request<ListPage>(
        conn,
        'GET',
        `${path}?limit=${PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
        { timeoutMs: LIST_TIMEOUT_MS },
      );
      if (page.status < 200 || page.status >= 300)
        throw new ApiRequestError(page.status, describeStatus(page.status, page.body));
      for (const o of page.body?.items ?? []) next.set(keyOf(o), o);
      cont = page.body?.metadata?.continue || undefined;
      rv = page.body?.metadata?.resourceVersion;
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

  let firstAttemptDone: () => void = () => undefined;
  const firstAttempt = new Promise<void>((resolve) => (firstAttemptDone = resolve));

  const run = async (): Promise<void> => {
    while (!stopped) {
      let phase = 'list';
      try {
        if (resourceVersion === undefined) await list();
        firstAttemptDone();
        if (stopped) break;
        phase = 'watch';
        await watch(); // ends at its timeoutSeconds: watch again at once
      } catch (err) {
        firstAttemptDone();
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
        const forbidden = code === 403 && opts.forbiddenRetryMs !== undefined;
        const delay = forbidden ? opts.forbiddenRetryMs! : retry;
        opts.onError({ code, reason: lastError, retryInMs: delay });
        await sleep(delay);
        if (!forbidden) retry = Math.min(retry * 2, MAX_RETRY_MS);
      }
    }
  };
  void run();

  return {
    list: () => snapshot,
    listed: () => listed,
    notReady() {
      if (!listed) return `${kind} cache not synced yet${lastError ? `: ${lastError}` : ''}`;
      if (refused) return `the API server refuses the ${kind} ${refused}`;
      if (watchOpen) return undefined;
      const age = Date.now() - currentAt;
      if (age <= staleAfterMs) return undefined;
      return `no ${kind} watch for ${Math.round(age / 1000)} s (the cache is trusted ${Math.round(staleAfterMs / 1000)} s without one)${lastError ? `: ${lastError}` : ''}`;
    },
    firstAttempt,
    stop() {
      stopped = true;
      stream?.abort();
      wake?.();
    },
  };
}
