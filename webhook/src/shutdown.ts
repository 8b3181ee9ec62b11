// Graceful shutdown as a Fastify plugin. close() marks the server draining at once (/readyz
// fails, every answer asks its client to reconnect elsewhere), keeps serving for the delay so that
// endpoints controllers take this pod out of the Service, then stops taking connections, lets
// in-flight reviews finish, and releases the rest.
import type { Server as HttpServer } from 'node:http';
import { sharedPlugin } from './fastify-plugin.js';

export interface DrainState {
  draining: boolean;
}

export interface ShutdownOptions {
  state: DrainState;
  /** Keep serving this long after close() starts (0: none). */
  delayMs?: number;
  /** After the delay, before the listener closes: stop feeding it (the connection gate, the TLS watcher). */
  drained(): void;
  /** Connections still open this long after the drain are closed, busy or not (default 10 s, the request timeout). */
  forceCloseAfterMs?: number;
  /** After the listener has closed and every review in flight is answered. */
  closed(): Promise<void>;
}

export const shutdownPlugin = sharedPlugin<ShutdownOptions, HttpServer>('mesh-cert-shutdown', async (app, opts) => {
  app.addHook('preClose', async () => {
    opts.state.draining = true;
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    opts.drained();
    // Node closes the connections that are idle when the listener closes, and only those: one
    // busy then (or still in its TLS handshake) that turns idle later would hold the close, and
    // the process, until its keep-alive timeout (100 s). Close such connections as they turn
    // idle, and whatever is left once the longest a review may take has passed.
    const server = app.server;
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const last = setTimeout(() => server.closeAllConnections(), opts.forceCloseAfterMs ?? 10_000);
    sweep.unref();
    last.unref();
    server.once('close', () => {
      clearInterval(sweep);
      clearTimeout(last);
    });
  });
  app.addHook('onClose', () => opts.closed());
});
