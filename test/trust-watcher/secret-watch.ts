// Keeps one Secret of one cluster in view with Kubernetes' list+watch protocol, over plain
// node:http(s): list (for the resourceVersion), watch from it, resume from the last resourceVersion
// seen when the connection drops, and list again on 410 Gone (the history was compacted).
// client-node's KubeConfig supplies the server, CA and credentials (token, client certificate or
// exec plugin), so the same code works on the sandbox and on a real kube-apiserver.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface SecretObject {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

export interface SecretChange {
  /** what the API server said, or RELISTED when a list after a 410 found a different Secret */
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'RELISTED';
  secret: SecretObject | undefined;
  resourceVersion: string;
}

/** Ends the stream on the server's side well before a half-open connection would go unnoticed. */
const WATCH_SECONDS = 60;
const IDLE_MS = (WATCH_SECONDS + 30) * 1000;

class Gone extends Error {}

export class SecretWatch {
  current: SecretObject | undefined;
  /** watch requests made, including attempts that failed */
  watches = 0;
  relists = 0;
  /** lists made to catch up after a dropped connection (the watch could not be followed meanwhile) */
  resyncs = 0;
  lastError: string | undefined;
  private rv = '';
  private readonly inFlight = new Set<http.ClientRequest>();
  private stopped = false;
  private readonly responses = new Set<http.IncomingMessage>();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private established: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly onChange: (c: SecretChange) => void,
    /** The copy is current (true) or unknown, the connection lost (false). */
    private readonly onLive: (live: boolean) => void = () => undefined,
  ) {}

  /**
   * Lists, then resolves once the watch is established (the server sent its headers), so that a
   * test's next write is seen; a failing first list or watch rejects (a wrong context should
   * fail the test at once, not be retried for ever).
   */
  async start(): Promise<void> {
    await this.list(true);
    await new Promise<void>((resolve, reject) => {
      this.established = { resolve, reject };
      this.loop = this.run();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // The request and its streaming response both: destroying only the request leaves a watch
    // response open until the server's timeoutSeconds.
    for (const r of this.inFlight) r.destroy();
    for (const r of this.responses) r.destroy();
    this.wake?.();
    await this.loop;
  }

  /** The Secret as a fresh list shows it (for catching up, see TrustWatcher.waitForQuiet). */
  async read(): Promise<SecretObject | undefined> {
    return (await this.listRequest()).items[0];
  }

  private get path(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/secrets`;
  }
  private get selector(): string {
    return `metadata.name=${this.name}`;
  }

  private async get(query: Record<string, string>): Promise<http.IncomingMessage> {
    const server = new URL(this.kc.getCurrentCluster()!.server);
    const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts); // per request: exec-plugin tokens expire
    if (server.protocol === 'http:') delete opts.agent;
    const url = new URL(`${server.pathname.replace(/\/$/, '')}${this.path}?${new URLSearchParams(query)}`, server);
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new Error('stopped'));
        return;
      }
      const req = (url.protocol === 'http:' ? http : https).request(url, opts, (res) => {
        this.responses.add(res);
        res.on('close', () => this.responses.delete(res));
        resolve(res);
      });
      req.setTimeout(IDLE_MS, () => req.destroy(new Error(`no data for ${IDLE_MS} ms`)));
      req.on('error', reject);
      req.end();
      this.inFlight.add(req);
      req.on('close', () => this.inFlight.delete(req));
    });
  }

  private async listRequest(): Promise<{ items: SecretObject[]; rv: string }> {
    const res = await this.get({ fieldSelector: this.selector });
    const text = await readAll(res);
    if (res.statusCode !== 200) throw new Error(`list ${this.path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { metadata: { resourceVersion: string }; items: SecretObject[] };
    return { items: body.items, rv: body.metadata.resourceVersion };
  }

  private async list(initial: boolean): Promise<void> {
    const { items, rv } = await this.listRequest();
    const before = this.current?.metadata.resourceVersion;
    this.current = items[0];
    this.rv = rv;
    // after a 410 the events in between are lost: report the net change as one, if any
    if (initial) {
      if (this.current) this.onChange({ type: 'ADDED', secret: this.current, resourceVersion: rv });
    } else if (before !== this.current?.metadata.resourceVersion)
      this.onChange({ type: 'RELISTED', secret: this.current, resourceVersion: rv });
  }

  private async run(): Promise<void> {
    let backoff = 100;
    // After a dropped connection the copy is unknown until a fresh list says what the Secret is
    // now: resuming the watch would replay old versions next to other clusters' current ones, and
    // pair states that never existed together.
    let dropped = false;
    while (!this.stopped) {
      try {
        if (dropped) {
          this.resyncs++;
          await this.list(false);
          dropped = false;
          this.onLive(true);
        }
        await this.watchOnce();
        backoff = 100; // the stream ended normally (timeoutSeconds, or the server closed it): resume
      } catch (caught) {
        let e = caught;
        if (this.stopped) break;
        if (this.established && !(e instanceof Gone)) {
          this.established.reject(e as Error);
          this.established = undefined;
          this.stopped = true;
          break;
        }
        if (e instanceof Gone) {
          try {
            this.relists++;
            await this.list(false);
            continue;
          } catch (le) {
            e = le;
          }
        }
        if (!dropped) {
          dropped = true;
          this.onLive(false);
        }
        this.lastError = (e as Error).message;
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        backoff = Math.min(backoff * 2, 5000);
      }
    }
    this.established?.reject(new Error('stopped before the watch was established'));
  }

  private async watchOnce(): Promise<void> {
    this.watches++;
    const res = await this.get({
      watch: '1',
      fieldSelector: this.selector,
      resourceVersion: this.rv,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(WATCH_SECONDS),
    });
    if (res.statusCode === 410) {
      res.resume();
      throw new Gone('410');
    }
    if (res.statusCode !== 200)
      throw new Error(`watch ${this.path}: HTTP ${res.statusCode}: ${(await readAll(res)).slice(0, 300)}`);
    this.established?.resolve();
    this.established = undefined;
    res.setEncoding('utf8');
    let buf = '';
    let failure: Error | undefined;
    for await (const chunk of res as AsyncIterable<string>) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line)
          failure = this.handle(
            JSON.parse(line) as { type: string; object: SecretObject & { code?: number; message?: string } },
          );
        if (failure) {
          res.destroy();
          throw failure;
        }
      }
    }
    if (this.stopped) return;
    // an aborted response ends the loop quietly in some Node versions: treat it as a drop
    if (!res.complete) throw new Error('watch connection dropped');
  }

  private handle(e: { type: string; object: SecretObject & { code?: number; message?: string } }): Error | undefined {
    const rv = e.object?.metadata?.resourceVersion;
    switch (e.type) {
      case 'BOOKMARK':
        if (rv) this.rv = rv;
        return undefined;
      case 'ERROR':
        return e.object.code === 410
          ? new Gone(e.object.message ?? '410')
          : new Error(`watch ERROR: ${e.object.message ?? JSON.stringify(e.object)}`);
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        if (e.object.metadata.name !== this.name) return undefined;
        if (rv) this.rv = rv;
        this.current = e.type === 'DELETED' ? undefined : e.object;
        this.onChange({ type: e.type, secret: this.current, resourceVersion: rv ?? '' });
        return undefined;
      default:
        return undefined;
    }
  }
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  let s = '';
  res.setEncoding('utf8');
  for await (const c of res as AsyncIterable<string>) s += c;
  return s;
}
