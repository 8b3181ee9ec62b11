// The webhook process: admission over HTTPS (Fastify), health and metrics over plain HTTP on a
// second port, TLS reloaded from disk, graceful shutdown. Decisions live in ./admission/.
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { deprecationPatch, KINDS, validateObject } from '../../schemas/src/index.js';
import { handledJson, handleOverload, handleReviewBody, SCAN_LIMITS, type Endpoint, type Handled } from './admission/handle.js';
import { MAX_BODY_BYTES } from './admission/limits.js';
import { scanReview } from './admission/scan.js';
import { BodyError, InFlight, readBody, type BodyOutcome } from './body.js';
import { ConnectionGate } from './connections.js';
import { registerLoadMetrics, tlsErrorReason } from './load-metrics.js';
import { loggerOptions } from './logger.js';
import { createMetrics } from './metrics.js';
import { clusterConfigured, startRotationInformer, type RotationCache } from './rotation-cache.js';
import { loadTlsMaterial, TlsWatcher, type TlsMaterial } from './tls.js';

const JSON_TYPE = 'application/json; charset=utf-8';

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
  /** Reviews being received at once, and the bytes their bodies may hold together. */
  maxInFlight: 256,
  maxInFlightBytes: 16 * 1024 * 1024,
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
  tlsCertFile: string;
  tlsKeyFile: string;
  /** When set, clients must present a certificate signed by this CA. */
  clientCaFile?: string;
  /** For the CertificateRotation cache; absent: in-cluster when in a pod, else the rule is off. */
  kubeconfig?: string;
  logLevel?: string;
  /** Where JSON logs go (default stdout). */
  logStream?: NodeJS.WritableStream;
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
  close(): Promise<void>;
}

function listen(server: HttpServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlOf(scheme: string, addr: AddressInfo): string {
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${scheme}://${host}:${addr.port}`;
}

/** Compiles every validator up front so the first review is not the slow one. */
function warmUp(): void {
  for (const k of KINDS) {
    const obj = { apiVersion: `${k.group}/${k.version}`, kind: k.kind, metadata: { name: 'warm-up', namespace: 'default' }, spec: {} };
    validateObject(obj);
    // an invalid one too: it is what compiles the validator that lists every error
    validateObject({ ...obj, unknownField: true });
    deprecationPatch(obj);
  }
}

/** Log the shape of a problem, never the values it quotes: they come from the request body. */
function scrub(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').slice(0, 300);
}

function fastifyErrorMessage(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'MESH_BODY_TOO_LARGE':
      return `request body is larger than the ${BODY_LIMIT} byte (3 MiB) limit`;
    case 'BODY_ABORTED':
    case 'BODY_READ_ERROR':
      return err.message;
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'request body length does not match its Content-Length header';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return `unsupported Content-Type: expected application/json (${err.message})`;
    default:
      return `cannot read the request: ${err.message.slice(0, 300)}`;
  }
}

