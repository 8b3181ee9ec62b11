// One sandbox cluster: its API state, its HTTPS listener on 127.0.0.1, its token and faults.
// stop() keeps the state, so start() brings the same cluster back on the same port.
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ClusterApi } from './apiserver.js';
import { FaultInjector, type Fault, type FaultOptions } from './faults.js';
import { createHandler, type RequestRecord } from './server.js';
import type { ServingCert } from './tls.js';

export interface SandboxCluster {
  name: string;
  url: string;
  caPem: string;
  token: string;
  /** Faults from now on (replacing earlier ones); which requests fail is drawn from a seeded generator (opts.seed, default 1). */
  setFaults(f: Fault[], opts?: FaultOptions): void;
  clearFaults(): void;
  /**
   * Routes a Service to a port on 127.0.0.1, so webhooks configured with clientConfig.service
   * (as in manifests/webhook) are reached there, verified as `<name>.<namespace>.svc`.
   * `servicePort` limits the route to one port of the Service (default: every port).
   */
  routeService(namespace: string, name: string, localPort: number, servicePort?: number): void;
  /**
   * Plays the ReplicaSet controller: a deleted Pod is replaced by a new one with the same labels,
   * Running and Ready after `readyAfterMs` (default 200). `false` turns it off (the default).
   */
  replaceDeletedPods(opts: PodReplacementOptions | false): void;
  stop(): Promise<void>;
  /** restart on the same port */
  start(): Promise<void>;
}

export interface ClusterOptions {
  bookmarkIntervalMs?: number;
  port?: number;
}

export interface PodReplacementOptions {
  readyAfterMs?: number;
}

export class Cluster implements SandboxCluster {
  readonly api: ClusterApi;
  readonly token = randomBytes(24).toString('base64url');
  readonly faults = new FaultInjector();
  /** the last requests served, newest last: what clients really sent */
  readonly requests: RequestRecord[] = [];
  private server?: Server;
  private port: number;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<() => void>();

  constructor(
    readonly name: string,
    private readonly tls: ServingCert,
    private readonly opts: ClusterOptions = {},
  ) {
    this.api = new ClusterApi(name, tls.caPem);
    this.port = opts.port ?? 0;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }
  get caPem(): string {
    return this.tls.caPem;
  }
  get running(): boolean {
    return !!this.server;
  }

  setFaults(f: Fault[], opts?: FaultOptions): void {
    this.faults.set(f, opts);
  }
  clearFaults(): void {
    this.faults.clear();
  }
  replaceDeletedPods(opts: PodReplacementOptions | false): void {
    this.api.pods.config = opts ? { readyAfterMs: opts.readyAfterMs ?? 200 } : undefined;
  }
  routeService(namespace: string, name: string, localPort: number, servicePort?: number): void {
    this.api.services.set(servicePort ? `${namespace}/${name}:${servicePort}` : `${namespace}/${name}`, localPort);
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer(
      { cert: this.tls.certPem, key: this.tls.keyPem },
      createHandler({
        api: this.api,
        token: this.token,
        faults: this.faults,
        address: () => `127.0.0.1:${this.port}`,
        watches: this.watches,
        bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 5000,
        requests: this.requests,
      }),
    );
    server.keepAliveTimeout = 30_000;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    // controllers paused by stop() catch up
    this.api.controllers.schedule();
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.api.shutdown();
    for (const end of [...this.watches]) end();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
