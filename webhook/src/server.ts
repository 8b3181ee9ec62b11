// The webhook server, assembled: the HTTPS listener (our own node:https server under Fastify, for
// its limits and timeouts), TLS reloaded from disk, the CertificateRotation cache, and three
// plugins: health and metrics on a second port (health.ts), graceful shutdown (shutdown.ts), and
// the review endpoints (review-routes.ts). Decisions live in ./admission/.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { deprecationPatch, KINDS, validateObject } from '#schemas/src/index.js';
import { MAX_BODY_BYTES } from './admission/limits.js';
import { InFlight } from './body.js';
import { CERTIFICATE_EXPIRY, startExpiryExporter, type ExpiryExporter } from './certificate-expiry.js';
import { ConnectionGate } from './connections.js';
import { healthPlugin } from './health.js';
import { registerLoadMetrics, tlsErrorReason } from './load-metrics.js';
import { loggerOptions } from './logger.js';
import { createMetrics } from './metrics.js';
import { reviewRoutes } from './review-routes.js';
import { clusterConfigured, startRotationInformer, type RotationCache } from './rotation-cache.js';
import { shutdownPlugin, type DrainState } from './shutdown.js';
import { TlsError, TlsWatcher, type TlsMaterial, type TlsSource } from './tls.js';

/** The apiserver's own limit for a request body; an UPDATE carries object and oldObject. */
export const BODY_LIMIT = MAX_BODY_BYTES;

/**
 * The limits and timeouts, with their defaults. Each bounds what one client (or many) can make
 * the webhook hold; see webhook/README.md ("Limits") for why each value.
 */
export const DEFAULT_LIMITS = {
  /** TLS connections served at once; more wait (connectionQueue) instead of being refused. */
  maxConnections: 512,
  /** Of those, in their TLS handshake at once (see connections.ts). */
  maxHandshakes: 64,
  /** Connections that may wait for a slot, and for how long. */
  connectionQueue: 8_192,
  connectionQueueTimeoutMs: 4_000,
  /**
   * Reviews being received at once, and the bytes their bodies may hold together: what JSON
   * parsing makes of 8 MiB of bodies keeps the attack suite's peak near 1.7x the resting size
   * (16 MiB took it to 1.9x); ordinary reviews (5-12 KB) never come near it.
   */
  maxInFlight: 256,
  maxInFlightBytes: 8 * 1024 * 1024,
  /**
   * A new connection's first bytes (else it is closed without ever holding a slot), the TLS
   * handshake, request headers, the whole request (headers and body).
   */
  firstBytesTimeoutMs: 3_000,
  handshakeTimeoutMs: 3_000,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  /**
   * A keep-alive connection idle this long is closed. Above the 90 s after which the apiserver's
   * HTTP client closes idle connections itself, so it is the client that closes: a server that
   * closes first races the client's next request on that connection, which then fails.
   */
  idleTimeoutMs: 100_000,
  /**
   * The listen backlog: connections the kernel completes and holds until we accept them. A burst
   * past it has its SYNs dropped, and each client retries a second later (then 3 s, 7 s): latency
   * tails past the apiserver's timeout. The kernel caps it at net.core.somaxconn (4096 by default
   * since Linux 5.4, 128 before).
   */
  listenBacklog: 4096,
} as const;

export type WebhookLimits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

export interface WebhookServerOptions {
  port: number;
  healthPort: number;
  /** Both listeners bind here; default 127.0.0.1 (a pod passes 0.0.0.0). */
  host?: string;
  /** The serving certificate's files, reloaded when they change; not with tlsSource. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Where the serving certificate comes from instead of files (--tls-mode self: a Secret). */
  tlsSource?: TlsSource;
  /** When set, clients must present a certificate signed by this CA. */
  clientCaFile?: string;
  /** For the CertificateRotation cache; absent: in-cluster when in a pod, else the rule is off. */
  kubeconfig?: string;
  logLevel?: string;
  /** Where JSON logs go (default stdout). */
  logStream?: NodeJS.WritableStream;
  /**
   * Export the expiry of the mesh's intermediates and roots from the cluster's CertificateRequests
   * (certificate-expiry.ts); default: whenever a cluster is configured.
   */
  certificateExpiry?: boolean;
  /** Replaces the cluster-backed cache (tests); `null` disables the active-rotation rule. */
  rotationCache?: RotationCache | null;
  /** How often the TLS files are re-read besides the directory watch. */
  tlsPollMs?: number;
  /** Keep serving (while /readyz fails) this long after close() starts, so endpoints drain. */
  shutdownDelayMs?: number;
  /** Limits and timeouts (DEFAULT_LIMITS for those not given). */
  limits?: Partial<WebhookLimits>;
}

