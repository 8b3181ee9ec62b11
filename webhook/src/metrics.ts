// Prometheus metrics on a registry of our own (several servers may share one process in tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WebhookMetrics {
  registry: Registry;
  requests: Counter<'endpoint' | 'kind' | 'operation' | 'result'>;
  duration: Histogram<'endpoint'>;
  tlsReloads: Counter<'result'>;
  certNotAfter: Gauge;
  rotationsCached: Gauge;
}

export function createMetrics(): WebhookMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mesh_cert_webhook_' });
  return {
    registry,
    requests: new Counter({
      name: 'mesh_cert_webhook_requests_total',
      help: 'Admission reviews answered, by endpoint (mutate, validate), kind, operation and result (allowed, patched, denied, malformed, error).',
      labelNames: ['endpoint', 'kind', 'operation', 'result'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'mesh_cert_webhook_request_duration_seconds',
      help: 'Time from the request arriving to the review being answered.',
      labelNames: ['endpoint'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    tlsReloads: new Counter({
      name: 'mesh_cert_webhook_tls_reloads_total',
      help: 'Serving certificate reloads from disk, by result (ok, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    certNotAfter: new Gauge({
      name: 'mesh_cert_webhook_serving_certificate_not_after_seconds',
      help: 'Expiry of the serving certificate in use, as a Unix time.',
      registers: [registry],
    }),
    rotationsCached: new Gauge({
      name: 'mesh_cert_webhook_cached_certificaterotations',
      help: 'CertificateRotations in the cache behind the one-active-rotation rule.',
      registers: [registry],
    }),
  };
}
