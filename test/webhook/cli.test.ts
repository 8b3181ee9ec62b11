// The command as a user runs it: the esbuild bundle in a child process, its flags, the line it
// prints, and a SIGTERM that arrives while a review is still being received.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedCertificate } from './fixtures.js';
import { genServingCert, post, REPO, review, tmp, type ServingCert } from './helpers.js';

let bundle: string;
let cert: ServingCert;
const children: ChildProcess[] = [];

beforeAll(() => {
  const out = tmp('mesh-cert-webhook-build-');
  execFileSync(process.execPath, [join(REPO, 'webhook/build.mjs'), '--outdir', out], { stdio: 'pipe' });
  bundle = join(out, 'main.js');
  cert = genServingCert();
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Running {
  child: ChildProcess;
  url: string;
  healthUrl: string;
  stdout: () => string;
  stderr: () => string;
}

async function serve(extra: string[] = []): Promise<Running> {
  const child = spawn(
    process.execPath,
    [
      bundle,
      '--port',
      '0',
      '--health-port',
      '0',
      '--tls-cert-file',
      cert.certFile,
      '--tls-private-key-file',
      cert.keyFile,
      '--log-level',
      'warn',
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KUBERNETES_SERVICE_HOST: '' },
    },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = stdout.split('\n').find((l) => l.includes('"msg":"mesh-cert-webhook serving'));
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  const m = /on (https:\/\/127\.0\.0\.1:\d+) .*health and metrics on (http:\/\/127\.0\.0\.1:\d+) /.exec(line);
  if (!m) throw new Error(`unexpected line: ${line}`);
  return { child, url: m[1]!, healthUrl: m[2]!, stdout: () => stdout, stderr: () => stderr };
}

describe('mesh-cert-webhook', () => {
  it('prints its usage with --help, from the installed bin', () => {
    const out = execFileSync(join(REPO, 'webhook/bin/mesh-cert-webhook'), ['--help']).toString();
    expect(out).toContain('--tls-cert-file');
    expect(out).toContain('--client-ca-file');
    expect(out).toContain('default 9443');
  });

  it.each([
    [['--tls-private-key-file', 'k'], 2, '--tls-cert-file is required'],
    [['--tls-cert-file', 'c'], 2, '--tls-private-key-file is required'],
    [
      ['--tls-cert-file', 'c', '--tls-private-key-file', 'k', '--port', 'https'],
      2,
      '--port: expected a port number 0-65535, got "https"',
    ],
    [
      ['--tls-cert-file', 'c', '--tls-private-key-file', 'k', '--health-port', '70000'],
      2,
      '--health-port: expected a port number',
    ],
    [['--tls-cert-file', 'c', '--tls-private-key-file', 'k', '--log-level', 'loud'], 2, '--log-level: expected one of'],
    [['--tls-cert-file', 'c', '--tls-private-key-file', 'k', '--bogus'], 2, "Unknown option '--bogus'"],
    [
      [
        '--tls-cert-file',
        'CERT',
        '--tls-private-key-file',
        'KEY',
        '--port',
        '0',
        '--health-port',
        '0',
        '--kubeconfig',
        '/nonexistent/kubeconfig',
      ],
      1,
      '--kubeconfig /nonexistent/kubeconfig: ENOENT',
    ],
    [
      [
        '--tls-cert-file',
        '/nonexistent/tls.crt',
        '--tls-private-key-file',
        '/nonexistent/tls.key',
        '--port',
        '0',
        '--health-port',
        '0',
      ],
      1,
      '--tls-cert-file /nonexistent/tls.crt: cannot read it (ENOENT)',
    ],
  ])('%j exits %i: %s', async (args, code, message) => {
    const r = await run(args.map((a) => (a === 'CERT' ? cert.certFile : a === 'KEY' ? cert.keyFile : a)));
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stdout).not.toContain('serving');
  });

  it('prints one line with both addresses, serves reviews, and stops cleanly on SIGTERM', async () => {
    const s = await serve();
    const serving = s
      .stdout()
      .split('\n')
      .filter((l) => l.includes('https://'));
    expect(serving).toHaveLength(1);
    // a JSON log line like every other, even at --log-level warn
    expect(JSON.parse(serving[0]!)).toMatchObject({
      level: 'info',
      msg: expect.stringContaining('serving admission on https://'),
    });
    const body = review('IssuedCertificate', 'CREATE', issuedCertificate('c', { org: 'acme' }));
    const r = await post(s.url, '/mutate', JSON.stringify(body), { ca: cert.caPem });
    expect(r.json.response).toMatchObject({ uid: body.request.uid, allowed: true, patchType: 'JSONPatch' });
    expect((await fetch(`${s.healthUrl}/readyz`)).status).toBe(200);
    s.child.kill('SIGTERM');
    const [code] = (await once(s.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('finishes a review that is in flight when SIGTERM arrives, and takes no new connections', async () => {
    const s = await serve();
    const u = new URL(s.url);
    const body = JSON.stringify(review('IssuedCertificate', 'CREATE', issuedCertificate()));
    const uid = JSON.parse(body).request.uid as string;
    const socket = tlsConnect({ host: u.hostname, port: Number(u.port), ca: cert.caPem });
    await once(socket, 'secureConnect');
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString()));
    const half = Math.floor(body.length / 2);
    socket.write(
      `POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill('SIGTERM');
    // the listener closes: new connections are refused while ours is still open
    await expect
      .poll(
        () =>
          new Promise<string>((resolve) => {
            const c = connect(Number(u.port), u.hostname);
            c.on('connect', () => {
              c.destroy();
              resolve('accepted');
            });
            c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
          }),
        { timeout: 5000, interval: 50 },
      )
      .toBe('ECONNREFUSED');
    expect(s.child.exitCode).toBeNull();
    socket.write(body.slice(half));
    await once(socket, 'end');
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(response.toLowerCase()).toContain('connection: close');
    const json = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as {
      response: { uid: string; allowed: boolean };
    };
    expect(json.response).toEqual({ uid, allowed: true });
    const [code] = s.child.exitCode !== null ? [s.child.exitCode] : ((await once(s.child, 'exit')) as [number | null]);
    expect(code).toBe(0);
    const lines = s.stdout().split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l) as { msg: string }).map((l) => l.msg)).toContain(
      'SIGTERM: finishing in-flight reviews',
    );
  });
});
