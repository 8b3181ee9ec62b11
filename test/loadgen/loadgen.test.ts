// The load generator of bench/webhook-flood.ts reports what happened: every connection counted
// once, as a latency or as an error by message; connections spread over the URLs in turn; a client
// certificate presented when given; bad flags refused naming the flag.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genClientCert, genServingCert, tmp } from '../webhook/helpers.js';
import { findLoadgen } from './ensure.js';

const run = promisify(execFile);
const loadgen = findLoadgen();
const serving = genServingCert();
const client = genClientCert(undefined, true);
const dir = tmp('mesh-cert-loadgen-');
const bodyFile = join(dir, 'body.json');
writeFileSync(bodyFile, '{"request":{"uid":"u"}}');

interface Seen {
  requests: number;
  withCert: number;
}

/** Answers allowed (every `denyEvery`th request denied, when set), and 500 on /fail. */
function serve(seen: Seen, denyEvery: number): Promise<{ server: Server; url: string }> {
  const server = createServer(
    {
      cert: readFileSync(serving.certFile),
      key: readFileSync(serving.keyFile),
      ca: readFileSync(client.caFile),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.requests++;
        if ((req.socket as TLSSocket).getPeerCertificate().subject) seen.withCert++;
        if (req.url === '/fail') {
          res.writeHead(500).end('boom');
          return;
        }
        const allowed = body === '{"request":{"uid":"u"}}' && !(denyEvery && seen.requests % denyEvery === 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"response":{"allowed":${allowed}}}`);
      });
    },
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

interface Report {
  latenciesMs: number[];
  errors: Record<string, number>;
  cpuMs: number;
  wallMs: number;
}

describe('test/loadgen', () => {
  const a: Seen = { requests: 0, withCert: 0 };
  const b: Seen = { requests: 0, withCert: 0 };
  let sa: { server: Server; url: string };
  let sb: { server: Server; url: string };
  beforeAll(async () => {
    sa = await serve(a, 0);
    sb = await serve(b, 3);
  });
  afterAll(() => {
    sa.server.close();
    sb.server.close();
  });

  it('spreads connections over the URLs in turn and counts each as a latency or an error', async () => {
    const { stdout } = await run(loadgen, [
      '-urls',
      `${sa.url}/validate,${sb.url}/validate`,
      '-n',
      '30',
      '-ca',
      serving.caFile,
      '-body',
      bodyFile,
      '-cert',
      client.certFile,
      '-key',
      client.keyFile,
    ]);
    const r = JSON.parse(stdout) as Report;
    expect(a.requests).toBe(15);
    expect(b.requests).toBe(15);
    expect(a.withCert + b.withCert).toBe(30);
    // the second server denied its 3rd, 6th, ... 15th request: 5 denials
    expect(r.latenciesMs).toHaveLength(25);
    expect(Object.values(r.errors).reduce((x, y) => x + y, 0)).toBe(5);
    expect(r.errors).toEqual({ 'HTTP 200, denied with code 0': 5 });
    expect(r.latenciesMs.every((ms) => ms > 0 && ms < r.wallMs + 1)).toBe(true);
    expect(r.cpuMs).toBeGreaterThan(0);
  });

  it('without -cert presents no client certificate; HTTP errors and refused connections are counted by message', async () => {
    const before = a.withCert;
    const { stdout } = await run(loadgen, [
      '-urls',
      `${sa.url}/fail,https://127.0.0.1:1/validate`,
      '-n',
      '4',
      '-concurrency',
      '2',
      '-ca',
      serving.caFile,
      '-body',
      bodyFile,
    ]);
    const r = JSON.parse(stdout) as Report;
    expect(a.withCert).toBe(before);
    expect(r.latenciesMs).toHaveLength(0);
    const entries = Object.entries(r.errors);
    // one kind each, whatever the ports: the counts stay bounded however many connections fail
    expect(entries).toHaveLength(2);
    expect(r.errors['HTTP 500']).toBe(2);
    expect(r.errors['dial: connection refused']).toBe(2);
  });

  it('counts connections the server resets by kind of failure, without addresses', async () => {
    const resets = createNetServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((r) => resets.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(resets.address() as AddressInfo).port}/validate`;
      const { stdout } = await run(loadgen, ['-urls', url, '-n', '20', '-ca', serving.caFile, '-body', bodyFile]);
      const r = JSON.parse(stdout) as Report;
      expect(r.latenciesMs).toHaveLength(0);
      // a reset shows as a failed read, write or handshake, depending on when it lands: a few kinds
      // at most, none naming an address or port, every connection in one of them
      expect(Object.values(r.errors).reduce((a, b) => a + b, 0)).toBe(20);
      expect(Object.keys(r.errors).length).toBeLessThanOrEqual(3);
      for (const kind of Object.keys(r.errors)) expect(kind).not.toMatch(/127\.0\.0\.1|:\d{2,5}\b/);
    } finally {
      resets.close();
    }
  });

  it('refuses bad flags naming the flag and what it expected', async () => {
    const refused = (args: string[]): Promise<{ code: number; stderr: string } | undefined> =>
      run(loadgen, args).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
    const base = ['-ca', serving.caFile, '-body', bodyFile];
    const cases: [string[], RegExp][] = [
      [['-urls', 'http://x', ...base], /-urls: expected https URLs separated by commas, got "http:\/\/x"/],
      [['-urls', sa.url, '-body', bodyFile], /-ca: required/],
      [['-urls', sa.url, ...base, '-key', client.keyFile], /-cert and -key: expected both/],
      [['-urls', sa.url, ...base, '-timeout', '0s'], /-timeout: expected a positive duration, got 0s/],
      [['-urls', sa.url, ...base, '-concurrency', '-1'], /-concurrency: expected 0 \(all at once\) or more, got -1/],
      [['-urls', sa.url, ...base, '-n', '0'], /-n: expected 1 to 1000000, got 0/],
    ];
    for (const [args, message] of cases) {
      const err = await refused(args);
      expect(err?.code).toBe(2);
      expect(err?.stderr).toMatch(message);
    }
  });
});
