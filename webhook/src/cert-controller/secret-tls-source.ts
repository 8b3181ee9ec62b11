// The serving certificate from the certificate Secret (--tls-mode self), held in memory: every
// replica hands each version of the Secret it reads to offer(), and the server swaps in the new
// pair as it does for files (tls.ts). Nothing is written to disk.
import {
  readClientCa,
  tlsBytes,
  tlsMaterialOf,
  type TlsMaterial,
  type TlsSource,
  type TlsWatcherEvents,
} from '../tls.js';
import type { SecretData } from './plan.js';

export class SecretTlsSource implements TlsSource {
  private material: TlsMaterial | undefined;
  private events: TlsWatcherEvents | undefined;
  private lastError = '';

  constructor(
    /** namespace/name, for messages. */
    private readonly secretRef: string,
    private readonly clientCaFile?: string,
  ) {}

  /** Whether a serving certificate has been read yet (the server starts once it has). */
  has(): boolean {
    return this.material !== undefined;
  }

  current(): TlsMaterial {
    if (!this.material) throw new Error(`Secret ${this.secretRef}: no serving certificate read yet`);
    return this.material;
  }

  /** The PEM of the certificate being served, or '' before the first. */
  servingCertPem(): string {
    return this.material ? String(this.material.options.cert) : '';
  }

  start(events: TlsWatcherEvents): void {
    this.events = events;
  }

  stop(): void {
    this.events = undefined;
  }

  /** A version of the Secret's data: served from now on when it holds a valid, unexpired pair. */
  offer(data: SecretData, now = Date.now()): void {
    if (!data['tls.crt'] || !data['tls.key']) return;
    let next: TlsMaterial;
    try {
      const bytes = tlsBytes(
        Buffer.from(data['tls.crt']),
        Buffer.from(data['tls.key']),
        readClientCa(this.clientCaFile),
      );
      if (bytes.digest === this.material?.digest) return;
      next = tlsMaterialOf(bytes, {
        cert: `Secret ${this.secretRef} tls.crt`,
        key: `tls.key`,
        ca: `--client-ca-file ${this.clientCaFile ?? ''}`,
      });
      if (next.notAfter.getTime() <= now)
        throw new Error(`Secret ${this.secretRef} tls.crt: expired at ${next.notAfter.toISOString()}`);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (e.message !== this.lastError) this.events?.onError(e);
      this.lastError = e.message;
      return;
    }
    this.lastError = '';
    const first = !this.material;
    this.material = next;
    if (!first) this.events?.onReload(next);
  }
}
