// Metrics of the limits (server.ts): connections served and waiting, connections dropped, reviews
// and bytes being received, TLS handshakes refused. Registered on the server's registry.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { InFlight } from './body.js';
import type { ConnectionGate, DropReason } from './connections.js';

export interface LoadMetrics {
  dropped: Counter<'reason'>;
  tlsClientErrors: Counter<'reason'>;
}

export function registerLoadMetrics(
  registry: Registry,
  gate: () => ConnectionGate | undefined,
  inflight: InFlight,
): LoadMetrics {
  new Gauge({
    name: 'mesh_cert_webhook_connections',
    help: 'HTTPS connections by state: active (served: handshaking, reading a request, or idle between requests), handshaking (of the active, in their TLS handshake), waiting (for a slot, past --max-connections), silent (open, no byte sent yet).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = gate()?.stats() ?? { active: 0, handshaking: 0, waiting: 0, silent: 0 };
      this.set({ state: 'active' }, s.active);
      this.set({ state: 'handshaking' }, s.handshaking);
      this.set({ state: 'waiting' }, s.waiting);
      this.set({ state: 'silent' }, s.silent);
    },
  });
  new Gauge({
    name: 'mesh_cert_webhook_in_flight_reviews',
    help: 'Reviews whose bodies are being received or judged.',
    registers: [registry],
    collect() {
      this.set(inflight.count);
    },
  });
  new Gauge({
    name: 'mesh_cert_webhook_in_flight_bytes',
    help: 'Bytes of review bodies held while they are received and judged.',
    registers: [registry],
    collect() {
      this.set(inflight.bytes);
    },
  });
  const dropped = new Counter({
    name: 'mesh_cert_webhook_connections_dropped_total',
    help: 'Connections closed unserved, by reason: silent (no byte within the first-bytes timeout), queue_full (too many waiting), queue_timeout (waited too long for a slot), closing (shutting down).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['silent', 'queue_full', 'queue_timeout', 'closing'] satisfies DropReason[])
    dropped.inc({ reason }, 0);
  const tlsClientErrors = new Counter({
    name: 'mesh_cert_webhook_tls_client_errors_total',
    help: 'TLS connections that failed before a request: no_certificate (none presented while --client-ca-file is set), bad_certificate (not signed by that CA), protocol (version or cipher refused), timeout, other.',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ['no_certificate', 'bad_certificate', 'protocol', 'timeout', 'other'] satisfies TlsErrorReason[])
    tlsClientErrors.inc({ reason }, 0);
  return { dropped, tlsClientErrors };
}

export type TlsErrorReason = 'no_certificate' | 'bad_certificate' | 'protocol' | 'timeout' | 'other';

/** The reason label for a tlsClientError. */
export function tlsErrorReason(err: Error & { code?: string }): TlsErrorReason {
  const m = `${err.code ?? ''} ${err.message}`;
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|peer did not return a certificate|CERTIFICATE_REQUIRED/i.test(m))
    return 'no_certificate';
  if (/certificate|unknown ca|UNABLE_TO_GET_ISSUER|CERT_/i.test(m)) return 'bad_certificate';
  if (/timed out|timeout/i.test(m)) return 'timeout';
  if (/protocol|version|cipher|no shared|SSLV3|WRONG_VERSION|HTTP_REQUEST/i.test(m)) return 'protocol';
  return 'other';
}
