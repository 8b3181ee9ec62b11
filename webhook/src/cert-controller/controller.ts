// The certificate controller: what every replica and the leader do, each check interval.
//   every replica  reads the certificate Secret and serves its serving certificate (self mode);
//   the leader     (LeaderLease) writes the Secret when plan.ts says so (self mode), injects its
//                  CA bundle into both webhook configurations (self mode) and arms the
//                  validating webhook (every mode: webhook-configurations.ts).
// In files mode there is no Secret to read here: the certificate comes from files (tls.ts), and
// the controller only arms the validating webhook.
import { X509Certificate } from 'node:crypto';
import { ApiRequestError, ok, type ApiStatus } from '../kube-api.js';
import type { KubeApi } from './kube-api.js';
import type { LeaderLease } from './leader-lease.js';
import { plan, SECRET_KEYS, splitBundle, type SecretData } from './plan.js';
import type { SecretTlsSource } from './secret-tls-source.js';
import { reconcileWebhookConfigurations, type WebhookConfigurationNames } from './webhook-configurations.js';

export interface ControllerLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

export interface SelfModeOptions {
  secretName: string;
  source: SecretTlsSource;
  hosts: string[];
  caLifetimeMs: number;
  servingLifetimeMs: number;
  caCommonName: string;
}

export interface ControllerOptions {
  api: KubeApi;
  namespace: string;
  lease: LeaderLease;
  configurations: WebhookConfigurationNames;
  intervalMs: number;
  log: ControllerLog;
  /** Present in self mode. */
  self?: SelfModeOptions;
  /** The certificate served now (PEM), for arming; '' before there is one. */
  servingCertPem(): string;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  type?: string;
  data?: Record<string, string>;
}

/**
 * How long a new CA must have been in both configurations before it signs: the API servers'
 * informers pick a configuration change up within a second or so; a twentieth of the CA's life,
 * between 1 and 10 s, leaves ample room and stays small against the third of its life that
 * remains when renewal starts.
 */
export function promoteAfterMs(caLifetimeMs: number): number {
  return Math.min(10_000, Math.max(1_000, Math.floor(caLifetimeMs / 20)));
}

const decode = (data: Record<string, string> | undefined): SecretData => {
  const out: SecretData = {};
  for (const k of SECRET_KEYS) if (data?.[k]) out[k] = Buffer.from(data[k], 'base64').toString('utf8');
  return out;
};

export class CertController {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** The next CA (by its PEM) and since when both configurations carry it, as this leader saw. */
  private nextTrusted: { pem: string; sinceMs: number } | undefined;
  private serving: () => boolean = () => false;
  private lastProblem = '';

  constructor(private readonly o: ControllerOptions) {}

  private secretPath(): string {
    return `/api/v1/namespaces/${this.o.namespace}/secrets/${this.o.self!.secretName}`;
  }

  private get secretRef(): string {
    return `${this.o.namespace}/${this.o.self?.secretName ?? ''}`;
  }

  /**
   * Self mode, before the server starts: checks until the Secret holds a serving certificate
   * (the leader writes it; the others wait for it). Resolves once the source has one.
   */
  async bootstrap(signal: { stopped(): boolean }): Promise<void> {
    if (!this.o.self) return;
    let waitingSaid = false;
    while (!this.o.self.source.has()) {
      if (signal.stopped()) throw new Error('stopped before a serving certificate was read');
      await this.tick();
      if (this.o.self.source.has()) break;
      if (!waitingSaid && !this.o.lease.isLeader()) {
        this.o.log.info(
          { secret: this.secretRef, identity: this.o.lease.identity },
          'waiting for the leader to write the serving certificate',
        );
        waitingSaid = true;
      }
      await new Promise((r) => setTimeout(r, Math.min(this.o.intervalMs, 1_000)));
    }
  }

