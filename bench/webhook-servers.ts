// The servers the webhook benchmarks run and the measures they read: the built webhook as its pod
// runs it, an empty Node HTTPS server with the same TLS settings (the baseline), a process's CPU
// and memory from /proc, and the kernel's listen-queue counters.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request, type Agent } from 'node:https';
import { fileURLToPath } from 'node:url';
import { kubeFixture, webhookHelpersFixture } from './fixtures.js';

const SELF = fileURLToPath(import.meta.url);
const WEBHOOK_BIN = fileURLToPath(new URL('../webhook/bin/mesh-cert-webhook', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** The serving certificate and a client certificate, as files (for processes) and PEM. */
export interface Tls {
  caPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCaFile: string;
  clientCertPem: string;
  clientKeyPem: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** An ECDSA serving certificate from gen-certs.sh (as the Deployment's) and a client certificate. */
export async function benchTls(): Promise<Tls> {
  const { genServingCert, genClientCert } = await webhookHelpersFixture();
  const serving = genServingCert();
  const client = genClientCert(undefined, true);
  return {
    caPem: serving.caPem,
    caFile: serving.caFile,
    certFile: serving.certFile,
    keyFile: serving.keyFile,
    clientCaFile: client.caFile,
    clientCertPem: client.certPem,
    clientKeyPem: client.keyPem,
    clientCertFile: client.certFile,
    clientKeyFile: client.keyFile,
  };
}

export interface InformerCluster {
  kubeconfigPath: string;
  stop(): Promise<void>;
}

/**
 * A real kube-apiserver for the webhook's informers (CertificateRotation cache, expiry exporter),
 * as in a pod; undefined (logged) when test/kube's binaries are not built.
 */
export async function informerCluster(log: (s: string) => void): Promise<InformerCluster | undefined> {
  try {
    const { findBinaries, startKube } = await kubeFixture();
    findBinaries();
    return await startKube({ clusters: ['mgmt'], waitForControllers: false, timeoutMs: 120_000 });
  } catch (err) {
    log(`no kube-apiserver (${(err as Error).message.split('\n')[0]}): measuring without the webhook's informers`);
    return undefined;
  }
}

/** user + system CPU of a process so far, in ms (/proc, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  // after the command name, which may itself hold ") "
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15)
}

export function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The kernel's listen-queue counters (this network namespace): overflows drop SYNs or final ACKs. */
export function listenCounters(): Record<
  'ListenOverflows' | 'ListenDrops' | 'TCPReqQFullDoCookies' | 'TCPReqQFullDrop',
  number
> {
  const lines = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const get = (n: string): number => Number(values[names.indexOf(n)] ?? NaN);
  return {
    ListenOverflows: get('ListenOverflows'),
    ListenDrops: get('ListenDrops'),
    TCPReqQFullDoCookies: get('TCPReqQFullDoCookies'),
    TCPReqQFullDrop: get('TCPReqQFullDrop'),
  };
}

export function sysctl(name: string): string {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return 'unreadable';
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

/**
 * The baseline: an empty Node HTTPS server with the webhook's TLS settings (and client
 * certificates when a client CA is given: `-` for none).
 */
async function serveEmpty(certFile: string, keyFile: string, clientCaFile: string, backlog: number): Promise<void> {
  const { TLS_PROTOCOL_OPTIONS } = await import('../webhook/src/tls.js');
  const s = createServer(
    {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      ...(clientCaFile === '-' ? {} : { ca: readFileSync(clientCaFile), requestCert: true, rejectUnauthorized: true }),
      ...TLS_PROTOCOL_OPTIONS,
    },
    (req, res) => {
      req.resume();
      req.on('end', () => res.end('{}'));
    },
  );
  s.listen({ port: 0, host: '127.0.0.1', backlog }, () =>
    process.stdout.write(`READY https://127.0.0.1:${(s.address() as { port: number }).port}\n`),
  );
  process.once('SIGTERM', () => process.exit(0));
}

export interface ServerOptions {
  /** The process env on top of ours: the Deployment's (NODE_OPTIONS), for the baseline too. */
  env: Record<string, string>;
  /** A cluster for the webhook's informers, as in a pod. */
  kubeconfig?: string;
  backlog: number;
  /** Require client certificates (--client-ca-file; manifests/components/client-auth). */
  clientAuth: boolean;
}

export interface Server {
  url: string;
  healthUrl?: string;
  child: ChildProcess;
  pid: number;
}

/** The built webhook as its pod runs it, or the empty server; resolves once it serves. */
export function startServer(mode: 'webhook' | 'empty', tls: Tls, o: ServerOptions): Promise<Server> {
  const { env, kubeconfig, backlog } = o;
  const args =
    mode === 'webhook'
      ? [
          WEBHOOK_BIN,
          '--port',
          '0',
          '--health-port',
          '0',
          '--tls-cert-file',
          tls.certFile,
          '--tls-private-key-file',
          tls.keyFile,
          ...(o.clientAuth ? ['--client-ca-file', tls.clientCaFile] : []),
          '--log-level',
          'error',
          '--listen-backlog',
          String(backlog),
          ...(kubeconfig ? ['--kubeconfig', kubeconfig] : []),
        ]
      : [
          '--import',
          'tsx',
          SELF,
          '--serve-empty',
          tls.certFile,
          tls.keyFile,
          o.clientAuth ? tls.clientCaFile : '-',
          String(backlog),
        ];
  const e: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_SERVICE_HOST: '', ...env };
  delete e.KUBECONFIG;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: e });
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${mode} server ${why}: ${out.slice(0, 300)}`));
    };
    // a server that neither serves nor exits must not hang the benchmark
    const timer = setTimeout(() => fail(`did not serve within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /(?:READY|serving admission on) (https:\/\/\S+)/.exec(out);
      if (!m || settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({ url: m[1]!, healthUrl: /health and metrics on (http:\/\/\S+)/.exec(out)?.[1], child, pid: child.pid! });
    };
    child.stdout!.on('data', onData);
    child.once('error', (err) => fail(`did not start (${err.message})`));
    child.once('exit', (code) => fail(`exited ${code} before serving`));
  });
}

/** SIGTERM, then SIGKILL if it has not exited within a grace period; resolves once it has. */
export async function stopServer(s: Server, graceMs = 15_000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function postOnce(
  url: string,
  path: string,
  body: string,
  agent: Agent,
  timeoutMs = 30_000,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

if (process.argv[1] === SELF && process.argv[2] === '--serve-empty') {
  const [certFile, keyFile, clientCaFile, backlog] = process.argv.slice(3);
  await serveEmpty(certFile!, keyFile!, clientCaFile!, Number(backlog));
}
