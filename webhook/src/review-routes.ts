// POST /mutate and /validate as a Fastify plugin: the body parser (under the in-flight budgets),
// the two routes, the metrics and log line of each review, and the answers to what is not a
// review (400 for a body that cannot be read, 404 for other paths). Never a 5xx: the apiserver
// would turn it into a failed write for the user.
import type { FastifyError } from 'fastify';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import {
  handledJson,
  handleOverload,
  handleReviewBody,
  SCAN_LIMITS,
  type Endpoint,
  type Handled,
} from './admission/handle.js';
import { MAX_BODY_BYTES } from './admission/limits.js';
import { scanReview } from './admission/scan.js';
import type { ValidateContext } from './admission/validate.js';
import { BodyError, readBody, type BodyOutcome, type InFlight } from './body.js';
import { isCheckProbe } from './check-probe.js';
import { sharedPlugin } from './fastify-plugin.js';
import { noPem } from './logger.js';
import type { ReviewMetrics } from './metrics.js';
import { reviewUsername } from './review-user.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export interface ReviewRoutesOptions {
  inflight: InFlight;
  reviews: ReviewMetrics;
  ctx: ValidateContext;
  /** Shutting down: each answer asks its client (the apiserver) to reconnect to another replica. */
  draining(): boolean;
  /** Connections wait for a slot: each review's answer gives its connection back. */
  underPressure(): boolean;
}

/** Log the shape of a problem, never the values it quotes: they come from the request body. */
function scrub(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').slice(0, 300);
}

/**
 * A denial's message for its log line: what the user was told, less PEM blocks and long quoted
 * values (base64 of a certificate or a key would be one), cut to a line's length.
 */
function denialReason(message: string): string {
  return noPem(message)
    .replace(/"(?:[^"\\]|\\.){120,}"/g, '"…"')
    .slice(0, 1000);
}

function fastifyErrorMessage(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'MESH_BODY_TOO_LARGE':
      return `request body is larger than the ${MAX_BODY_BYTES} byte (3 MiB) limit`;
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

const statusJson = (code: number, reason: string, message: string): string =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

export const reviewRoutes = sharedPlugin<ReviewRoutesOptions, HttpServer>(
  'mesh-cert-review-routes',
  async (app, opts) => {
    const { inflight, reviews, ctx } = opts;
    const log = app.log;

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
    const readRaw = (
      request: { raw: IncomingMessage },
      _payload: unknown,
      done: (err: Error | null, body?: BodyOutcome) => void,
    ): void => {
      readBody(request.raw, inflight, uidFound).then(
        (b) => {
          (request as WithBody)[BODY] = b;
          if (b.kind === 'too-large')
            done(
              Object.assign(
                new BodyError(
                  `request body is larger than the ${MAX_BODY_BYTES} byte (3 MiB) limit`,
                  'MESH_BODY_TOO_LARGE',
                ),
                { statusCode: 400 },
              ),
            );
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

    // Building the per-review log fields costs more than the rest of a quiet review's logging.
    const debugLogs = log.level === 'debug' || log.level === 'trace';
    for (const endpoint of ['mutate', 'validate'] as Endpoint[]) {
      app.post(`/${endpoint}`, async (request, reply) => {
        const body = request.body as BodyOutcome | undefined;
        let h: Handled;
        let user: string | undefined;
        if (body?.kind === 'overload') {
          h = handleOverload(endpoint, body.prefix, body.why);
          // the rest of that body is not read: the connection cannot carry another request
          reply.header('connection', 'close');
        } else {
          try {
            const buf = body?.kind === 'body' ? body.buf : '';
            h = handleReviewBody(endpoint, buf, ctx);
            // read while the bytes are still ours (release() hands them back)
            if (h.body.kind === 'AdmissionReview' && !h.body.response.allowed && typeof buf !== 'string')
              user = reviewUsername(buf);
          } finally {
            release(request);
          }
        }
        const ms = reply.elapsedTime;
        const probe = isCheckProbe(h);
        reviews.record(endpoint, h.kind, h.operation, probe ? 'probe' : h.result, ms / 1000);
        const denied = h.body.kind === 'AdmissionReview' && !h.body.response.allowed && h.result !== 'overloaded';
        const quiet = !h.problem && h.httpStatus === 200 && !denied;
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
          if (h.problem) log.error({ ...fields, user, problem: scrub(h.problem) }, 'review needed a fallback');
          else if (h.result === 'overloaded')
            log.warn({ ...fields, reason: scrub(h.reason ?? '') }, 'turned a review away: too many in flight');
          else if (h.httpStatus !== 200)
            log.info(
              { ...fields, reason: scrub((h.body as { message: string }).message) },
              'rejected a body that is not an AdmissionReview',
            );
          else if (denied) {
            const reason = denialReason(
              h.body.kind === 'AdmissionReview' ? (h.body.response.status?.message ?? '') : '',
            );
            // check's probe is denied on purpose, every run: not worth a line at info
            if (probe)
              log.debug({ ...fields, user, reason, probe }, 'denied a kubectl mesh-cert check probe (dry run)');
            else {
              const what =
                h.result === 'malformed'
                  ? 'a malformed review'
                  : `${h.operation} ${h.kind} ${h.namespace ? `${h.namespace}/` : ''}${h.name ?? ''}`;
              log.info({ ...fields, user, reason }, `denied ${what} by ${user ?? 'an unknown user'}`);
            }
          } else log.debug(fields, 'review answered');
        }
        // While draining, tell keep-alive clients (the apiserver) to reconnect to another replica;
        // while connections wait for a slot, give this one back.
        if (opts.draining() || opts.underPressure()) reply.header('connection', 'close');
        // With the charset named, Fastify sends the header as is instead of rebuilding it per reply.
        const json = handledJson(h);
        return reply.code(h.httpStatus).type(JSON_TYPE).send(json);
      });
    }

    app.setErrorHandler((err: FastifyError, request, reply) => {
      const message = fastifyErrorMessage(err);
      const endpoint = request.url === '/mutate' || request.url === '/validate' ? request.url.slice(1) : 'other';
      reviews.record(endpoint, 'unknown', 'unknown', 'malformed', reply.elapsedTime / 1000);
      log.info({ endpoint, code: err.code }, message);
      // A body not read to its end (too large, broken off) leaves the connection unusable: close it.
      if (
        opts.draining() ||
        err.code === 'MESH_BODY_TOO_LARGE' ||
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ||
        err.code?.startsWith('BODY_')
      )
        reply.header('connection', 'close');
      return reply
        .code(400)
        .type(JSON_TYPE)
        .send(statusJson(400, 'BadRequest', message));
    });
    app.setNotFoundHandler((request, reply) => {
      return reply
        .code(404)
        .type(JSON_TYPE)
        .send(
          statusJson(
            404,
            'NotFound',
            `${request.method} ${request.url.slice(0, 100)}: not found; POST /mutate or /validate`,
          ),
        );
    });
  },
);
