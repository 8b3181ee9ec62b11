// `check`: a preflight in the style of `linkerd check`. Each check yields pass, warn or fail
// lines per cluster; only a fail makes the command exit non-zero.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as pki from '../../../schemas/pki/index.js';
import type { Cluster, ClusterSet } from '../lib/clusters.js';
import { errorMessage } from '../lib/errors.js';
import { ApiError } from '../lib/errors.js';
import type { K8s, KObject } from '../lib/k8s.js';
import { KINDS, resourceOf } from '../lib/kinds.js';
import { loadYaml } from '../lib/lazy.js';
import type { Ref } from '../lib/refs.js';
import type { IcLike as Ic } from './current-root.js';
import { certPems, daysLeft } from '../lib/certs.js';

export type Result = 'pass' | 'warn' | 'fail';
export interface CheckLine { category: string; cluster: string; name: string; result: Result; message: string }

export const MIN_DAYS = 60;

export interface CheckOptions {
  crdDir: string;
  cacerts: Ref;
  rootSecret?: Ref;
  dryRunNamespace: string;
}


/** A JSON value with object keys sorted, so two schemas compare by content. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

function versionsDigest(crd: KObject): string {
  const versions = ((crd.spec as { versions?: { name: string; served?: boolean; storage?: boolean; schema?: unknown; subresources?: unknown }[] })?.versions ?? [])
    .map((v) => ({ name: v.name, served: v.served, storage: v.storage, schema: v.schema, subresources: v.subresources }));
  return JSON.stringify(canonical(versions));
}

export async function loadManifestCrds(dir: string): Promise<Map<string, KObject>> {
  const out = new Map<string, KObject>();
  if (!existsSync(dir)) return out;
  const { parseAllDocuments } = await loadYaml();
  for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJS() as KObject | null;
      if (o?.kind === 'CustomResourceDefinition') out.set(o.metadata.name, o);
    }
  }
  return out;
}

async function checkCrds(c: Cluster, k8s: K8s, manifests: Map<string, KObject>): Promise<CheckLine[]> {
  const installed = new Map((await k8s.listCrds()).map((o) => [o.metadata.name, o]));
  return KINDS.map((k) => {
    const name = `${k.plural}.${k.group}`;
    const line = (result: Result, message: string): CheckLine => ({ category: 'CRDs', cluster: c.name, name, result, message });
    const crd = installed.get(name);
    if (!crd) return line('fail', `CRD ${name} is not installed (kubectl apply -f manifests/crds/)`);
    const want = manifests.get(name);
    if (!want) return line('warn', `CRD ${name} is installed; manifests/crds has no copy to compare with`);
    if (versionsDigest(crd) !== versionsDigest(want)) return line('warn', `CRD ${name} is installed but differs from manifests/crds (re-apply them)`);
    return line('pass', `CRD ${name} is installed and current`);
  });
}

interface WebhookEntry { name: string; clientConfig?: { url?: string; caBundle?: string; service?: { name: string; namespace: string; port?: number; path?: string } }; rules?: { apiGroups?: string[] }[] }

const GROUPS = new Set(KINDS.map((k) => k.group));

function fetchPeerCert(url: string, caPem: string, timeoutMs = 5000): Promise<PeerCertificate> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const isIp = /^[\d.]+$|^\[/.test(u.hostname);
    const socket = tlsConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 443), ca: caPem, servername: isIp ? undefined : u.hostname, timeout: timeoutMs }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('timeout', () => {
      socket.destroy();
      reject(new Error(`no TLS answer within ${timeoutMs / 1000}s`));
    });
    socket.on('error', reject);
  });
}

async function checkWebhooks(c: Cluster, k8s: K8s, now: number): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  for (const kind of ['Validating', 'Mutating'] as const) {
    const configs = await k8s.listWebhookConfigurations(kind);
    const ours = configs.flatMap((cfg) =>
      ((cfg.webhooks as WebhookEntry[] | undefined) ?? [])
        .filter((w) => (w.rules ?? []).some((r) => (r.apiGroups ?? []).some((g) => GROUPS.has(g) || g === '*')))
        .map((w) => ({ cfg: cfg.metadata.name, w })),
    );
    const line = (name: string, result: Result, message: string) => lines.push({ category: 'webhook', cluster: c.name, name, result, message });
    if (ours.length === 0) {
      line(`${kind}WebhookConfiguration`, 'fail', `no ${kind}WebhookConfiguration routes the mesh-cert kinds to a webhook (kubectl apply -k manifests/)`);
      continue;
    }
    for (const { cfg, w } of ours) {
      const name = `${kind}WebhookConfiguration ${cfg} / ${w.name}`;
      const ca = w.clientConfig?.caBundle ? Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8') : '';
      const caCerts = certPems(ca);
      if (caCerts.length === 0) {
        line(name, 'fail', 'has no caBundle: the API server cannot verify the webhook (webhook/gen-certs.sh --apply)');
        continue;
      }
      const caLeft = Math.min(...caCerts.map((p) => daysLeft(new X509Certificate(p).validTo, now)));
      if (caLeft < 0) line(name, 'fail', 'its caBundle has expired');
      else if (caLeft < MIN_DAYS) line(name, 'warn', `its caBundle expires in ${caLeft} days (< ${MIN_DAYS})`);
      if (w.clientConfig?.url) {
        try {
          const peer = await fetchPeerCert(w.clientConfig.url, ca);
          const left = daysLeft(new Date(peer.valid_to).toISOString(), now);
          if (left < 0) line(name, 'fail', `the serving certificate at ${w.clientConfig.url} has expired`);
          else if (left < MIN_DAYS) line(name, 'warn', `the caBundle verifies the serving certificate, which expires in ${left} days (< ${MIN_DAYS})`);
          else line(name, 'pass', `the caBundle verifies the serving certificate at ${w.clientConfig.url} (${left} days left)`);
        } catch (err) {
          line(name, 'fail', `the caBundle does not verify the serving certificate at ${w.clientConfig.url}: ${errorMessage(err)}`);
        }
      } else {
        const svc = w.clientConfig?.service;
        line(name, caLeft >= MIN_DAYS ? 'pass' : 'warn', `caBundle present (${caLeft} days left); service ${svc?.namespace}/${svc?.name} is verified by the API server in the dry-run check`);
      }
    }
  }
  return lines;
}

/** A write only the webhook refuses (deprecated and new organization disagree), as a dry run. */
async function checkDryRun(c: Cluster, k8s: K8s, ns: string): Promise<CheckLine> {
  const name = 'dry-run write is denied by the webhook';
  const IC = resourceOf('IssuedCertificate');
  const body = {
    apiVersion: `${IC.group}/${IC.version}`,
    kind: IC.kind,
    metadata: { name: `mesh-cert-check-${Date.now().toString(36)}`, namespace: ns },
    spec: { hosts: ['spiffe://cluster.local'], org: 'mesh-cert-check-old', certOptions: { orgName: 'mesh-cert-check-new' } },
  };
  try {
    // Namespace admission runs before webhooks: a missing namespace would hide the webhook.
    const namespaces = await k8s.listNamespaces();
    if (!namespaces.includes(ns) && namespaces.length) {
      ns = namespaces[0];
      body.metadata.namespace = ns;
    }
    await k8s.create(IC, ns, body as never, { dryRun: true });
    return { category: 'webhook', cluster: c.name, name, result: 'fail', message: 'an IssuedCertificate whose spec.org contradicts spec.certOptions.orgName was admitted: the webhook is not enforcing' };
  } catch (err) {
    const msg = errorMessage(err);
    if (err instanceof ApiError && /admission webhook/i.test(msg)) {
      return { category: 'webhook', cluster: c.name, name, result: 'pass', message: 'the webhook denied a contradictory IssuedCertificate (dry run)' };
    }
    if (err instanceof ApiError && /failed calling webhook/i.test(msg)) {
      return { category: 'webhook', cluster: c.name, name, result: 'fail', message: `the API server could not call the webhook: ${msg}` };
    }
    return { category: 'webhook', cluster: c.name, name, result: 'fail', message: `the dry run failed without a webhook denial: ${msg}` };
  }
}

