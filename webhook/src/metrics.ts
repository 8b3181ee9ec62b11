// Prometheus metrics on a registry of our own (several servers may share one process in tests).
// prom-client renders everything; the two per-review metrics are counted by ReviewMetrics below.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from './version.js';

const REVIEWS = 'mesh_cert_webhook_requests_total';
const DURATION = 'mesh_cert_webhook_request_duration_seconds';
/** Named as cert-manager names its own (certmanager_certificate_expiration_timestamp_seconds). */
export const SERVING_EXPIRY = 'mesh_cert_webhook_serving_certificate_expiration_timestamp_seconds';
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;

type ReviewLabels = { endpoint: string; kind: string; operation: string; result: string };
/** One sample as prom-client's registry renders it. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * The review counter and latency histogram. prom-client hashes the label object on every inc()
 * and observe(), which under load cost about 7 us a review, a tenth of the whole; here a review
 * costs one string key and a Map lookup, and prom-client's registry renders the totals when
 * /metrics is scraped (the objects below are what it calls: name, help, type, get, reset).
 */
export class ReviewMetrics {
  private readonly counts = new Map<string, { labels: ReviewLabels; value: number }>();
  private readonly latency = new Map<string, { buckets: Float64Array; sum: number; count: number }>();

  record(endpoint: string, kind: string, operation: string, result: string, seconds: number): void {
    const key = `${endpoint}|${kind}|${operation}|${result}`;
    const c = this.counts.get(key);
    if (c) c.value++;
    else this.counts.set(key, { labels: { endpoint, kind, operation, result }, value: 1 });
    let h = this.latency.get(endpoint);
    if (!h) this.latency.set(endpoint, (h = { buckets: new Float64Array(BUCKETS.length), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]) {
        h.buckets[i]++;
        break;
      }
    }
    h.sum += seconds;
    h.count++;
  }

  /** Register both metrics on `registry`. */
  register(registry: Registry): void {
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => Sample[]) => ({
      name,
      help,
      type,
      aggregator: 'sum' as const,
      get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
      reset: () => (type === 'counter' ? this.counts.clear() : this.latency.clear()),
    });
    const counter = metric(
      REVIEWS,
      'Admission reviews answered, by endpoint (mutate, validate), kind, operation and result (allowed, patched, denied, malformed, error, overloaded, and probe: the dry-run write kubectl mesh-cert check makes, denied on purpose).',
      'counter',
      () => [...this.counts.values()].map((c) => ({ labels: { ...c.labels }, value: c.value })),
    );
    const histogram = metric(
      DURATION,
      'Time from the request arriving to the review being answered.',
      'histogram',
      () => {
        const out: Sample[] = [];
        for (const [endpoint, h] of this.latency) {
          let cumulative = 0;
          BUCKETS.forEach((le, i) => {
            cumulative += h.buckets[i];
            out.push({ labels: { le, endpoint }, value: cumulative, metricName: `${DURATION}_bucket` });
          });
          out.push({ labels: { le: '+Inf', endpoint }, value: h.count, metricName: `${DURATION}_bucket` });
          out.push({ labels: { endpoint }, value: h.sum, metricName: `${DURATION}_sum` });
          out.push({ labels: { endpoint }, value: h.count, metricName: `${DURATION}_count` });
        }
        return out;
      },
    );
    // The registry calls only these members; prom-client's types ask for a full Metric class.
    registry.registerMetric(counter as unknown as Parameters<Registry['registerMetric']>[0]);
    registry.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);
  }
}

export interface WebhookMetrics {
  registry: Registry;
  reviews: ReviewMetrics;
  tlsReloads: Counter<'result'>;
  certNotAfter: Gauge;
  rotationsCached: Gauge;
}

export function createMetrics(): WebhookMetrics {
  const registry = new Registry();
  // Node's process metrics under the names prom-client gives them (process_cpu_user_seconds_total,
  // process_resident_memory_bytes, nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds...):
  // the names ready-made Node.js dashboards and alerts look for.
  collectDefaultMetrics({ register: registry });
  const reviews = new ReviewMetrics();
  reviews.register(registry);
  new Gauge({
    name: 'mesh_cert_webhook_build_info',
    help: 'Always 1; the labels say which build is running.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  }).set({ version: VERSION, node_version: process.version }, 1);
  const tlsReloads = new Counter({
    name: 'mesh_cert_webhook_tls_reloads_total',
    help: 'Serving certificate reloads from disk, by result (ok, error).',
    labelNames: ['result'],
    registers: [registry],
  });
  // Present from the start, at 0, so that dashboards find it before the first reload. Not the
  // error series: a line with result="error" means something failed (tests and operators grep it).
  tlsReloads.inc({ result: 'ok' }, 0);
  return {
    registry,
    reviews,
    tlsReloads,
    certNotAfter: new Gauge({
      name: SERVING_EXPIRY,
      help: 'Expiry (notAfter) of the serving certificate in use, as a Unix time.',
      registers: [registry],
    }),
    rotationsCached: new Gauge({
      name: 'mesh_cert_webhook_cached_certificaterotations',
      help: 'CertificateRotations in the cache behind the one-active-rotation rule.',
      registers: [registry],
    }),
  };
}
