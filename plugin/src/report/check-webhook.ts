// `check`'s webhook checks: the webhook configurations that route the mesh-cert kinds (caBundle,
// serving certificate: check-serving-cert.ts), and a dry-run write only the webhook refuses.
import { X509Certificate } from 'node:crypto';
import type { Cluster } from '../lib/clusters.js';
import { ApiError, errorMessage } from '../lib/errors.js';
import type { K8s, KObject } from '../lib/k8s.js';
import { KINDS, resourceOf } from '../lib/kinds.js';
import { certPems, daysLeft, fromBase64 } from '../lib/certs.js';
import { CHECK_PROBE_PREFIX, SERVING_CERTIFICATE_ANNOTATION } from '#schemas/src/annotations.js';
import { textBase64 } from '#schemas/x509/pem.js';
import { PkiError } from '#schemas/x509/errors.js';
import { CHECKS, line, MIN_DAYS, TLS_FIX, type CheckLine, type Result } from './check-table.js';
import {
  evaluateServingCert,
  handshakeCerts,
  serviceServingCert,
  type ServiceRef,
  type ServingCert,
} from './check-serving-cert.js';

interface WebhookEntry {
  name: string;
  clientConfig?: { url?: string; caBundle?: string; service?: ServiceRef };
  rules?: { apiGroups?: string[] }[];
}

const GROUPS = new Set(KINDS.map((k) => k.group));

export async function checkWebhooks(c: Cluster, k8s: K8s, now: number): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const W = CHECKS.webhookConfig;
  // One read per endpoint: the validating and mutating webhooks are usually the same server.
  const served = new Map<string, Promise<ServingCert>>();
  const servingCert = (w: WebhookEntry, cfg: KObject, kind: string): Promise<ServingCert> | undefined => {
    const url = w.clientConfig?.url;
    const svc = w.clientConfig?.service;
    const key = url ? new URL(url).host : svc ? `${svc.namespace}/${svc.name}` : undefined;
    if (!key) return undefined;
    // A Service-registered webhook's pods cannot be reached from here; the certificate it
    // published on its configuration needs no access to its Secret (schemas/src/annotations.ts).
    const published = certPems(cfg.metadata.annotations?.[SERVING_CERTIFICATE_ANNOTATION] ?? '');
    if (!served.has(key)) {
      served.set(
        key,
        url
          ? handshakeCerts(url).then((pems) => ({
              pems,
              source: `TLS handshake with ${new URL(url).host}`,
              host: new URL(url).hostname.replace(/^\[|\]$/g, ''),
            }))
          : published.length
            ? Promise.resolve({
                pems: published,
                source: `published by the webhook on ${kind}WebhookConfiguration ${cfg.metadata.name}`,
                host: `${svc!.name}.${svc!.namespace}.svc`,
              })
            : serviceServingCert(k8s, svc!),
      );
    }
    return served.get(key);
  };
  for (const kind of ['Validating', 'Mutating'] as const) {
    const configs = await k8s.listWebhookConfigurations(kind);
    const ours = configs.flatMap((cfg) =>
      ((cfg.webhooks as WebhookEntry[] | undefined) ?? [])
        .filter((w) => (w.rules ?? []).some((r) => (r.apiGroups ?? []).some((g) => GROUPS.has(g) || g === '*')))
        .map((w) => ({ cfg: cfg.metadata.name, config: cfg, w })),
    );
    const push = (name: string, result: Result, message: string, hint?: string) =>
      lines.push(line(W, c.name, name, result, message, hint));
    if (ours.length === 0) {
      push(
        `${kind}WebhookConfiguration`,
        'fail',
        `no ${kind}WebhookConfiguration routes the mesh-cert kinds to a webhook (kubectl apply -k manifests/)`,
      );
      continue;
    }
    for (const { cfg, config, w } of ours) {
      const name = `${kind}WebhookConfiguration ${cfg} / ${w.name}`;
      const svc = w.clientConfig?.service;
      const to = w.clientConfig?.url ?? (svc ? `service ${svc.namespace}/${svc.name}` : undefined);
      if (!to) {
        push(name, 'fail', 'names neither a url nor a service to call');
        continue;
      }
      let caCerts: string[];
      try {
        caCerts = certPems(fromBase64(w.clientConfig?.caBundle, 'clientConfig.caBundle'));
      } catch (err) {
        // The API server could not read it either: a failed line for this webhook, the others still checked.
        if (!(err instanceof PkiError)) throw err;
        push(name, 'fail', err.message, TLS_FIX);
        continue;
      }
      if (caCerts.length === 0) {
        push(name, 'fail', 'has no caBundle: the API server cannot verify the webhook', TLS_FIX);
        continue;
      }
      const caLeft = Math.min(...caCerts.map((p) => daysLeft(new X509Certificate(p).validTo, now)));
      if (caLeft < 0) push(name, 'fail', `routes the mesh-cert kinds to ${to}; its caBundle has expired`, TLS_FIX);
      else if (caLeft < MIN_DAYS)
        push(
          name,
          'warn',
          `routes the mesh-cert kinds to ${to}; its caBundle expires in ${caLeft} days (< ${MIN_DAYS})`,
          TLS_FIX,
        );
      else push(name, 'pass', `routes the mesh-cert kinds to ${to}; its caBundle is valid for ${caLeft} more days`);
      try {
        lines.push(evaluateServingCert(c.name, name, (await servingCert(w, config, kind))!, caCerts, now));
      } catch (err) {
        // Unread is not bad: the dry-run check still shows whether the API server accepts it.
        lines.push(
          line(
            CHECKS.webhookCert,
            c.name,
            `${name} serving certificate`,
            'warn',
            `the serving certificate of ${to} could not be read: ${errorMessage(err)}`,
            svc
              ? `let check read Deployments and Secrets in namespace ${svc.namespace}, or look yourself: kubectl -n ${svc.namespace} get secret SECRET -o jsonpath='{.data.tls\\.crt}' | base64 -d | openssl x509 -noout -enddate`
              : 'is the webhook running and reachable from here?',
          ),
        );
      }
    }
  }
  return lines;
}

