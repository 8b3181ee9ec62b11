// ConnectionGate (webhook/src/connections.ts) on a bare TCP server: the queue deadline runs from
// the connection's acceptance, as the apiserver's timeoutSeconds does from its connect. The
// clock is moved by hand (only Date is faked: sockets and timers stay real), so nothing here
// waits for a deadline to pass.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionGate, type DropReason } from '../../webhook/src/connections.js';

describe('ConnectionGate', () => {
  let server: Server;
  let gate: ConnectionGate;
  const served: Socket[] = [];
  const drops: DropReason[] = [];
  const clients: Socket[] = [];

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    served.length = 0;
    drops.length = 0;
    server = createServer();
    // stands for TLS's own listener: a bare server never ends a handshake, so a served connection holds its slot until it closes
    server.on('connection', (s: Socket) => {
      served.push(s);
      s.resume();
    });
    gate = new ConnectionGate(server as unknown as TlsServer, { max: 1, maxHandshakes: 1, queueMax: 10, queueTimeoutMs: 30_000, firstBytesTimeoutMs: 120_000 }, { onDrop: (r) => drops.push(r) });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    vi.useRealTimers();
    gate.close();
    for (const c of clients) c.destroy();
    for (const s of served) s.destroy();
    await new Promise((r) => server.close(r));
  });

  const client = async (): Promise<Socket> => {
    const c = connect((server.address() as AddressInfo).port, '127.0.0.1');
    c.on('error', () => undefined);
    clients.push(c);
    await new Promise((r) => c.once('connect', r));
    return c;
  };

  it('serves a connection that spoke in time once a slot frees, and closes at once one that speaks after its deadline', async () => {
    const a = await client();
    a.write('hello');
    await expect.poll(() => served.length).toBe(1);

    const late = await client();
    const onTime = await client();
    await expect.poll(() => gate.stats().silent).toBe(2);
    onTime.write('hello');
    await expect.poll(() => gate.stats().waiting).toBe(1);

    // the late one's 30 s run out before it says anything
    vi.setSystemTime(Date.now() + 31_000);
    let lateClosed = false;
    late.once('close', () => (lateClosed = true));
    late.write('hello');
    // well before the 30 s a deadline counted from the first bytes would give it
    await expect.poll(() => lateClosed, { timeout: 5_000 }).toBe(true);
    expect(drops).toEqual(['queue_timeout']);
    expect(gate.stats()).toMatchObject({ active: 1, waiting: 1, silent: 0 });

    // the one that spoke in time keeps its place (its deadline is a real timer, set when it spoke)
    a.destroy();
    await expect.poll(() => served.length).toBe(2);
    expect(gate.stats()).toMatchObject({ active: 1, waiting: 0 });
    expect(drops).toEqual(['queue_timeout']);
  });
});
