// The webhook's own two configurations: the CA bundle into every webhook's caBundle (--tls-mode
// self), and the validating webhook armed (failurePolicy Fail) once the caBundle in place
// verifies the certificate this webhook serves and it answers reviews (every mode).
//
// Why arming: the configurations ship with failurePolicy Ignore, so that from `kubectl apply`
// until the webhook serves with a trusted certificate, writes of our kinds pass unvalidated
// instead of failing (no endpoints, an unknown CA). The leader switches the validating webhook to
// Fail once it is safe; until then, and for at most one check interval after a re-apply of the
// manifests resets it, the webhook stays out of the way. The mutating webhook stays Ignore (its
// mapping is a convenience).
//
// The certificate served is also published as an annotation on each configuration (public, no
// key), so `kubectl mesh-cert check` can read its expiry with no access to the Secret.
//
// Each change is one JSON patch per configuration whose `test` operations pin the webhook names at
// the indexes it edits, so an edit made meanwhile by someone else fails the patch instead of
// landing on the wrong webhook; the next check tries again.
import { ok, type ApiStatus } from '../kube-api.js';
import type { KubeApi } from './kube-api.js';
import { signedBy } from './certificates.js';
import { splitBundle } from './plan.js';
import { SERVING_CERTIFICATE_ANNOTATION } from '#schemas/src/annotations.js';
import { jsonPointer } from '#schemas/src/object-path.js';

export interface WebhookConfigurationNames {
  validating?: string;
  mutating?: string;
}

interface Configuration {
  metadata: { name: string; annotations?: Record<string, string> };
  webhooks?: { name: string; failurePolicy?: string; clientConfig?: { caBundle?: string } }[];
}

export interface ConfigurationsResult {
  /** What was changed, one phrase each. */
  changes: string[];
  /** Every webhook of both configurations carries exactly the wanted bundle. */
  bundleInPlace: boolean;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

export async function reconcileWebhookConfigurations(
  api: KubeApi,
  names: WebhookConfigurationNames,
  want: {
    /** PEM CA bundle to inject; undefined: leave caBundle to someone else (files mode). */
    caBundle?: string;
    /** The certificate served now, and whether reviews are answered: both needed to arm. */
    servingCertPem: string;
    serving: boolean;
  },
): Promise<ConfigurationsResult> {
  const changes: string[] = [];
  // set only once every patch below has gone through (a failed one throws)
  const bundleInPlace = want.caBundle !== undefined;
  for (const [kind, name] of [
    ['validating', names.validating],
    ['mutating', names.mutating],
  ] as const) {
    if (!name) continue;
    const path = `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations/${name}`;
    const what = `${kind === 'validating' ? 'ValidatingWebhookConfiguration' : 'MutatingWebhookConfiguration'} ${name}`;
    const config = ok<Configuration>(`get ${what}`, await api.call<Configuration | ApiStatus>('GET', path));
    const ops: object[] = [];
    const did: string[] = [];
    (config.webhooks ?? []).forEach((w, i) => {
      const mine: object[] = [];
      let bundle = unb64(w.clientConfig?.caBundle);
      if (want.caBundle !== undefined && bundle !== want.caBundle) {
        mine.push({
          op: 'add',
          path: w.clientConfig ? `/webhooks/${i}/clientConfig/caBundle` : `/webhooks/${i}/clientConfig`,
          value: w.clientConfig ? b64(want.caBundle) : { caBundle: b64(want.caBundle) },
        });
        bundle = want.caBundle;
        did.push(`caBundle of ${w.name}`);
      }
      const trusted = want.servingCertPem !== '' && splitBundle(bundle).some((ca) => signedBy(want.servingCertPem, ca));
      if (kind === 'validating' && w.failurePolicy !== 'Fail' && want.serving && trusted) {
        mine.push({ op: 'replace', path: `/webhooks/${i}/failurePolicy`, value: 'Fail' });
        did.push(`failurePolicy Fail on ${w.name}`);
      }
      if (mine.length) ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: w.name }, ...mine);
    });
    if (
      want.servingCertPem !== '' &&
      config.metadata.annotations?.[SERVING_CERTIFICATE_ANNOTATION] !== want.servingCertPem
    ) {
      ops.push(
        config.metadata.annotations
          ? {
              op: 'add',
              path: jsonPointer(['metadata', 'annotations', SERVING_CERTIFICATE_ANNOTATION]),
              value: want.servingCertPem,
            }
          : {
              op: 'add',
              path: '/metadata/annotations',
              value: { [SERVING_CERTIFICATE_ANNOTATION]: want.servingCertPem },
            },
      );
      did.push(`annotation ${SERVING_CERTIFICATE_ANNOTATION}`);
    }
    if (ops.length) {
      ok(`patch ${what}`, await api.call<Configuration | ApiStatus>('PATCH', path, ops, 'application/json-patch+json'));
      changes.push(`${what}: ${did.join(', ')}`);
    }
  }
  return { changes, bundleInPlace };
}
