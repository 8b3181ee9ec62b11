// A minimal HTTPS client for the launcher's own calls (readiness, CRDs): client-certificate
// auth against the cluster CA, JSON in and out. Tests use kubectl or client-node instead.
import { request } from 'node:https';

export interface Creds {
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}
export interface Reply {
  status: number;
  text: string;
  json<T = unknown>(): T;
}

export function kubeRequest(
  c: Creds,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<Reply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, c.url),
      {
        method,
        ca: c.caPem,
        cert: c.certPem,
        key: c.keyPem,
        timeout: timeoutMs,
        agent: false,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, json: <T>() => JSON.parse(text) as T });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