export interface WebhookServer {
  url: string;
  healthUrl: string;
  ready(): boolean;
  /** Drains and stops; `signal`, when a signal asked for it, is logged. */
  close(signal?: string): Promise<void>;
}

function urlOf(scheme: string, addr: AddressInfo): string {
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${scheme}://${host}:${addr.port}`;
}

/** Compiles every validator up front so the first review is not the slow one. */
function warmUp(): void {
  for (const k of KINDS) {
    const obj = {
      apiVersion: `${k.group}/${k.version}`,
      kind: k.kind,
      metadata: { name: 'warm-up', namespace: 'default' },
      spec: {},
    };
    validateObject(obj);
    // an invalid one too: it is what compiles the validator that lists every error
    validateObject({ ...obj, unknownField: true });
    deprecationPatch(obj);
  }
}

function filesSource(opts: WebhookServerOptions): TlsSource {
  if (!opts.tlsCertFile || !opts.tlsKeyFile)
    throw new TlsError('tlsCertFile and tlsKeyFile: expected both files of the serving certificate (or a tlsSource)');
  return new TlsWatcher(
    { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile, clientCaFile: opts.clientCaFile },
    opts.tlsPollMs,
  );
}

export async function buildWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const host = opts.host ?? '127.0.0.1';
  const metrics = createMetrics();
  const watcher = opts.tlsSource ?? filesSource(opts);
  let tls: TlsMaterial = watcher.current();
  metrics.certNotAfter.set(tls.notAfter.getTime() / 1000);
  warmUp();
  const drain: DrainState = { draining: false };

  const limits: WebhookLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const inflight = new InFlight(limits.maxInFlight, limits.maxInFlightBytes);
  let gate: ConnectionGate | undefined;
  const load = registerLoadMetrics(metrics.registry, () => gate, inflight);
  const app: FastifyInstance<HttpsServer> = Fastify({
    // Our own server: Fastify's `https` option cannot set the timeouts, pauseOnConnect or the gate.
    serverFactory: (handler) => {
      const server = createHttpsServer(
        {
          ...tls.options,
          requestCert: !!opts.clientCaFile,
          rejectUnauthorized: !!opts.clientCaFile,
          handshakeTimeout: limits.handshakeTimeoutMs,
          // a connection waiting for a slot is not read from (ConnectionGate)
          pauseOnConnect: true,
          noDelay: true,
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.idleTimeoutMs,
          // how often the header and request timeouts are checked: Node's default (30 s) let a
          // slow body hold its connection about 90 s, whatever requestTimeout said
          connectionsCheckingInterval: 500,
        },
        handler,
      );
      server.headersTimeout = limits.headersTimeoutMs;
      server.requestTimeout = limits.requestTimeoutMs;
      server.keepAliveTimeout = limits.idleTimeoutMs;
      gate = new ConnectionGate(
        server,
        {
          max: limits.maxConnections,
          maxHandshakes: limits.maxHandshakes,
          queueMax: limits.connectionQueue,
          queueTimeoutMs: limits.connectionQueueTimeoutMs,
          firstBytesTimeoutMs: limits.firstBytesTimeoutMs,
        },
        { onDrop: (reason) => load.dropped.inc({ reason }) },
      );
      // A client certificate that does not verify ends the connection without an error of its
      // own (Node destroys the socket): the socket's authorizationError says why.
      server.on('tlsClientError', (err: Error & { code?: string }, socket?: { authorizationError?: unknown }) =>
        load.tlsClientErrors.inc({ reason: socket?.authorizationError ? 'bad_certificate' : tlsErrorReason(err) }),
      );
      return server as unknown as HttpServer;
    },
    logger: loggerOptions(opts.logLevel ?? 'info', opts.logStream),
    bodyLimit: BODY_LIMIT,
    // One line per review comes from the handler, with the review's fields instead.
    logController: new LogController({ disableRequestLogging: true }),
    // A review arriving while we drain is still answered: a 503 would fail the user's write.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance<HttpsServer>;
  const log = app.log;
  // Our handler writes the one line per review (with its uid) on the server's logger; a child
  // logger per request would be built and never used.
  app.setChildLoggerFactory((logger) => logger);

  let rotations: RotationCache | undefined;
  if (opts.rotationCache !== undefined) rotations = opts.rotationCache ?? undefined;
  else if (clusterConfigured(opts.kubeconfig)) {
    try {
      rotations = await startRotationInformer({
        kubeconfig: opts.kubeconfig,
        onError: (message) => log.warn({ event: 'rotation-cache-error' }, message),
        onChange: (n) => metrics.rotationsCached.set(n),
      });
    } catch (err) {
      await app.close();
      throw err;
    }
  } else {
    log.warn(
      'no cluster configured (--kubeconfig, or a pod service account): the one-active-CertificateRotation-per-VirtualMesh rule is not enforced',
    );
  }

  let expiry: ExpiryExporter | undefined;
  if (opts.certificateExpiry !== false && clusterConfigured(opts.kubeconfig)) {
    const warn = (message: string): void => log.warn({ event: 'certificate-expiry-error' }, message);
    expiry = await startExpiryExporter({ kubeconfig: opts.kubeconfig, registry: metrics.registry, warn }).catch(
      (err: unknown) => {
        warn(
          `${CERTIFICATE_EXPIRY} is not exported: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
        );
        return undefined;
      },
    );
  }

  const notReady = (): string | undefined => {
    if (drain.draining) return 'shutting down';
    if (!app.server.listening) return 'not listening yet';
    if (rotations && !rotations.synced()) return rotations.notReady() ?? 'CertificateRotation cache not synced yet';
    return undefined;
  };
  let healthUrl = '';
  let clusterWatchesStopped: Promise<void> | undefined;
  const stopClusterWatches = (): Promise<void> =>
    (clusterWatchesStopped ??= Promise.all([rotations?.stop(), expiry?.stop()]).then(() => undefined));
  try {
    // Registered first: its onClose hook runs last (see health.ts).
    await app.register(healthPlugin, {
      port: opts.healthPort,
      host,
      notReady,
      registry: metrics.registry,
      listening: (addr) => (healthUrl = urlOf('http', addr)),
    });
    await app.register(shutdownPlugin, {
      state: drain,
      delayMs: opts.shutdownDelayMs,
      forceCloseAfterMs: limits.requestTimeoutMs,
      drained: () => {
        gate?.close();
        watcher.stop();
      },
      closed: stopClusterWatches,
    });
    await app.register(reviewRoutes, {
      inflight,
      reviews: metrics.reviews,
      ctx: { rotations },
      draining: () => drain.draining,
      underPressure: () => gate?.pressure === true,
    });
    await app.listen({ port: opts.port, host, backlog: limits.listenBacklog });
  } catch (err) {
    await app.close().catch(() => undefined);
    await stopClusterWatches();
    throw err;
  }
  const url = urlOf('https', app.server.address() as AddressInfo);
  watcher.start({
    onReload: (next) => {
      app.server.setSecureContext(next.options);
      tls = next;
      metrics.tlsReloads.inc({ result: 'ok' });
      metrics.certNotAfter.set(next.notAfter.getTime() / 1000);
      log.info({ subject: next.subject, notAfter: next.notAfter.toISOString() }, 'reloaded the serving certificate');
    },
    onError: (err) => {
      metrics.tlsReloads.inc({ result: 'error' });
      log.warn({ err }, 'the serving certificate changed but does not load; still serving the previous one');
    },
  });
  // Printed whatever --log-level says (a child logger at info, unless silent): scripts and tests
  // wait for this line to learn both addresses, as operators read it to know where it listens.
  const announce = log.level === 'silent' ? log : log.child({}, { level: 'info' });
  announce.info(
    {
      url,
      healthUrl,
      limits,
      clientCertificates: !!opts.clientCaFile,
      rotationCache: rotations?.source ?? 'disabled',
      certificateExpiry: !!expiry,
      certificate: tls.subject,
    },
    `mesh-cert-webhook serving admission on ${url} (POST /mutate, /validate); health and metrics on ${healthUrl} (GET /healthz, /readyz, /metrics)`,
  );

  let closing: Promise<void> | undefined;
  const close = (signal?: string): Promise<void> => {
    // draining from this moment, not from when Fastify runs the shutdown plugin's hook
    drain.draining = true;
    if (!closing && signal) announce.info({ signal }, `${signal}: finishing in-flight reviews`);
    closing ??= app.close().catch((err: unknown) => {
      log.error({ err }, 'shutdown failed');
      throw err;
    });
    return closing;
  };
  return { url, healthUrl, ready: () => notReady() === undefined, close };
}
