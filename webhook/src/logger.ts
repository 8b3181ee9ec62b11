// Fastify's pino, configured so that no log line can carry an object body or TLS material:
// requests are serialized to method/url/remote only, and anything named like a key or a
// certificate is censored wherever it appears. Every line is JSON with an ISO-8601 `time` and the
// level's name (`"level":"info"`), the form log pipelines (Loki, Elasticsearch, Cloud Logging)
// read without a mapping; pino's defaults are epoch milliseconds and numbers (30 for info).
import type { FastifyServerOptions } from 'fastify';

const SECRET_KEYS = ['key', 'cert', 'ca', 'pfx', 'passphrase', 'privateKeyPem', 'object', 'oldObject', 'body', 'patch'];

/** Removes PEM blocks (a certificate or a key never belongs in a log line, even inside a message). */
export const noPem = (s: string): string => s.replace(/-----BEGIN[\s\S]*?(-----END[^-]*-----|$)/g, '[pem redacted]');

/** pino's `time` field, as ISO-8601 UTC. */
const isoTime = (): string => `,"time":"${new Date().toISOString()}"`;

export function loggerOptions(
  level: string,
  stream?: NodeJS.WritableStream,
): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    ...(stream ? { stream } : {}),
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: {
      paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
        method: req.method,
        url: req.url,
        remoteAddress: req.ip ?? req.socket?.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: (err: Error & { code?: string }) => ({
        type: err.name,
        code: err.code,
        message: noPem(String(err.message)).slice(0, 500),
        stack: noPem(String(err.stack ?? '')).slice(0, 2000),
      }),
    },
  };
}
