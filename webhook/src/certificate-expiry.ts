// The expiry of the mesh's intermediates and roots, as Prometheus gauges, as cert-manager exports
// certmanager_certificate_expiration_timestamp_seconds: what operators alert on. Read from the
// CertificateRequests of the cluster the webhook watches (an informer: informer.ts): a FINISHED request's status.signedCertificate is the
// cluster's intermediate CA, and status.signingRootCa the chain above it, the root last. (An
// IssuedCertificate's status holds no certificate: the bytes live on its CertificateRequest.)
//
// Without RBAC to list CertificateRequests the gauge is absent and one warning says which rule
// to add; the list is retried every few minutes in silence, so granting the rule later needs no
// restart, and nothing fails: the metric is an extra, never a reason to stop serving reviews.
import { X509Certificate } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import { KINDS } from '#schemas/src/index.js';
import { certificatesOfField } from '#schemas/src/pem-fields.js';
import { startInformer } from './informer.js';
import { connect } from './kube-api.js';

export const CERTIFICATE_EXPIRY = 'mesh_cert_certificate_expiration_timestamp_seconds';

export type CertificateRole = 'intermediate' | 'root';

export interface CertificateExpiry {
  role: CertificateRole;
  /** Which status field it came from. */
  field: 'signedCertificate' | 'signingRootCa';
  subject: string;
  serial: string;
  notAfterSeconds: number;
}

interface CertificateRequestLike {
  metadata?: { name?: string; namespace?: string };
  status?: { signedCertificate?: unknown; signingRootCa?: unknown };
}

// Parsed certificates by the base64 text they came from: the same roots and chains come back in
// every request and on every scrape.
const parsed = new Map<string, { subject: string; serial: string; notAfterSeconds: number }[]>();

function certificatesOf(base64Text: unknown): { subject: string; serial: string; notAfterSeconds: number }[] {
  if (typeof base64Text !== 'string' || base64Text === '') return [];
  let certs = parsed.get(base64Text);
  if (!certs) {
    certs = [];
    for (const pem of certificatesOfField(base64Text) ?? []) {
      try {
        const x = new X509Certificate(pem);
        certs.push({
          subject: x.subject.replace(/\n/g, ', '),
          serial: x.serialNumber.toLowerCase(),
          notAfterSeconds: Date.parse(x.validTo) / 1000,
        });
      } catch {
        // not a certificate Node can read: admission checks these fields, so only an object
        // written before the webhook ran can hold one; it has no expiry to export
      }
    }
    if (parsed.size > 256) parsed.clear();
    parsed.set(base64Text, certs);
  }
  return certs;
}

/** The certificates of one CertificateRequest's status, each with its role. */
export function certificateExpiries(cr: CertificateRequestLike): CertificateExpiry[] {
  const out: CertificateExpiry[] = certificatesOf(cr.status?.signedCertificate).map((c) => ({
    ...c,
    role: 'intermediate',
    field: 'signedCertificate',
  }));
  const chain = certificatesOf(cr.status?.signingRootCa);
  chain.forEach((c, i) =>
    out.push({ ...c, role: i === chain.length - 1 ? 'root' : 'intermediate', field: 'signingRootCa' }),
  );
  return out;
}

/** Registers the gauge, filled on each scrape from `list()`. */
export function registerCertificateExpiry(registry: Registry, list: () => readonly unknown[]): void {
  new Gauge({
    name: CERTIFICATE_EXPIRY,
    help: "Expiry (notAfter, Unix time) of the mesh's intermediate and root CA certificates, from each CertificateRequest's status (signedCertificate: the cluster's intermediate; signingRootCa: the chain above it, the root last).",
    labelNames: ['namespace', 'name', 'role', 'field', 'subject', 'serial'],
    registers: [registry],
    collect() {
      this.reset();
      for (const item of list()) {
        const cr = item as CertificateRequestLike;
        const namespace = cr.metadata?.namespace ?? '';
        const name = cr.metadata?.name ?? '';
        for (const e of certificateExpiries(cr))
          this.set(
            { namespace, name, role: e.role, field: e.field, subject: e.subject, serial: e.serial },
            e.notAfterSeconds,
          );
      }
    },
  });
}

export interface ExpiryExporterOptions {
  kubeconfig?: string;
  registry: Registry;
  warn(message: string): void;
  /** First retry delay after a failed list or a dropped watch; doubles up to 30 s. */
  retryMs?: number;
  /** Retry delay while the list is forbidden (RBAC). */
  forbiddenRetryMs?: number;
}

export interface ExpiryExporter {
  /** How many CertificateRequests it holds (tests). */
  size(): number;
  stop(): Promise<void>;
}

/**
 * Lists and watches CertificateRequests in every namespace and exports their expiry. Never
 * throws after start: a cluster that cannot be read is a warning, said once until it changes.
 */
export async function startExpiryExporter(opts: ExpiryExporterOptions): Promise<ExpiryExporter> {
  const info = KINDS.find((k) => k.kind === 'CertificateRequest');
  if (!info) throw new Error('schemas: CertificateRequest is missing from KINDS');
  const conn = await connect(opts.kubeconfig);
  const resource = `${info.plural}.${info.group}`;
  let lastWarning: string | undefined;
  const warnOnce = (message: string): void => {
    if (message !== lastWarning) opts.warn(message);
    lastWarning = message;
  };
  const informer = startInformer({
    conn,
    path: `/apis/${info.group}/${info.version}/${info.plural}`,
    kind: 'CertificateRequest',
    retryMs: opts.retryMs,
    forbiddenRetryMs: opts.forbiddenRetryMs ?? 300_000,
    // read again: a warning after a recovery is news
    onChange: () => (lastWarning = undefined),
    onError: (f) =>
      warnOnce(
        f.code === 403
          ? `cannot list and watch ${resource} (forbidden): ${CERTIFICATE_EXPIRY} is not exported; grant the webhook's ServiceAccount list and watch on ${resource} (a ClusterRole rule), or pass --no-certificate-expiry-metrics`
          : `${resource} list/watch for ${CERTIFICATE_EXPIRY} failed (${f.reason.slice(0, 200)}); retrying`,
      ),
  });
  registerCertificateExpiry(opts.registry, informer.list);
  return {
    size: () => informer.list().length,
    async stop() {
      informer.stop();
      conn.agent.destroy();
    },
  };
}