export async function buildWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const host = opts.host ?? '127.0.0.1';
  const metrics = createMetrics();
  let tls: TlsMaterial = loadTlsMaterial({ certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile, clientCaFile: opts.clientCaFile });
  metrics.certNotAfter.set(tls.notAfter.getTime() / 1000);
  warmUp();
  let shuttingDown = false;

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
        { max: limits.maxConnections, maxHandshakes: limits.maxHandshakes, queueMax: limits.connectionQueue, queueTimeoutMs: limits.connectionQueueTimeoutMs, firstBytesTimeoutMs: limits.firstBytesTimeoutMs },
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
    log.warn('no cluster configured (--kubeconfig, or a pod service account): the one-active-CertificateRotation-per-VirtualMesh rule is not enforced');
  }
  const ctx = { rotations };

  // Our own parser for every content type: the body arrives as text and the admission code
  // decides what is wrong with it, so each bad input gets a specific 400 instead of 415/500.
  // application/json is named as well as '*': Fastify caches a named type's parser, but parses
  // the Content-Type header anew on every request that falls through to the catch-all.
  // The body is read by readBody (body.ts), under the in-flight budgets; it arrives as bytes,
  // scanned before anything is parsed (admission/scan.ts).
  app.removeAllContentTypeParsers();
  const uidFound = (prefix: Buffer): boolean => {
    const r = scanReview(prefix, SCAN_LIMITS);
    return r.uid !== undefined || r.uidProblem !== undefined;
  };
  const BODY = Symbol('body');
  type WithBody = { [BODY]?: BodyOutcome };
  const release = (request: unknown): void => {
    const b = (request as WithBody)[BODY];
    if (b?.kind === 'body') b.release();
  };
  const readRaw = (request: { raw: IncomingMessage }, _payload: unknown, done: (err: Error | null, body?: BodyOutcome) => void): void => {
    readBody(request.raw, inflight, uidFound).then(
      (b) => {
        (request as WithBody)[BODY] = b;
        if (b.kind === 'too-large') done(Object.assign(new BodyError(`request body is larger than the ${BODY_LIMIT} byte (3 MiB) limit`, 'MESH_BODY_TOO_LARGE'), { statusCode: 400 }));
        else done(null, b);
      },
      (err: Error) => done(Object.assign(err, { statusCode: 400 })),
    );
  };
  app.addContentTypeParser('application/json', readRaw);
  app.addContentTypeParser('*', readRaw);
  // Bytes held for a body go back to the budget once answered, however the request ended.
  app.addHook('onResponse', (request, _reply, done) => {
    release(request);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    release(request);
    done();
  });

  const record = (endpoint: string, h: Pick<Handled, 'kind' | 'operation' | 'result'>, seconds: number): void => {
    metrics.reviews.record(endpoint, h.kind, h.operation, h.result, seconds);
  };

  // Building the per-review log fields costs more than the rest of a quiet review's logging.
  const debugLogs = log.level === 'debug' || log.level === 'trace';
  for (const endpoint of ['mutate', 'validate'] as Endpoint[]) {
    app.post(`/${endpoint}`, async (request, reply) => {
      const body = request.body as BodyOutcome | undefined;
      let h: Handled;
      if (body?.kind === 'overload') {
        h = handleOverload(endpoint, body.prefix, body.why);
        // the rest of that body is not read: the connection cannot carry another request
        reply.header('connection', 'close');
      } else {
        try {
          h = handleReviewBody(endpoint, body?.kind === 'body' ? body.buf : '', ctx);
        } finally {
          release(request);
        }
      }
      const ms = reply.elapsedTime;
      record(endpoint, h, ms / 1000);
      const quiet = !h.problem && h.httpStatus === 200;
      if (!quiet || debugLogs) {
        const fields = {
          endpoint,
          uid: h.uid,
          kind: h.kind,
          operation: h.operation,
          namespace: h.namespace,
          name: h.name,
          subResource: h.subResource,
          dryRun: h.dryRun,
          result: h.result,
          code: h.code,
          ms: Number(ms.toFixed(3)),
        };
        if (h.problem) log.error({ ...fields, problem: scrub(h.problem) }, 'review needed a fallback');
        else if (h.result === 'overloaded') log.warn({ ...fields, reason: scrub(h.reason ?? '') }, 'turned a review away: too many in flight');
        else if (h.httpStatus !== 200) log.info({ ...fields, reason: scrub((h.body as { message: string }).message) }, 'rejected a body that is not an AdmissionReview');
        else log.debug(fields, 'review answered');
      }
      // While draining, tell keep-alive clients (the apiserver) to reconnect to another replica;
      // while connections wait for a slot, give this one back.
      if (shuttingDown || gate?.pressure) reply.header('connection', 'close');
      // With the charset named, Fastify sends the header as is instead of rebuilding it per reply.
      const json = handledJson(h);
      return reply.code(h.httpStatus).type(JSON_TYPE).send(json);
    });
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const message = fastifyErrorMessage(err);
    const endpoint = request.url === '/mutate' || request.url === '/validate' ? request.url.slice(1) : 'other';
    record(endpoint, { kind: 'unknown', operation: 'unknown', result: 'malformed' }, reply.elapsedTime / 1000);
    log.info({ endpoint, code: err.code }, message);
    // Never a 5xx: the apiserver would turn it into a failed write for the user. A body not read
    // to its end (too large, broken off) leaves the connection unusable: close it.
    if (shuttingDown || err.code === 'MESH_BODY_TOO_LARGE' || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code?.startsWith('BODY_')) reply.header('connection', 'close');
    return reply.code(400).type(JSON_TYPE).send(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message }));
  });
  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(404)
      .type(JSON_TYPE)
      .send(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: `${request.method} ${request.url.slice(0, 100)}: not found; POST /mutate or /validate` }));
  });

  await app.listen({ port: opts.port, host, backlog: limits.listenBacklog });
  const url = urlOf('https', app.server.address() as AddressInfo);

  const watcher = new TlsWatcher(
    { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile, clientCaFile: opts.clientCaFile },
    tls,
    {
      onReload: (next) => {
        app.server.setSecureContext(next.options);
        tls = next;
        metrics.tlsReloads.inc({ result: 'ok' });
        metrics.certNotAfter.set(next.notAfter.getTime() / 1000);
        log.info({ subject: next.subject, notAfter: next.notAfter.toISOString() }, 'reloaded the serving certificate');
      },
      onError: (err) => {
        metrics.tlsReloads.inc({ result: 'error' });
        log.warn({ err }, 'the TLS files changed but do not load; still serving the previous certificate');
      },
    },
    opts.tlsPollMs,
  );
  watcher.start();

  const ready = (): boolean => !shuttingDown && (rotations ? rotations.synced() : true);
  const health = createServer({ connectionsCheckingInterval: 1_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') return send(200, 'ok\n');
    if (path === '/readyz') {
      if (ready()) return send(200, 'ok\n');
      const why = shuttingDown ? 'shutting down' : (rotations?.notReady() ?? 'not ready');
      return send(503, `not ready: ${why}\n`);
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(200, text, metrics.registry.contentType),
        (err: unknown) => send(500, `metrics failed: ${String(err)}\n`),
      );
      return;
    }
    send(404, 'not found: /healthz, /readyz, /metrics\n');
  });
  health.keepAliveTimeout = 5_000;
  // Only probes and Prometheus come here (see manifests/webhook/networkpolicy.yaml), one request
  // at a time: a small cap and short timeouts.
  health.headersTimeout = 5_000;
  health.requestTimeout = 10_000;
  health.maxConnections = 64;
  let healthAddr: AddressInfo;
  try {
    healthAddr = await listen(health, opts.healthPort, host);
  } catch (err) {
    watcher.stop();
    await app.close();
    await rotations?.stop();
    throw err;
  }
  const healthUrl = urlOf('http', healthAddr);
  log.info({ url, healthUrl, limits, clientCertificates: !!opts.clientCaFile, rotationCache: rotations?.source ?? 'disabled', certificate: tls.subject }, 'serving admission reviews');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      if (opts.shutdownDelayMs) await new Promise((r) => setTimeout(r, opts.shutdownDelayMs));
      gate?.close();
      watcher.stop();
      await app.close(); // stops accepting, lets in-flight reviews finish
      await rotations?.stop();
      await new Promise<void>((resolve) => {
        health.close(() => resolve());
        health.closeAllConnections();
      });
    })();
    return closing;
  };
  return { url, healthUrl, ready, close };
}
