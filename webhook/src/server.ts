// The webhook process: admission over HTTPS (Fastify), health and metrics over plain HTTP on a
// second port, TLS reloaded from disk, graceful shutdown. Decisions live in ./admission/.
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { deprecationPatch, KINDS, validateObject } from '../../schemas/src/index.js';
import { handledJson, handleReviewBody, type Endpoint, type Handled } from './admission/handle.js';
import { loggerOptions } from './logger.js';
import { createMetrics } from './metrics.js';
import { clusterConfigured, startRotationInformer, type RotationCache } from './rotationCache.js';
import { loadTlsMaterial, TlsWatcher, type TlsMaterial } from './tls.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/** The apiserver's own limit for a request body; an UPDATE carries object and oldObject. */
export const BODY_LIMIT = 3 * 1024 * 1024;

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
      return `request body is larger than the ${BODY_LIMIT} byte (3 MiB) limit`;
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

  const app: FastifyInstance<HttpsServer> = Fastify({
    https: {
      ...tls.options,
      requestCert: !!opts.clientCaFile,
      rejectUnauthorized: !!opts.clientCaFile,
    },
    logger: loggerOptions(opts.logLevel ?? 'info', opts.logStream),
    bodyLimit: BODY_LIMIT,
    // One line per review comes from the handler, with the review's fields instead.
    logController: new LogController({ disableRequestLogging: true }),
    // A review arriving while we drain is still answered: a 503 would fail the user's write.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // A client that never finishes its body must not hold a connection (and shutdown) forever.
    requestTimeout: 30_000,
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
  app.removeAllContentTypeParsers();
  const asText = { parseAs: 'string', bodyLimit: BODY_LIMIT } as const;
  const keepText = (_req: unknown, body: string | Buffer, done: (err: null, body: string | Buffer) => void): void => done(null, body);
  app.addContentTypeParser('application/json', asText, keepText);
  app.addContentTypeParser('*', asText, keepText);

  const record = (endpoint: string, h: Pick<Handled, 'kind' | 'operation' | 'result'>, seconds: number): void => {
    metrics.reviews.record(endpoint, h.kind, h.operation, h.result, seconds);
  };

  // Building the per-review log fields costs more than the rest of a quiet review's logging.
  const debugLogs = log.level === 'debug' || log.level === 'trace';
  for (const endpoint of ['mutate', 'validate'] as Endpoint[]) {
    app.post(`/${endpoint}`, async (request, reply) => {
      const text = typeof request.body === 'string' ? request.body : '';
      const h = handleReviewBody(endpoint, text, ctx);
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
        else if (h.httpStatus === 400) log.info({ ...fields, reason: scrub((h.body as { message: string }).message) }, 'rejected a body that is not an AdmissionReview');
        else log.debug(fields, 'review answered');
      }
      // while draining, tell keep-alive clients (the apiserver) to reconnect to another replica
      if (shuttingDown) reply.header('connection', 'close');
      // With the charset named, Fastify sends the header as is instead of rebuilding it per reply.
      return reply.code(h.httpStatus).type(JSON_TYPE).send(handledJson(h));
    });
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const message = fastifyErrorMessage(err);
    const endpoint = request.url === '/mutate' || request.url === '/validate' ? request.url.slice(1) : 'other';
    record(endpoint, { kind: 'unknown', operation: 'unknown', result: 'malformed' }, reply.elapsedTime / 1000);
    log.info({ endpoint, code: err.code }, message);
    // Never a 5xx: the apiserver would turn it into a failed write for the user.
    if (shuttingDown) reply.header('connection', 'close');
    return reply.code(400).type(JSON_TYPE).send(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message }));
  });
  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(404)
      .type(JSON_TYPE)
      .send(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: `${request.method} ${request.url.slice(0, 100)}: not found; POST /mutate or /validate` }));
  });

  await app.listen({ port: opts.port, host });
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
  const health = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') return send(200, 'ok\n');
    if (path === '/readyz') {
      if (ready()) return send(200, 'ok\n');
      const why = shuttingDown ? 'shutting down' : 'CertificateRotation cache not synced yet';
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
  log.info({ url, healthUrl, clientCertificates: !!opts.clientCaFile, rotationCache: rotations?.source ?? 'disabled', certificate: tls.subject }, 'serving admission reviews');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      if (opts.shutdownDelayMs) await new Promise((r) => setTimeout(r, opts.shutdownDelayMs));
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
