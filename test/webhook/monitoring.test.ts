// manifests/monitoring/, checked without promtool: the alert rules' expressions are evaluated
// (test/webhook/promql.ts) against a real scrape of the webhook watching CertificateRequests of
// chosen lifetimes, at several points in time; every metric a dashboard panel queries must be in
// that scrape; the PrometheusRule and the plain rules file must hold the same rules.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { CERTIFICATE_EXPIRY } from '../../webhook/src/certificate-expiry.js';
import { applyFinished, genChain, kubectl, parseExposition, type Chain, type Sample } from './expiry-fixtures.js';
import { certificateRequest, issuedCertificate } from './fixtures.js';
import { genPki, REPO, review, startHarness, type Harness } from './helpers.js';
import { evaluate, metricNames, parsePromQL } from './promql.js';

const DIR = join(REPO, 'manifests/monitoring');
const DAY = 86_400;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}
type Groups = { name: string; rules: Rule[] }[];

const rulesFile = parse(readFileSync(join(DIR, 'mesh-cert.rules.yaml'), 'utf8')) as { groups: Groups };
const prometheusRule = parse(readFileSync(join(DIR, 'prometheus-rule.yaml'), 'utf8')) as {
  kind: string;
  spec: { groups: Groups };
};
const rules = rulesFile.groups.flatMap((g) => g.rules);

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8')) as { panels: Panel[] };

/** The alerts whose expression yields a series at `now`, with the labels of each series. */
function firing(samples: readonly Sample[], now: number): { alert: string; labels: Record<string, string> }[] {
  return rules.flatMap((r) => {
    const v = evaluate(parsePromQL(r.expr), samples, now);
    if (v.kind !== 'vector') throw new Error(`${r.alert}: the expression is a scalar, not an alert`);
    return v.series.map((s) => ({ alert: r.alert, labels: s.labels }));
  });
}
const withLag = (samples: readonly Sample[], seconds: number): Sample[] =>
  samples.map((s) => (s.name === 'nodejs_eventloop_lag_p99_seconds' ? { ...s, value: seconds } : s));
const names = (f: { alert: string }[]): string[] => [...new Set(f.map((a) => a.alert))].sort();

