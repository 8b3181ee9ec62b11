// Annotations and names one part of mesh-cert writes and another reads: named once, here.

/**
 * On the webhook's own Validating/MutatingWebhookConfiguration: the PEM serving certificate the
 * webhook serves now (public; no key), written by its certificate controller's leader whenever it
 * changes. `kubectl mesh-cert check` reads the serving certificate's expiry from it, so an
 * operator needs no access to the webhook's Secret (which holds its keys) or a path to its pods.
 */
export const SERVING_CERTIFICATE_ANNOTATION = 'mesh-cert.solo.io/serving-certificate';

/**
 * The name prefix of the CertificateRequest `kubectl mesh-cert check` writes as a dry run to prove
 * the webhook denies what only it can (plugin/src/report/check-webhook.ts). The webhook counts reviews of
 * such dry-run writes apart from denials (webhook/src/check-probe.ts), so a check run every few
 * minutes does not show on a denial-rate dashboard or alert.
 */
export const CHECK_PROBE_PREFIX = 'mesh-cert-check-';
