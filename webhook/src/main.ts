// mesh-cert-webhook: the command line around buildWebhookServer.
import { parseArgs } from 'node:util';
import { buildWebhookServer } from './server.js';
import { ClusterConfigError } from './rotation-cache.js';
import { TlsError } from './tls.js';
import { VERSION } from './version.js';

const USAGE = `Usage: mesh-cert-webhook --tls-cert-file FILE --tls-private-key-file FILE [options]

Admission webhook (mutating and validating) for the Gloo Mesh certificate API.

Options:
  --port N                   HTTPS port for POST /mutate and /validate (default 9443)
  --health-port N            plain-HTTP port for /healthz, /readyz, /metrics (default 8080)
  --bind-address ADDR        address both ports listen on (default 127.0.0.1; 0.0.0.0 in a pod)
  --tls-cert-file FILE       serving certificate (PEM, chain allowed); reloaded when it changes
  --tls-private-key-file FILE  its private key (PEM); reloaded when it changes
  --client-ca-file FILE      require client certificates signed by this CA (PEM)
  --kubeconfig FILE          cluster to list/watch CertificateRotations from
                             (default: the pod's service account when in a cluster)
  --log-level LEVEL          fatal, error, warn, info, debug, trace, silent (default info)
  --shutdown-delay SECONDS   on SIGTERM, keep serving this long with /readyz failing (default 0)
  --max-connections N        HTTPS connections served at once; more wait their turn (default 512)
  --max-in-flight N          reviews received at once; more are answered "429, retry" at once
                             (default 256; their bodies may hold 16 MiB together)
  --listen-backlog N         connections the kernel holds until accepted (default 4096; capped
                             by the node's net.core.somaxconn, which should be at least this)
  -h, --help                 show this help
  --version                  print the version and exit
`;

class UsageError extends Error {}

function port(flag: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new UsageError(`${flag}: expected a port number 0-65535, got ${JSON.stringify(value)}`);
  return Number(value);
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        'health-port': { type: 'string' },
        'bind-address': { type: 'string' },
        'tls-cert-file': { type: 'string' },
        'tls-private-key-file': { type: 'string' },
        'client-ca-file': { type: 'string' },
        kubeconfig: { type: 'string' },
        'log-level': { type: 'string' },
        'shutdown-delay': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-in-flight': { type: 'string' },
        'listen-backlog': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (err) {
    process.stderr.write(`mesh-cert-webhook: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.version) {
    process.stdout.write(`mesh-cert-webhook ${VERSION}\n`);
    return 0;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let server;
  try {
    if (!values['tls-cert-file']) throw new UsageError('--tls-cert-file is required: the PEM serving certificate');
    if (!values['tls-private-key-file']) throw new UsageError('--tls-private-key-file is required: the PEM private key of the serving certificate');
    const logLevel = values['log-level'] ?? 'info';
    if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level: expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
    const delay = values['shutdown-delay'] ?? '0';
    if (!/^\d+(\.\d+)?$/.test(delay)) throw new UsageError(`--shutdown-delay: expected seconds (a number), got ${JSON.stringify(delay)}`);
    const count = (flag: string, value: string | undefined): number | undefined => {
      if (value === undefined) return undefined;
      if (!/^[1-9]\d{0,6}$/.test(value)) throw new UsageError(`${flag}: expected a whole number from 1, got ${JSON.stringify(value)}`);
      return Number(value);
    };
    const maxConnections = count('--max-connections', values['max-connections']);
    const maxInFlight = count('--max-in-flight', values['max-in-flight']);
    const listenBacklog = count('--listen-backlog', values['listen-backlog']);
    const opts = {
      port: port('--port', values.port, 9443),
      healthPort: port('--health-port', values['health-port'], 8080),
      host: values['bind-address'] ?? '127.0.0.1',
      tlsCertFile: values['tls-cert-file'],
      tlsKeyFile: values['tls-private-key-file'],
      clientCaFile: values['client-ca-file'],
      kubeconfig: values.kubeconfig,
      logLevel,
      shutdownDelayMs: Number(delay) * 1000,
      limits: { ...(maxConnections ? { maxConnections } : {}), ...(maxInFlight ? { maxInFlight } : {}), ...(listenBacklog ? { listenBacklog } : {}) },
    };
    server = await buildWebhookServer(opts);
  } catch (err) {
    const usage = err instanceof UsageError;
    const known = usage || err instanceof TlsError || err instanceof ClusterConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    process.stderr.write(`mesh-cert-webhook: ${err instanceof Error ? (known ? err.message : (err.stack ?? err.message)) : String(err)}\n${usage ? `\n${USAGE}` : ''}`);
    return usage ? 2 : 1;
  }
  process.stdout.write(`mesh-cert-webhook serving admission on ${server.url} (POST /mutate, /validate); health and metrics on ${server.healthUrl}\n`);
  const s = server;
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      process.stderr.write(`mesh-cert-webhook: ${signal}: finishing in-flight reviews\n`);
      s.close().then(resolve, (err: unknown) => {
        process.stderr.write(`mesh-cert-webhook: shutdown: ${String(err)}\n`);
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
