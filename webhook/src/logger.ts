// Fastify's pino, configured so that no log line can carry an object body or TLS material:
// requests are serialized to method/url/remote only, and anything named like a key or a
// certificate is censored wherever it appears.
import type { FastifyServerOptions } from 'fastify';

const SECRET_KEYS = ['key', 'cert', 'ca', 'pfx', 'passphrase', 'privateKeyPem', 'object', 'oldObject', 'body', 'patch'];

const noPem = (s: string): string => s.replace(/-----BEGIN[\s\S]*?(-----END[^-]*-----|$)/g, '[pem redacted]');

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    ...(stream ? { stream } : {}),
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
        // a PEM block never belongs in a log line, even inside an error message
        message: noPem(String(err.message)).slice(0, 500),
        stack: noPem(String(err.stack ?? '')).slice(0, 2000),
      }),
    },
  };
}
