// The certificate controller as the command line starts it: from the flags, a Lease, the Secret
// source (self mode) and the checks; nothing at all in files mode without webhook configurations
// to arm (the webhook then needs no cluster for its certificate, as before).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { clusterConfigured } from '../kube-api.js';
import { VERSION } from '../version.js';
import { CertController } from './controller.js';
import { connectKubeApi } from './kube-api.js';
import { LeaderLease } from './leader-lease.js';
import { controllerLog } from './log.js';
import { durationMs, host, namespaceOf, objectName, OptionError, serviceHosts } from './options.js';
import { SecretTlsSource } from './secret-tls-source.js';

export interface CertFlags {
  'tls-cert-file'?: string;
  'validating-webhook-configuration'?: string;
  'mutating-webhook-configuration'?: string;
  namespace?: string;
  'tls-secret'?: string;
  service?: string;
  'tls-san'?: string[];
  'ca-lifetime'?: string;
  'serving-cert-lifetime'?: string;
  'cert-check-interval'?: string;
  'leader-election-lease'?: string;
}

export interface RunningCertController {
  /** Self mode: where the server takes its certificate from. */
  tlsSource?: SecretTlsSource;
  /** The server is up: arm once `ready` says reviews are answered. */
  serve(ready: () => boolean): void;
  /** Stops checking and hands the Lease back. */
  stop(): Promise<void>;
}

export async function startCertController(
  mode: 'files' | 'self',
  flags: CertFlags,
  env: { kubeconfig?: string; clientCaFile?: string; logLevel: string },
): Promise<RunningCertController | undefined> {
  const configurations = {
    validating:
      flags['validating-webhook-configuration'] &&
      objectName('--validating-webhook-configuration', flags['validating-webhook-configuration']),
    mutating:
      flags['mutating-webhook-configuration'] &&
      objectName('--mutating-webhook-configuration', flags['mutating-webhook-configuration']),
  };
  if (mode === 'files' && !configurations.validating && !configurations.mutating) return undefined;
  if (!clusterConfigured(env.kubeconfig)) {
    throw new OptionError(
      `${mode === 'self' ? '--tls-mode self' : '--validating-webhook-configuration / --mutating-webhook-configuration'}: needs a cluster: --kubeconfig FILE, or a pod's service account`,
    );
  }
  const namespace = namespaceOf('--namespace', flags.namespace);
  const intervalMs = durationMs('--cert-check-interval', flags['cert-check-interval'], '10s');
  const caLifetimeMs = durationMs('--ca-lifetime', flags['ca-lifetime'], '87600h');
  const servingLifetimeMs = durationMs('--serving-cert-lifetime', flags['serving-cert-lifetime'], '8760h');
  if (servingLifetimeMs > caLifetimeMs)
    throw new OptionError(
      `--serving-cert-lifetime: expected at most --ca-lifetime (${flags['ca-lifetime'] ?? '87600h'}), got ${flags['serving-cert-lifetime']}`,
    );
  const secretName = objectName('--tls-secret', flags['tls-secret'] ?? 'mesh-cert-webhook-certs');
  const service = objectName('--service', flags.service ?? 'mesh-cert-webhook');
  const sans = (flags['tls-san'] ?? []).map((h) => host('--tls-san', h));
  const leaseName = objectName('--leader-election-lease', flags['leader-election-lease'] ?? 'mesh-cert-webhook-leader');
  const log = controllerLog(env.logLevel);

  // As client-go names candidates: the pod's name (the hostname) and a random suffix, so that two
  // processes on one host are two candidates. The User-Agent carries it into the audit log.
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  const api = await connectKubeApi({
    kubeconfig: env.kubeconfig,
    userAgent: `mesh-cert-webhook/${VERSION} (${identity})`,
  });
  // Assigned once, below; declared here for the lease's callback, which may run before that.
  // eslint-disable-next-line prefer-const
  let controller: CertController | undefined;
  const lease = new LeaderLease(api, namespace, leaseName, identity, {
    onChange: (leader) => {
      log.info(
        { lease: `${namespace}/${leaseName}`, identity },
        leader ? 'became the leader: this replica writes the certificates and configurations' : 'no longer the leader',
      );
      if (leader) controller?.kick();
    },
    onError: (message) =>
      log.warn({ lease: `${namespace}/${leaseName}`, identity, problem: message }, 'leader election: request failed'),
  });
  const source = mode === 'self' ? new SecretTlsSource(`${namespace}/${secretName}`, env.clientCaFile) : undefined;
  const filesCert = (): string => {
    try {
      return flags['tls-cert-file'] ? readFileSync(flags['tls-cert-file'], 'utf8') : '';
    } catch {
      return '';
    }
  };
  controller = new CertController({
    api,
    namespace,
    lease,
    configurations,
    intervalMs,
    log,
    servingCertPem: () => (source ? source.servingCertPem() : filesCert()),
    ...(source
      ? {
          self: {
            secretName,
            source,
            hosts: [...serviceHosts(service, namespace), ...sans],
            caLifetimeMs,
            servingLifetimeMs,
            caCommonName: `${service}-ca`,
          },
        }
      : {}),
  });
  log.info(
    {
      mode,
      identity,
      lease: `${namespace}/${leaseName}`,
      ...(source ? { secret: `${namespace}/${secretName}` } : {}),
      configurations,
    },
    'certificate controller starting',
  );
  lease.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    stopped = true;
    await controller.stop();
    await lease.stop();
    api.close();
  };
  try {
    await controller.bootstrap({ stopped: () => stopped });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    tlsSource: source,
    serve: (ready) => controller.start(ready),
    stop,
  };
}
