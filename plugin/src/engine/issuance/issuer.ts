// The issuer role: on the management cluster's signing Secrets, answer a managed cluster's
// CertificateRequest. It reads the CSR (never a private key of the managed cluster) and writes
// the signed intermediate and the trust bundle into the request's status, as Gloo Mesh's issuer
// does: `signingRootCa` holds the signer's chain above the signed certificate (the signer first
// when it is an intermediate) followed by every root to trust. No field beyond Gloo Mesh's.
import { PkiError, signIntermediate } from '#schemas/x509/index.js';
import type { ClusterApi } from '../cluster-api.js';
import type { CertificateRequest, IssuedCertificate } from '../objects.js';
import { base64Text, textBase64 } from '#schemas/x509/pem.js';
import { generationOf } from './decide.js';
import { loadPlan, type PlanMaterial, type SigningCache } from './plan-material.js';
import { normPem, SigningError, uniquePems } from './signing-secret.js';

export { SigningError, loadSigningSecret, uniquePems, type SigningMaterial } from './signing-secret.js';

export interface SignOptions {
  /** Cache of signing material for one run (many requests share a signer). */
  cache?: SigningCache;
  /** The plan already loaded for this IssuedCertificate (drive.ts reads it to judge the Secret). */
  plan?: PlanMaterial;
  now?: Date;
}

/** The bundle the issuer writes as signingRootCa: intermediates above the signed cert, then the roots. */
export function signingRootCaOf(plan: PlanMaterial): string[] {
  const roots = new Set(plan.rootPems.map(normPem));
  const intermediates = [plan.signer.caCertPem.trim(), ...plan.signerChain].filter((p) => !roots.has(normPem(p)));
  return uniquePems([...intermediates, ...plan.rootPems]);
}

/** Signs the request, or throws SigningError (written as FAILED) / a transient error (retried). */
export async function signRequest(
  mgmt: ClusterApi,
  ic: IssuedCertificate,
  cr: CertificateRequest,
  opts: SignOptions = {},
): Promise<CertificateRequest['status']> {
  const plan = opts.plan ?? (await loadPlan(mgmt, ic, opts.cache));
  let signed: string;
  try {
    const csrPem = base64Text(cr.spec.certificateSigningRequest, 'csrPem');
    // signIntermediate parses and verifies the CSR itself; what it finds wrong there is the request's.
    signed = signIntermediate({
      csrPem,
      issuerCertPem: plan.signer.caCertPem,
      issuerKeyPem: plan.signer.caKeyPem,
      hosts: ic.spec.hosts ?? [],
      ttlDays: ic.spec.certOptions?.ttlDays || 365,
      now: opts.now,
    });
  } catch (err) {
    if (err instanceof PkiError && err.input === 'csrPem')
      throw new SigningError(`spec.certificateSigningRequest: Invalid value: ${err.message}`);
    throw err;
  }
  // Written whole: a field an earlier mesh-cert wrote (certChain) is no field of Gloo Mesh's.
  return {
    state: 'FINISHED',
    observedGeneration: generationOf(cr),
    signedCertificate: textBase64(signed.trim() + '\n'),
    signingRootCa: textBase64(signingRootCaOf(plan).join('\n') + '\n'),
  };
}

/** One issuer pass over a request: FINISHED with the signed certificate, or FAILED with the reason. */
export async function issue(
  managed: ClusterApi,
  mgmt: ClusterApi,
  ic: IssuedCertificate,
  cr: CertificateRequest,
  opts: SignOptions = {},
): Promise<'signed' | 'failed'> {
  let status: NonNullable<CertificateRequest['status']>;
  let outcome: 'signed' | 'failed' = 'signed';
  try {
    status = (await signRequest(mgmt, ic, cr, opts))!;
  } catch (err) {
    if (!(err instanceof SigningError)) throw err;
    outcome = 'failed';
    status = { state: 'FAILED', error: err.message, observedGeneration: generationOf(cr) };
  }
  await managed.replaceCustomStatus('CertificateRequest', { ...cr, status });
  return outcome;
}
