// `kubectl mesh-cert check` proves the webhook enforces by a dry-run write that only the webhook
// refuses (plugin/src/report/check-webhook.ts, checkDryRun): a CertificateRequest named
// `mesh-cert-check-<time>`, sent with dryRun. Those reviews are counted apart from denials, so a
// check run every few minutes does not show on a denial-rate dashboard or alert.
import { CHECK_PROBE_PREFIX } from '#schemas/src/annotations.js';
import type { Handled } from './admission/handle.js';

export function isCheckProbe(h: Pick<Handled, 'dryRun' | 'kind' | 'name'>): boolean {
  return (
    h.dryRun === true &&
    h.kind === 'CertificateRequest' &&
    h.name !== undefined &&
    h.name.startsWith(CHECK_PROBE_PREFIX)
  );
}