  /** Checks every interval from now on; `serving` says whether reviews are answered. */
  start(serving: () => boolean): void {
    this.serving = serving;
    const loop = (): void => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(loop, this.o.intervalMs);
        this.timer.unref();
      });
    };
    loop();
  }

  /** A check now (on becoming leader), without waiting for the interval. */
  kick(): void {
    if (this.stopped || this.running || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.start(this.serving);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One check; problems are logged (once each) and retried at the next. */
  async tick(): Promise<void> {
    try {
      const data = this.o.self ? await this.syncSecret() : undefined;
      if (this.o.lease.isLeader()) await this.syncConfigurations(data);
      if (this.lastProblem) this.o.log.info({}, 'certificate controller: checks pass again');
      this.lastProblem = '';
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg !== this.lastProblem)
        this.o.log.warn(
          { problem: msg, status: err instanceof ApiRequestError ? err.code : undefined },
          'certificate controller: check failed; retrying at the next one',
        );
      this.lastProblem = msg;
    }
  }

  /** Reads the Secret; the leader writes what plan() says; every replica serves what it holds. */
  private async syncSecret(): Promise<SecretData> {
    const self = this.o.self!;
    const r = await this.o.api.call<SecretObject | ApiStatus>('GET', this.secretPath());
    if (r.status === 404) {
      throw new ApiRequestError(
        404,
        `Secret ${this.secretRef} not found: the manifests and the Helm chart ship it (empty); re-apply them, or create it: kubectl create secret generic ${self.secretName} -n ${this.o.namespace}`,
      );
    }
    const secret = ok<SecretObject>(`get Secret ${this.secretRef}`, r);
    let data = decode(secret.data);
    if (this.o.lease.isLeader()) {
      const now = Date.now();
      const trusted =
        this.nextTrusted &&
        this.nextTrusted.pem === data['ca-next.crt'] &&
        now - this.nextTrusted.sinceMs >= promoteAfterMs(self.caLifetimeMs);
      const p = plan(data, {
        hosts: self.hosts,
        caLifetimeMs: self.caLifetimeMs,
        servingLifetimeMs: self.servingLifetimeMs,
        caCommonName: self.caCommonName,
        now,
        promoteNext: !!trusted,
      });
      if (p.changes.length) {
        const encoded: Record<string, string> = {};
        for (const k of SECRET_KEYS) if (p.data[k]) encoded[k] = Buffer.from(p.data[k]!).toString('base64');
        // Keys of ours that plan() dropped (ca-next after promotion) go; anyone else's stay.
        const others = Object.fromEntries(
          Object.entries(secret.data ?? {}).filter(([k]) => !(SECRET_KEYS as readonly string[]).includes(k)),
        );
        // managedFields left out: the API server keeps them and records this update as ours.
        const { managedFields: _managed, ...metadata } = secret.metadata;
        const body: SecretObject = {
          ...secret,
          metadata,
          apiVersion: 'v1',
          kind: 'Secret',
          type: secret.type ?? 'Opaque',
          data: { ...others, ...encoded },
        };
        ok(
          `update Secret ${this.secretRef}`,
          await this.o.api.call<SecretObject | ApiStatus>('PUT', this.secretPath(), body),
        );
        data = p.data;
        this.o.log.info(
          {
            secret: this.secretRef,
            changes: p.changes,
            servingNotAfter: notAfter(data['tls.crt']),
            caNotAfter: notAfter(data['ca.crt']),
          },
          'wrote the webhook certificate Secret',
        );
      }
    }
    self.source.offer(data);
    return data;
  }

  private async syncConfigurations(data: SecretData | undefined): Promise<void> {
    const r = await reconcileWebhookConfigurations(this.o.api, this.o.configurations, {
      caBundle: data?.['ca-bundle.crt'],
      servingCertPem: this.o.servingCertPem(),
      serving: this.serving(),
    });
    if (r.changes.length) this.o.log.info({ changes: r.changes }, 'updated the webhook configurations');
    const next = data?.['ca-next.crt'];
    if (!next || !r.bundleInPlace || !splitBundle(data?.['ca-bundle.crt']).includes(next)) this.nextTrusted = undefined;
    else if (this.nextTrusted?.pem !== next) this.nextTrusted = { pem: next, sinceMs: Date.now() };
  }
}

function notAfter(pem: string | undefined): string | undefined {
  try {
    return pem ? new Date(new X509Certificate(pem).validTo).toISOString() : undefined;
  } catch {
    return undefined;
  }
}