describe('manifests/monitoring', () => {
  it('holds the same rules in the PrometheusRule as in the plain rules file, each with a severity, a summary and a valid duration', () => {
    expect(prometheusRule.kind).toBe('PrometheusRule');
    expect(prometheusRule.spec.groups).toEqual(rulesFile.groups);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const r of rules) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      if (r.for !== undefined) expect(r.for, r.alert).toMatch(/^\d+[smhd]$/);
      // each alert reads only metrics this project exports
      for (const m of metricNames(parsePromQL(r.expr))) expect(m, r.alert).toMatch(/^(mesh_cert_|process_|nodejs_)/);
    }
  });

  it("renders with kustomize: the rules, a PodMonitor of the health port, and the dashboard for Grafana's sidecar", () => {
    const docs = parseAllDocuments(execFileSync('/usr/bin/kubectl', ['kustomize', DIR]).toString()).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { labels?: Record<string, string> };
          data?: Record<string, string>;
          spec?: { podMetricsEndpoints?: { port: string }[] };
        },
    );
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data!['grafana-dashboard.json']!)).toEqual(dashboard);
    expect(docs.find((d) => d.kind === 'PodMonitor')!.spec!.podMetricsEndpoints).toEqual([
      { port: 'health', path: '/metrics', interval: '30s' },
    ]);
  });

  it('the evaluator: precedence, label matchers, aggregation by and without, comparison as a filter, one-to-one matching', () => {
    const s = (name: string, labels: Record<string, string>, value: number): Sample => ({ name, labels, value });
    const samples = [
      s('a', { x: '1', y: 'p' }, 10),
      s('a', { x: '2', y: 'p' }, 20),
      s('a', { x: '3', y: 'q' }, 30),
      s('b', { x: '1', y: 'p' }, 1),
    ];
    const ev = (e: string, now = 1000) => evaluate(parsePromQL(e), samples, now);
    expect(ev('1 + 2 * 3 - 4 / 2')).toEqual({ kind: 'scalar', value: 5 });
    expect(ev('(1 + 2) * 3')).toEqual({ kind: 'scalar', value: 9 });
    expect(ev('2 ^ 3 ^ 2')).toEqual({ kind: 'scalar', value: 512 });
    expect(ev('time() - 1', 50)).toEqual({ kind: 'scalar', value: 49 });
    expect(ev('a{y="p", x!="2"}')).toEqual({
      kind: 'vector',
      series: [{ labels: { __name__: 'a', x: '1', y: 'p' }, value: 10 }],
    });
    expect(ev('a{x=~"1|3"} * 2')).toEqual({
      kind: 'vector',
      series: [
        { labels: { x: '1', y: 'p' }, value: 20 },
        { labels: { x: '3', y: 'q' }, value: 60 },
      ],
    });
    expect(ev('sum by (y) (a)')).toEqual({
      kind: 'vector',
      series: [
        { labels: { y: 'p' }, value: 30 },
        { labels: { y: 'q' }, value: 30 },
      ],
    });
    expect(ev('max without (x) (a)')).toEqual({
      kind: 'vector',
      series: [
        { labels: { y: 'p' }, value: 20 },
        { labels: { y: 'q' }, value: 30 },
      ],
    });
    expect(ev('min(a)')).toEqual({ kind: 'vector', series: [{ labels: {}, value: 10 }] });
    expect(ev('a > 15')).toEqual({
      kind: 'vector',
      series: [
        { labels: { __name__: 'a', x: '2', y: 'p' }, value: 20 },
        { labels: { __name__: 'a', x: '3', y: 'q' }, value: 30 },
      ],
    });
    expect(ev('25 > a')).toEqual({
      kind: 'vector',
      series: [
        { labels: { __name__: 'a', x: '1', y: 'p' }, value: 10 },
        { labels: { __name__: 'a', x: '2', y: 'p' }, value: 20 },
      ],
    });
    expect(ev('a - b')).toEqual({ kind: 'vector', series: [{ labels: { x: '1', y: 'p' }, value: 9 }] });
    expect(ev('a - time() < -975')).toEqual({
      kind: 'vector',
      series: [
        { labels: { x: '1', y: 'p' }, value: -990 },
        { labels: { x: '2', y: 'p' }, value: -980 },
      ],
    });
    expect(ev('nothing < 1')).toEqual({ kind: 'vector', series: [] });
    expect(() => ev('rate(a[5m])')).toThrow(/outside the evaluated subset/);
    expect(() => ev('1 < 2')).toThrow(/needs bool/);
    expect(() => parsePromQL('sum by (y (a)')).toThrow(/PromQL/);
    expect(
      metricNames(parsePromQL('histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="b"}[$__rate_interval])))')),
    ).toEqual(['x_bucket']);
  });
});