function text(b64: string | undefined): string {
  return b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
}

function validityLines(category: string, cluster: string, what: string, pems: { role: string; pem: string }[], now: number): CheckLine[] {
  return pems.map(({ role, pem }) => {
    const c = pki.parseCertificate(pem);
    const left = daysLeft(c.notAfter.toISOString(), now);
    const name = `${what} ${role}`;
    const base = { category, cluster, name };
    if (left < 0) return { ...base, result: 'fail' as const, message: `${role} "${c.subjectText}" expired on ${c.notAfter.toISOString()}` };
    if (left < MIN_DAYS) return { ...base, result: 'warn' as const, message: `${role} "${c.subjectText}" expires in ${left} days (< ${MIN_DAYS})` };
    return { ...base, result: 'pass' as const, message: `${role} "${c.subjectText}" is valid for ${left} more days` };
  });
}

interface SigningInfo { ref: Ref; rootPems: string[] }

async function signingSecrets(set: ClusterSet, opts: CheckOptions, icsByCluster: Map<string, Ic[]>): Promise<Map<string, Ref>> {
  const refs = new Map<string, Ref>();
  if (opts.rootSecret) refs.set(`${opts.rootSecret.namespace}/${opts.rootSecret.name}`, opts.rootSecret);
  for (const ics of icsByCluster.values()) {
    for (const ic of ics) {
      const s = ic.spec?.glooMeshCa?.signingCertificateSecret ?? ic.spec?.signingCertificateSecret;
      if (s?.name) {
        const ref = { namespace: s.namespace || ic.metadata.namespace || 'default', name: s.name };
        refs.set(`${ref.namespace}/${ref.name}`, ref);
      }
    }
  }
  void set;
  return refs;
}