/**
 * A write only the webhook refuses, as a dry run: a CertificateRequest whose CSR is base64 (the
 * CRD's `format: byte` admits it) but no PEM CSR (the webhook checks the PEM type, the CRD cannot).
 * No Gloo Mesh controller ever writes one, so the webhook must deny it (rule zero is not at stake).
 */
export async function checkDryRun(c: Cluster, k8s: K8s, ns: string): Promise<CheckLine> {
  const name = 'dry-run write is denied by the webhook';
  const D = CHECKS.webhookDryRun;
  const CR = resourceOf('CertificateRequest');
  const body = {
    apiVersion: `${CR.group}/${CR.version}`,
    kind: CR.kind,
    metadata: { name: `${CHECK_PROBE_PREFIX}${Date.now().toString(36)}`, namespace: ns },
    spec: { certificateSigningRequest: textBase64('mesh-cert check: this is not a PEM certificate request') },
  };
  try {
    // Namespace admission runs before webhooks: a missing namespace would hide the webhook.
    const namespaces = await k8s.listNamespaces();
    if (!namespaces.includes(ns) && namespaces.length) {
      ns = namespaces[0];
      body.metadata.namespace = ns;
    }
    await k8s.create(CR, ns, body as never, { dryRun: true });
    return line(
      D,
      c.name,
      name,
      'fail',
      'a CertificateRequest whose spec.certificateSigningRequest is no PEM CSR was admitted: the webhook is not enforcing',
    );
  } catch (err) {
    const msg = errorMessage(err);
    if (err instanceof ApiError && /admission webhook/i.test(msg)) {
      return line(D, c.name, name, 'pass', 'the webhook denied a CertificateRequest whose CSR is no PEM (dry run)');
    }
    if (err instanceof ApiError && /failed calling webhook/i.test(msg)) {
      return line(D, c.name, name, 'fail', `the API server could not call the webhook: ${msg}`);
    }
    return line(D, c.name, name, 'fail', `the dry run failed without a webhook denial: ${msg}`);
  }
}
