// `kubectl mesh-cert version`: this client's version, and in a cluster the webhook's (its pods'
// mesh_cert_webhook_build_info metric, read through the API server's pod proxy) and the CRDs'
// schema versions (storage version and a digest of the versions' schemas, compared with the
// CRDs this client was built with). Pure functions; the command does the calls.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KObject } from '../lib/k8s.js';
import { compareCrd, crdOwner, versionsDigest, type CrdOwner } from './crds.js';

/** The CRDs of manifests/crds, put in by plugin/build.mjs (names, labels, group, versions). */
declare const __MESH_CERT_CRDS__: KObject[] | undefined;

/** The CRDs this client was built with; unbundled (tsx), read from manifests/crds. */
export async function clientCrds(): Promise<KObject[]> {
  if (typeof __MESH_CERT_CRDS__ !== 'undefined') return __MESH_CERT_CRDS__;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'manifests', 'crds')); i++) dir = dirname(dir);
  const crdDir = join(dir, 'manifests', 'crds');
  if (!existsSync(crdDir)) return [];
  const { parseAllDocuments } = await import('yaml');
  return readdirSync(crdDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(crdDir, f), 'utf8')).map((d) => d.toJS() as KObject))
    .filter((o) => o?.kind === 'CustomResourceDefinition' || (o?.spec as { versions?: unknown } | undefined)?.versions);
}

interface CrdVersionSpec {
  name: string;
  served?: boolean;
  storage?: boolean;
}
const versionsOf = (crd: KObject): CrdVersionSpec[] =>
  (crd.spec as { versions?: CrdVersionSpec[] } | undefined)?.versions ?? [];

/** The schema version of a CRD: 12 hex digits of a SHA-256 of its versions (names, served, storage, schemas, subresources). */
export function schemaDigest(crd: KObject): string {
  return createHash('sha256').update(versionsDigest(crd)).digest('hex').slice(0, 12);
}

export interface CrdVersionInfo {
  name: string;
  installed: boolean;
  owner?: CrdOwner;
  /** The storage version the cluster has (e.g. v1). */
  storageVersion?: string;
  servedVersions?: string[];
  /** schemaDigest of the cluster's CRD. */
  schema?: string;
  /** schemaDigest of this client's copy. */
  clientSchema: string;
  /** identical: the same schemas as this client's; compatible: differs, but serves the contract's version with no field typed otherwise; incompatible; missing. */
  match: 'identical' | 'compatible' | 'incompatible' | 'missing';
  detail?: string;
}

/** Each CRD this client knows, as the cluster has it. */
export function crdVersions(installed: KObject[], mine: KObject[]): CrdVersionInfo[] {
  const byName = new Map(installed.map((c) => [c.metadata.name, c]));
  return mine.map((want) => {
    const name = want.metadata.name;
    const clientSchema = schemaDigest(want);
    const got = byName.get(name);
    if (!got) return { name, installed: false, clientSchema, match: 'missing' as const };
    const cmp = compareCrd(got, want);
    const versions = versionsOf(got);
    return {
      name,
      installed: true,
      owner: crdOwner(got).owner,
      storageVersion: versions.find((v) => v.storage)?.name,
      servedVersions: versions.filter((v) => v.served !== false).map((v) => v.name),
      schema: schemaDigest(got),
      clientSchema,
      match: cmp.identical
        ? ('identical' as const)
        : cmp.contract.length
          ? ('incompatible' as const)
          : ('compatible' as const),
      ...(cmp.contract.length ? { detail: cmp.contract.join('; ') } : {}),
    };
  });
}

/** The labels of mesh_cert_webhook_build_info in a Prometheus text exposition, or undefined. */
export function parseBuildInfo(metrics: string): Record<string, string> | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith('mesh_cert_webhook_build_info{'));
  if (!line) return undefined;
  const body = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
  const labels: Record<string, string> = {};
  for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return labels;
}

export interface WebhookPodVersion {
  pod: string;
  phase?: string;
  version?: string;
  nodeVersion?: string;
  image?: string;
  error?: string;
}

export interface WebhookVersion {
  namespace: string;
  selector: string;
  /** The Deployment's image(s), when there is one. */
  images: string[];
  pods: WebhookPodVersion[];
  /** The distinct versions the pods report. */
  versions: string[];
}

/** The port a webhook pod serves /metrics on: its container port named health, else 8080. */
export function healthPort(pod: KObject): number {
  const containers =
    (pod.spec as { containers?: { ports?: { name?: string; containerPort: number }[] }[] } | undefined)?.containers ??
    [];
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === 'health') return p.containerPort;
  return 8080;
}

export interface VersionReport {
  client: { version: string; node: string; platform: string };
  server?: {
    context: string;
    apiServer?: string;
    webhook?: WebhookVersion;
    webhookError?: string;
    crds?: CrdVersionInfo[];
    crdsError?: string;
  };
}

function webhookText(w: WebhookVersion | undefined, err: string | undefined): string {
  if (err) return `unknown (${err})`;
  if (!w) return 'unknown';
  if (!w.pods.length)
    return `not running (no pods ${w.selector} in namespace ${w.namespace}${w.images.length ? `; Deployment image ${w.images.join(', ')}` : ''})`;
  const answered = w.pods.filter((p) => p.version);
  const head = w.versions.length ? w.versions.join(', ') : 'unknown';
  const failed = w.pods.filter((p) => !p.version).map((p) => `${p.pod}: ${p.error ?? 'no answer'}`);
  return `${head} (${answered.length} of ${w.pods.length} pods answered${failed.length ? `; ${failed.join('; ')}` : ''})`;
}

const MATCH_TEXT: Record<CrdVersionInfo['match'], string> = {
  identical: 'same schema as this client',
  compatible: "differs from this client's schema, compatible",
  incompatible: 'INCOMPATIBLE with this client',
  missing: 'not installed',
};

export function renderVersion(r: VersionReport): string {
  const lines = [`Client: mesh-cert ${r.client.version} (node ${r.client.node}, ${r.client.platform})`];
  if (r.server) {
    lines.push(`Context: ${r.server.context}${r.server.apiServer ? ` (kube-apiserver ${r.server.apiServer})` : ''}`);
    lines.push(`Webhook: ${webhookText(r.server.webhook, r.server.webhookError)}`);
    if (r.server.crdsError) lines.push(`CRDs: unknown (${r.server.crdsError})`);
    else {
      lines.push('CRDs:');
      for (const c of r.server.crds ?? []) {
        lines.push(
          c.installed
            ? `  ${c.name}: ${c.storageVersion ?? '?'} schema ${c.schema} (${MATCH_TEXT[c.match]}${c.match === 'identical' ? '' : `: client's ${c.clientSchema}`}${c.detail ? `; ${c.detail}` : ''})`
            : `  ${c.name}: not installed (this client's: ${c.clientSchema})`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