export async function runChecks(set: ClusterSet, opts: CheckOptions, now = Date.now()): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const manifests = await loadManifestCrds(opts.crdDir);
  const icsByCluster = new Map<string, Ic[]>();

  // Per cluster, concurrently: reachability, CRDs, webhooks, dry run; IssuedCertificates for later.
  const perCluster = await Promise.all(
    set.all.map(async (c): Promise<CheckLine[]> => {
      let k8s: K8s;
      try {
        k8s = await c.client();
        const v = await k8s.version();
        const out: CheckLine[] = [{ category: 'clusters', cluster: c.name, name: 'reachable', result: 'pass', message: `API server ${c.server} answers (${v})` }];
        out.push(...(await checkCrds(c, k8s, manifests)));
        const crdsOk = !out.some((l) => l.category === 'CRDs' && l.result === 'fail');
        out.push(...(await checkWebhooks(c, k8s, now)));
        if (crdsOk) out.push(await checkDryRun(c, k8s, opts.dryRunNamespace));
        if (crdsOk) icsByCluster.set(c.name, await k8s.list<Ic>(resourceOf('IssuedCertificate'), undefined));
        return out;
      } catch (err) {
        return [{ category: 'clusters', cluster: c.name, name: 'reachable', result: 'fail', message: errorMessage(err) }];
      }
    }),
  );
  for (const l of perCluster) lines.push(...l);
  const reachable = new Set(lines.filter((l) => l.name === 'reachable' && l.result === 'pass').map((l) => l.cluster));

  // Signing Secrets (roots and intermediates) in the management cluster.
  const signing = new Map<string, SigningInfo>();
  if (reachable.has(set.mgmt.name)) {
    const mk8s = await set.mgmt.client();
    const refs = await signingSecrets(set, opts, icsByCluster);
    if (refs.size === 0) {
      lines.push({ category: 'roots', cluster: set.mgmt.name, name: 'signing Secrets', result: 'warn', message: 'no IssuedCertificate names a signing Secret and no --root-secret was given: nothing to check' });
    }
    for (const ref of refs.values()) {
      const what = `Secret ${ref.namespace}/${ref.name}`;
      try {
        const s = await mk8s.findSecret(ref.namespace, ref.name);
        if (!s) {
          lines.push({ category: 'roots', cluster: set.mgmt.name, name: what, result: 'fail', message: `signing ${what} does not exist` });
          continue;
        }
        const v = pki.verifySigningSecret(s.data ?? {});
        if (!v.ok) {
          lines.push({ category: 'roots', cluster: set.mgmt.name, name: what, result: 'fail', message: `signing ${what} does not verify: ${v.error}` });
          continue;
        }
        signing.set(`${ref.namespace}/${ref.name}`, { ref, rootPems: v.rootPems });
        const certs = [{ role: 'CA certificate', pem: v.caCertPem }, ...v.rootPems.filter((r) => r.trim() !== v.caCertPem.trim()).map((pem) => ({ role: 'root', pem }))];
        lines.push(...validityLines('roots', set.mgmt.name, what, certs, now));
      } catch (err) {
        lines.push({ category: 'roots', cluster: set.mgmt.name, name: what, result: 'fail', message: errorMessage(err) });
      }
    }
  }

  // Every managed cluster's cacerts: valid, and chaining to the current root of its issuer.
  await Promise.all(
    set.managed.filter((c) => reachable.has(c.name)).map(async (c) => {
      const what = `Secret ${opts.cacerts.namespace}/${opts.cacerts.name}`;
      const push = (result: Result, message: string, name = what) => lines.push({ category: 'cacerts', cluster: c.name, name, result, message });
      try {
        const k8s = await c.client();
        const s = await k8s.findSecret(opts.cacerts.namespace, opts.cacerts.name);
        if (!s) return push('warn', `${what} does not exist: the cluster has no mesh intermediate yet`);
        const ic = (icsByCluster.get(c.name) ?? []).find((i) => i.spec?.issuedCertificateSecret?.name === opts.cacerts.name && (i.spec.issuedCertificateSecret.namespace || i.metadata.namespace) === opts.cacerts.namespace);
        const sref = ic ? ic.spec?.glooMeshCa?.signingCertificateSecret ?? ic.spec?.signingCertificateSecret : undefined;
        const key = opts.rootSecret ? `${opts.rootSecret.namespace}/${opts.rootSecret.name}` : sref?.name ? `${sref.namespace || ic!.metadata.namespace}/${sref.name}` : undefined;
        const current = key ? signing.get(key) : signing.size === 1 ? [...signing.values()][0] : undefined;
        const caPem = certPems(text(s.data?.['ca-cert.pem']))[0];
        if (!caPem) return push('fail', `${what} has no ca-cert.pem (expected the Istio cacerts layout)`);
        lines.push(...validityLines('cacerts', c.name, what, [{ role: 'intermediate', pem: caPem }], now));
        if (!current) return push('warn', `no current root known for ${what} (no IssuedCertificate writes it; pass --root-secret)`, `${what} chain`);
        const chain = certPems(text(s.data?.['cert-chain.pem']));
        const r = pki.verifyChain({ certPem: caPem, chainPems: chain.slice(1), rootPems: current.rootPems });
        if (r.ok) push('pass', `chains to the current root (Secret ${current.ref.namespace}/${current.ref.name})`, `${what} chain`);
        else push('fail', `does not chain to the current root (Secret ${current.ref.namespace}/${current.ref.name}): ${r.error}`, `${what} chain`);
      } catch (err) {
        push('fail', errorMessage(err));
      }
    }),
  );
  const order = ['clusters', 'CRDs', 'webhook', 'roots', 'cacerts'];
  const clusterOrder = set.all.map((c) => c.name);
  return lines.sort((a, b) => order.indexOf(a.category) - order.indexOf(b.category) || clusterOrder.indexOf(a.cluster) - clusterOrder.indexOf(b.cluster));
}

const SYMBOL: Record<Result, string> = { pass: '√', warn: '‼', fail: '×' };

export function renderChecks(lines: CheckLine[]): string {
  const out: string[] = [];
  let cat = '';
  for (const l of lines) {
    if (l.category !== cat) {
      if (cat) out.push('');
      cat = l.category;
      out.push(cat, '-'.repeat(cat.length));
    }
    out.push(`${SYMBOL[l.result]} [${l.cluster}] ${l.message}`);
  }
  const fails = lines.filter((l) => l.result === 'fail').length;
  const warns = lines.filter((l) => l.result === 'warn').length;
  out.push('', fails ? `Status check results are × (${fails} failed, ${warns} warnings)` : `Status check results are √${warns ? ` (${warns} warnings)` : ''}`);
  return `${out.join('\n')}\n`;
}
