// mesh-cert-webhook: the command line around buildWebhookServer and the certificate controller.
import { parseArgs } from 'node:util';
import { buildWebhookServer, type WebhookServer } from './server.js';
import { ClusterConfigError } from './rotation-cache.js';
import { TlsError } from './tls.js';
import { VERSION } from './version.js';
import { OptionError } from './cert-controller/options.js';
import { startCertController, type RunningCertController } from './cert-controller/start.js';

const USAGE = `Usage: mesh-cert-webhook --tls-mode self [options]
       mesh-cert-webhook --tls-cert-file FILE --tls-private-key-file FILE [options]

Admission webhook (mutating and validating) for the Gloo Mesh certificate API.

Options:
  --port N                   HTTPS port for POST /mutate and /validate (default 9443)
  --health-port N            plain-HTTP port for /healthz, /readyz, /metrics (default 8080)
  --bind-address ADDR        address both ports listen on (default 127.0.0.1; 0.0.0.0 in a pod)
  --tls-mode MODE            files: the serving certificate from the two files below (default);
                             self: the webhook makes its own CA and serving certificate, keeps
                             them in a Secret, renews them and injects the CA into its webhook
                             configurations (one replica does it: a Lease)
  --tls-cert-file FILE       files mode: serving certificate (PEM, chain allowed); reloaded when it changes
  --tls-private-key-file FILE  files mode: its private key (PEM); reloaded when it changes
  --validating-webhook-configuration NAME  the webhook's ValidatingWebhookConfiguration: armed
                             (failurePolicy Fail) once its caBundle verifies the certificate
                             served; in self mode the caBundle is injected too
  --mutating-webhook-configuration NAME    the MutatingWebhookConfiguration (self mode: caBundle)
  --namespace NS             where the Secret and the Lease are (default: the pod's namespace)
  --tls-secret NAME          self mode: the certificate Secret (default mesh-cert-webhook-certs)
  --service NAME             self mode: the Service the certificate names, as NAME, NAME.NS,
                             NAME.NS.svc, NAME.NS.svc.cluster.local (default mesh-cert-webhook)
  --tls-san HOST             self mode: one more DNS name or IP address for it (repeatable)
  --ca-lifetime D            self mode: life of the CA (default 87600h, 10 years)
  --serving-cert-lifetime D  self mode: life of the serving certificate (default 8760h, 1 year);
                             each is renewed at 2/3 of its life. D: 40s, 90m, 8760h, 365d
  --cert-check-interval D    how often the Secret is read and the configurations checked (default 10s)
  --leader-election-lease NAME  the Lease that elects the one replica that writes
                             (default mesh-cert-webhook-leader)
  --client-ca-file FILE      require client certificates signed by this CA (PEM)
  --kubeconfig FILE          cluster to list/watch CertificateRotations from
                             (default: the pod's service account when in a cluster)
  --no-certificate-expiry-metrics
                             do not list/watch CertificateRequests to export the expiry of the
                             mesh's intermediates and roots (needs list, watch on them)
  --log-level LEVEL          fatal, error, warn, info, debug, trace, silent (default info)
  --shutdown-delay SECONDS   on SIGTERM, keep serving this long with /readyz failing (default 0)
  --max-connections N        HTTPS connections served at once; more wait their turn (default 512)
  --max-in-flight N          reviews received at once; more are answered "429, retry" at once
                             (default 256; their bodies may hold 8 MiB together)
  --listen-backlog N         connections the kernel holds until accepted (default 4096; capped
                             by the node's net.core.somaxconn, which should be at least this)
  -h, --help                 show this help
  --version                  print the version and exit
`;

class UsageError extends Error {}

function port(flag: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new UsageError(`${flag}: expected a port number 0-65535, got ${JSON.stringify(value)}`);
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
        'tls-mode': { type: 'string' },
        'tls-cert-file': { type: 'string' },
        'validating-webhook-configuration': { type: 'string' },
        'mutating-webhook-configuration': { type: 'string' },
        namespace: { type: 'string' },
        'tls-secret': { type: 'string' },
        service: { type: 'string' },
        'tls-san': { type: 'string', multiple: true },
        'ca-lifetime': { type: 'string' },
        'serving-cert-lifetime': { type: 'string' },
        'cert-check-interval': { type: 'string' },
        'leader-election-lease': { type: 'string' },
        'tls-private-key-file': { type: 'string' },
        'client-ca-file': { type: 'string' },
        kubeconfig: { type: 'string' },
        'no-certificate-expiry-metrics': { type: 'boolean' },
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
  let server: WebhookServer;
  let controller: RunningCertController | undefined;
  try {
    const mode = values['tls-mode'] ?? 'files';
    if (mode !== 'files' && mode !== 'self')
      throw new UsageError(`--tls-mode: expected files or self, got ${JSON.stringify(mode)}`);
    if (mode === 'files') {
      if (!values['tls-cert-file'])
        throw new UsageError(
          '--tls-cert-file is required (with --tls-mode files, the default): the PEM serving certificate',
        );
      if (!values['tls-private-key-file'])
        throw new UsageError(
          '--tls-private-key-file is required (with --tls-mode files, the default): the PEM private key of the serving certificate',
        );
    } else if (values['tls-cert-file'] || values['tls-private-key-file']) {
      throw new UsageError(
        '--tls-cert-file and --tls-private-key-file: not with --tls-mode self, which keeps its certificate in a Secret',
      );
    }
    const logLevel = values['log-level'] ?? 'info';
    if (!LEVELS.includes(logLevel))
      throw new UsageError(`--log-level: expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
    const delay = values['shutdown-delay'] ?? '0';
    if (!/^\d+(\.\d+)?$/.test(delay))
      throw new UsageError(`--shutdown-delay: expected seconds (a number), got ${JSON.stringify(delay)}`);
    const count = (flag: string, value: string | undefined): number | undefined => {
      if (value === undefined) return undefined;
      if (!/^[1-9]\d{0,6}$/.test(value))
        throw new UsageError(`${flag}: expected a whole number from 1, got ${JSON.stringify(value)}`);
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
      certificateExpiry: !values['no-certificate-expiry-metrics'],
      logLevel,
      shutdownDelayMs: Number(delay) * 1000,
      limits: {
        ...(maxConnections ? { maxConnections } : {}),
        ...(maxInFlight ? { maxInFlight } : {}),
        ...(listenBacklog ? { listenBacklog } : {}),
      },
    };
    controller = await startCertController(mode, values, {
      kubeconfig: values.kubeconfig,
      clientCaFile: values['client-ca-file'],
      logLevel,
    });
    server = await buildWebhookServer({
      ...opts,
      ...(controller?.tlsSource ? { tlsSource: controller.tlsSource } : {}),
    });
    controller?.serve(server.ready);
  } catch (err) {
    await controller?.stop();
    const usage = err instanceof UsageError || err instanceof OptionError;
    const known =
      usage ||
      err instanceof TlsError ||
      err instanceof ClusterConfigError ||
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    process.stderr.write(
      `mesh-cert-webhook: ${err instanceof Error ? (known ? err.message : (err.stack ?? err.message)) : String(err)}\n${usage ? `\n${USAGE}` : ''}`,
    );
    return usage ? 2 : 1;
  }
  const s = server;
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      // The controller first: a leader hands its Lease back while the server drains (close logs).
      Promise.all([controller?.stop(), s.close(signal)]).then(
        () => resolve(),
        () => resolve(),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
