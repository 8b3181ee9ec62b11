// The issued Secret judged against the plan (plan-material.ts): the Secret is the truth, not the
// IssuedCertificate's status. Istio reads this Secret; if it does not hold exactly the roots of
// the plan and an intermediate signed by the plan's signer with its own key, it must be issued
// again.
import { certificatesIn, PkiError, privateKeyMatchesCert, verifyChain } from '#schemas/x509/index.js';
import type { Secret } from '../objects.js';
import { secretText } from '#schemas/x509/pem.js';
import { ISTIO_PREFERRED_KEYS, LABEL_MANAGED_BY, MANAGED_BY } from '../resources.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { normPem, rootLabel, type PlanMaterial } from './plan-material.js';

/** Why the Secret does not hold the plan, or undefined when it does. */
export function issuedSecretMismatch(
  secret: Secret | undefined,
  plan: PlanMaterial,
  at: Date = new Date(),
): string | undefined {
  if (!secret) return 'the issued Secret does not exist';
  const data = secret.data ?? {};
  const preferred = ISTIO_PREFERRED_KEYS.filter((k) => data[k] !== undefined);
  if (preferred.length)
    return `the issued Secret holds ${preferred.join(', ')}, which Istio 1.15 and later load in preference to ${ISTIO_KEYS.caCert}`;
  const missing = Object.values(ISTIO_KEYS).filter((k) => !data[k]);
  if (missing.length) return `the issued Secret lacks ${missing.join(', ')}`;
  let text: Record<(typeof ISTIO_KEYS)[keyof typeof ISTIO_KEYS], string>;
  try {
    text = Object.fromEntries(Object.values(ISTIO_KEYS).map((k) => [k, secretText(secret, k)])) as typeof text;
  } catch (err) {
    if (err instanceof PkiError) return err.message;
    throw err;
  }
  const caCert = text[ISTIO_KEYS.caCert];
  const held = certificatesIn(text[ISTIO_KEYS.rootCert]);
  const want = new Set(plan.rootPems.map(normPem));
  const have = new Set(held.map(normPem));
  const extra = held.filter((p) => !want.has(normPem(p)));
  const lacking = plan.rootPems.filter((p) => !have.has(normPem(p)));
  if (extra.length || lacking.length) {
    const parts = [
      lacking.length ? `lacks ${lacking.map(rootLabel).join(', ')}` : '',
      extra.length ? `still trusts ${extra.map(rootLabel).join(', ')}` : '',
    ].filter(Boolean);
    return `${ISTIO_KEYS.rootCert} ${parts.join(' and ')}`;
  }
  const signed = verifyChain({ certPem: caCert, chainPems: [], rootPems: [plan.signer.caCertPem], at });
  if (!signed.ok)
    return `${ISTIO_KEYS.caCert} is not an intermediate of the signer ${rootLabel(plan.signer.caCertPem)}: ${signed.error}`;
  const chain = certificatesIn(text[ISTIO_KEYS.certChain]);
  if (!chain.length || normPem(chain[0]!) !== normPem(caCert))
    return `${ISTIO_KEYS.certChain} does not start with ${ISTIO_KEYS.caCert}`;
  try {
    if (!privateKeyMatchesCert(text[ISTIO_KEYS.caKey], caCert))
      return `${ISTIO_KEYS.caKey} does not match ${ISTIO_KEYS.caCert}`;
  } catch (err) {
    if (err instanceof PkiError) return `${ISTIO_KEYS.caKey}: ${err.message}`;
    throw err;
  }
  return undefined;
}

/** mesh-cert wrote this Secret (its label): it may replace it without asking. */
export function isOurs(secret: Secret): boolean {
  return secret.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

/** The Secret holds a CA of someone else's (a key or a CA certificate under any layout Istio reads). */
export function holdsForeignCa(secret: Secret | undefined): boolean {
  if (!secret || isOurs(secret)) return false;
  const data = secret.data ?? {};
  return [ISTIO_KEYS.caCert, ISTIO_KEYS.caKey, ...ISTIO_PREFERRED_KEYS, 'key.pem'].some((k) => !!data[k]);
}
