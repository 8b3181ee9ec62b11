// /healthz, /livez, /readyz and /metrics on a plain-HTTP port of their own, as a Fastify plugin
// that owns that listener: it listens when the plugin loads and closes last, once the admission
// listener has closed. A bare node:http server rather than a second Fastify instance: four GET
// paths, and its own small limits, since only probes and Prometheus come here (see
// manifests/webhook/networkpolicy.yaml), one request at a time.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { sharedPlugin } from './fastify-plugin.js';

export interface HealthOptions {
  port: number;
  host: string;
  /** undefined when ready; else why not, for the 503's body. */
  notReady(): string | undefined;
  registry: Registry;
  /** Called once the health port listens, with its address. */
  listening(addr: AddressInfo): void;
}

export function healthHandler(
  opts: Pick<HealthOptions, 'notReady' | 'registry'>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') return send(200, 'ok\n');
    if (path === '/readyz') {
      const why = opts.notReady();
      return why === undefined ? send(200, 'ok\n') : send(503, `not ready: ${why}\n`);
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, text, opts.registry.contentType),
        (err: unknown) => send(500, `metrics failed: ${String(err)}\n`),
      );
      return;
    }
    send(404, 'not found: /healthz, /readyz, /metrics\n');
  };
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

export const healthPlugin = sharedPlugin<HealthOptions, HttpServer>('mesh-cert-health', async (app, opts) => {
  const health = createServer({ connectionsCheckingInterval: 1_000 }, healthHandler(opts));
  health.keepAliveTimeout = 5_000;
  health.headersTimeout = 5_000;
  health.requestTimeout = 10_000;
  health.maxConnections = 64;
  opts.listening(await listen(health, opts.port, opts.host));
  // onClose hooks run last-registered first: this one, registered before the others, closes
  // the port last, so /readyz keeps answering 503 for the whole drain.
  app.addHook('onClose', async () => {
    await new Promise<void>((resolve) => {
      health.close(() => resolve());
      health.closeAllConnections();
    });
  });
});