for (const backend of BACKENDS) {
  describe(backend, () => {
    let world: Backend;
    let h: Harness;
    let chain: Chain;
    let samples: Sample[];
    let servingNotAfter: number;
    beforeAll(async () => {
      world = await startBackend(backend, ['mgmt']);
      await kubectl(world.kubeconfigPath, ['create', 'namespace', 'istio-system']);
      chain = genChain({ root: 400, signer: 200, intermediate: 60 });
      await applyFinished(world.kubeconfigPath, 'cluster-1', 'istio-system', chain);
      h = await startHarness({ kubeconfig: world.kubeconfigPath, rotationCache: null });
      servingNotAfter = Date.parse(new X509Certificate(readFileSync(h.cert.certFile)).validTo) / 1000;
      // one review of each result, so that the request metrics have samples
      await h.send('/validate', review('IssuedCertificate', 'CREATE', issuedCertificate()));
      await h.send('/mutate', review('IssuedCertificate', 'CREATE', issuedCertificate('x', { org: 'acme' })));
      await h.send(
        '/validate',
        review(
          'IssuedCertificate',
          'UPDATE',
          issuedCertificate('x', {}, { state: 'FINISHED' }),
          issuedCertificate('x', {}, { state: 'PENDING' }),
          { subResource: 'status' },
        ),
      );
      await h.send(
        '/validate',
        review('CertificateRequest', 'CREATE', certificateRequest(genPki(), 'mesh-cert-check-probe'), undefined, {
          dryRun: true,
        }),
      );
      await h.raw('/validate', 'not a review');
      const scrape = async (): Promise<Sample[]> =>
        parseExposition(await (await fetch(`${h.server.healthUrl}/metrics`)).text());
      // the exporter's first list arrives shortly after the server starts
      for (const end = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 100))) {
        samples = await scrape();
        if (samples.filter((s) => s.name === CERTIFICATE_EXPIRY).length === 3) break;
        if (Date.now() > end)
          throw new Error(`no ${CERTIFICATE_EXPIRY} for the 3 certificates of cluster-1 within 15 s`);
      }
      // The webhook runs inside this test process, whose synchronous openssl calls (above) block
      // the event loop for seconds: its lag is this process's, not a webhook's. The lag alert is
      // checked on chosen values below; every other check sees a calm event loop.
      samples = withLag(samples, 0.002);
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await h?.close();
      await world?.stop();
    });

    it('no alert fires while every certificate has long to live', () => {
      expect(firing(samples, Date.now() / 1000)).toEqual([]);
    });

    it("the intermediate alerts fire as the cluster's intermediate nears expiry: 14 days, then 3, then expired", () => {
      const left = (days: number): number => chain.notAfter.intermediate - days * DAY;
      expect(names(firing(samples, left(15)))).toEqual([]);
      expect(firing(samples, left(10))).toEqual([
        {
          alert: 'MeshCertIntermediateExpiringSoon',
          labels: { namespace: 'istio-system', name: 'cluster-1', subject: 'O=gloo-mesh, OU=cluster-1' },
        },
      ]);
      expect(names(firing(samples, left(2)))).toEqual([
        'MeshCertIntermediateExpiringSoon',
        'MeshCertIntermediateExpiryCritical',
      ]);
      expect(names(firing(samples, left(-1)))).toEqual([
        'MeshCertCertificateExpired',
        'MeshCertIntermediateExpiringSoon',
        'MeshCertIntermediateExpiryCritical',
      ]);
      expect(firing(samples, left(-1)).find((a) => a.alert === 'MeshCertCertificateExpired')!.labels).toMatchObject({
        role: 'intermediate',
        name: 'cluster-1',
      });
    });

    it('the root alert fires 60 days before the root expires, not 61', () => {
      const atRoot = (days: number) =>
        firing(samples, chain.notAfter.root - days * DAY).filter((a) => a.alert === 'MeshCertRootExpiringSoon');
      expect(atRoot(61)).toEqual([]);
      expect(atRoot(59)).toEqual([
        {
          alert: 'MeshCertRootExpiringSoon',
          labels: { subject: 'O=gloo-mesh, CN=root-ca', serial: expect.stringMatching(/^[0-9a-f]+$/) },
        },
      ]);
    });

    it("the serving certificate's alert fires 7 days before it expires, not 8", () => {
      const at = (days: number) =>
        names(firing(samples, servingNotAfter - days * DAY)).filter((a) => a.startsWith('MeshCertWebhook'));
      expect(at(8)).toEqual([]);
      expect(at(6)).toEqual(['MeshCertWebhookServingCertificateExpiringSoon']);
    });

    it('the event loop alert fires on a p99 lag over 0.5 s, not at 0.4 s', () => {
      expect(samples.filter((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
      expect(names(firing(withLag(samples, 0.4), Date.now() / 1000))).toEqual([]);
      expect(names(firing(withLag(samples, 0.8), Date.now() / 1000))).toEqual(['MeshCertWebhookEventLoopLagHigh']);
    });

    it('every metric a dashboard panel queries is in the scrape', () => {
      const inScrape = new Set(samples.map((s) => s.name));
      const queried = dashboard.panels.flatMap((p) =>
        (p.targets ?? []).flatMap((t) => metricNames(parsePromQL(t.expr)).map((m) => ({ panel: p.title, metric: m }))),
      );
      expect(queried.length).toBeGreaterThan(15);
      expect(queried.filter((q) => !inScrape.has(q.metric))).toEqual([]);
    });

    it("counts check's dry-run probe as a probe, and the standard process metrics are there by their usual names", () => {
      const requests = samples.filter((s) => s.name === 'mesh_cert_webhook_requests_total');
      expect(requests.find((s) => s.labels.kind === 'CertificateRequest')?.labels.result).toBe('probe');
      for (const name of [
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'process_start_time_seconds',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_seconds',
      ]) {
        expect(
          samples.some((s) => s.name === name),
          name,
        ).toBe(true);
      }
      expect(samples.find((s) => s.name === 'mesh_cert_webhook_build_info')).toMatchObject({
        labels: { version: expect.stringMatching(/^\d+\.\d+\.\d+/), node_version: process.version },
        value: 1,
      });
    });
  });
}
