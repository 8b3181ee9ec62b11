// WATCH: newline-delimited JSON events over a chunked response, as kube-apiserver streams them.
// Starts from a resourceVersion (replaying the event ring; ERROR 410 Expired when it is gone) or
// with synthetic ADDED events for the current state, sends BOOKMARKs when asked, ends after
// timeoutSeconds.
import type { ServerResponse } from 'node:http';
import type { Store, KObject, StoreEvent } from './store.js';

export interface WatchOptions {
  store: Store;
  key: string;
  namespace?: string;
  name?: string;
  match: (o: KObject) => boolean;
  resourceVersion: string | null;
  bookmarks: boolean;
  /** watch-list (sendInitialEvents=true): current state, then a BOOKMARK marking its end */
  sendInitialEvents?: boolean;
  bookmarkIntervalMs: number;
  timeoutMs: number;
  /** turns a stored object into what this client reads (versioned object or Table) */
  encode: (o: KObject) => unknown;
  bookmarkObject: (rv: string) => unknown;
}

export function serveWatch(res: ServerResponse, o: WatchOptions, registry: Set<() => void>): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  // headers go out at once, as kube-apiserver sends them: clients (client-node's Watch, informers)
  // wait for them before they count the watch as established
  res.flushHeaders();
  const write = (type: string, object: unknown): void => {
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const inScope = (ob: KObject): boolean =>
    (o.namespace === undefined || ob.metadata.namespace === o.namespace) &&
    (o.name === undefined || ob.metadata.name === o.name);

  const deliver = (e: StoreEvent): void => {
    if (e.key !== o.key || !inScope(e.object)) return;
    const now = o.match(e.object);
    if (e.type === 'MODIFIED' && e.prev) {
      const before = o.match(e.prev);
      // an object leaving (entering) the selection is DELETED (ADDED) for this watcher
      // kube-apiserver's watch cache sends the last state that matched
      if (before && !now) {
        write('DELETED', o.encode(e.prev));
        return;
      }
      if (!before && now) {
        write('ADDED', o.encode(e.object));
        return;
      }
    }
    if (now) write(e.type, o.encode(e.object));
  };

  const rv = o.resourceVersion;
  if (!rv || rv === '0' || o.sendInitialEvents) {
    for (const ob of o.store.list(o.key, o.namespace)) if (inScope(ob) && o.match(ob)) write('ADDED', o.encode(ob));
    if (o.sendInitialEvents) {
      const bm = o.bookmarkObject(String(o.store.resourceVersion)) as { metadata: Record<string, unknown> };
      bm.metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
      write('BOOKMARK', bm);
    }
  } else {
    const n = Number(rv);
    const past = Number.isFinite(n) ? o.store.eventsSince(n, o.key) : undefined;
    if (!past) {
      write('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${rv} (${o.store.oldestWatchable - 1})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      return;
    }
    for (const e of past) deliver(e);
  }
  const unsubscribe = o.store.subscribe(deliver);
  const bookmark = o.bookmarks
    ? setInterval(() => write('BOOKMARK', o.bookmarkObject(String(o.store.resourceVersion))), o.bookmarkIntervalMs)
    : undefined;
  const finish = (): void => {
    unsubscribe();
    clearInterval(bookmark);
    clearTimeout(timer);
    registry.delete(finish);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(finish, o.timeoutMs);
  registry.add(finish);
  res.on('close', finish);
}
