// The issuer role: on the management cluster's signing Secrets, answer a managed cluster's
// CertificateRequest. It reads the CSR (never a private key of the managed cluster) and writes
// the signed intermediate, the trust bundle and the chain into the request's status.
import { PkiError, signIntermediate, verifyChain, verifySigningSecret } from '../../../../schemas/pki/index.js';
import type { ClusterApi } from '../cluster-api.js';
import type { CertificateRequest, IssuedCertificate, ObjectRef } from '../objects.js';
import { refString } from '../objects.js';
import { fromB64, toB64 } from '../b64.js';
import { generationOf } from './decide.js';
import { signingPlan } from './signing-plan.js';

/** A signing Secret read and verified, by reference. */
export interface SigningMaterial {
  caCertPem: string;
  caKeyPem: string;
  rootPems: string[];
  chainPems: string[];
}

/** An answer the issuer writes as FAILED: the request cannot be signed as it stands. */
export class SigningError extends Error {
  override name = 'SigningError';
}

export async function loadSigningSecret(mgmt: ClusterApi, ref: ObjectRef): Promise<SigningMaterial> {
  const secret = await mgmt.getSecret(ref.namespace, ref.name);
  if (!secret) throw new SigningError(`signing Secret ${refString(ref)} not found in the management cluster "${mgmt.name}"`);
  const v = verifySigningSecret(secret.data ?? {});
  if (!v.ok) throw new SigningError(`signing Secret ${refString(ref)}: ${v.error}`);
  return { caCertPem: v.caCertPem, caKeyPem: v.caKeyPem, rootPems: v.rootPems, chainPems: v.chainPems };
}

const norm = (pem: string) => pem.replace(/\s+/g, '');

/** Root PEMs in order, each once. */
export function uniquePems(pems: string[]): string[] {
  const seen = new Set<string>();
  return pems.filter((p) => {
    const k = norm(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The chain from the signer up to the root that anchors it: what follows the issued cert. */
export function signerChain(m: SigningMaterial): string[] {
  const v = verifyChain({ certPem: m.caCertPem, chainPems: m.chainPems, rootPems: m.rootPems });
  const path = v.ok ? v.path.map((c) => c.pem) : [m.caCertPem, ...m.chainPems];
  return uniquePems(path).map((p) => p.trim());
}

export interface SignOptions {
  /** Cache of signing material for one run (many requests share a signer). */
  cache?: Map<string, Promise<SigningMaterial>>;
  now?: Date;
}

/** Signs the request, or throws SigningError (written as FAILED) / a transient error (retried). */
export async function signRequest(mgmt: ClusterApi, ic: IssuedCertificate, cr: CertificateRequest, opts: SignOptions = {}): Promise<CertificateRequest['status']> {
  const plan = signingPlan(ic);
  if ('error' in plan) throw new SigningError(plan.error);
  const load = (ref: ObjectRef) => {
    const key = refString(ref);
    let p = opts.cache?.get(key);
    if (!p) {
      p = loadSigningSecret(mgmt, ref);
      opts.cache?.set(key, p);
      p.catch(() => opts.cache?.delete(key));
    }
    return p;
  };
  const signer = await load(plan.signer);
  const trusted = await Promise.all(plan.trust.map(load));
  const csrPem = fromB64(cr.spec.certificateSigningRequest);
  let signed: string;
  try {
    // signIntermediate parses and verifies the CSR itself; what it finds wrong there is the request's.
    signed = signIntermediate({
      csrPem,
      issuerCertPem: signer.caCertPem,
      issuerKeyPem: signer.caKeyPem,
      hosts: ic.spec.hosts ?? [],
      ttlDays: ic.spec.certOptions?.ttlDays || 365,
      now: opts.now,
    });
  } catch (err) {
    if (err instanceof PkiError && err.input === 'csrPem') throw new SigningError(`spec.certificateSigningRequest: Invalid value: ${err.message}`);
    throw err;
  }
  // The signer's own root(s) first: readers that take only the first root still find the issuer.
  const roots = uniquePems([...signer.rootPems, ...trusted.flatMap((t) => t.rootPems)]).map((p) => p.trim());
  const chain = [signed.trim(), ...signerChain(signer)];
  return {
    ...(cr.status ?? {}),
    state: 'FINISHED',
    observedGeneration: generationOf(cr),
    signedCertificate: toB64(signed.trim() + '\n'),
    signingRootCa: toB64(roots.join('\n') + '\n'),
    certChain: toB64(chain.join('\n') + '\n'),
    error: undefined,
  };
}

/** One issuer pass over a request: FINISHED with the signed chain, or FAILED with the reason. */
export async function issue(managed: ClusterApi, mgmt: ClusterApi, ic: IssuedCertificate, cr: CertificateRequest, opts: SignOptions = {}): Promise<'signed' | 'failed'> {
  let status: NonNullable<CertificateRequest['status']>;
  let outcome: 'signed' | 'failed' = 'signed';
  try {
    status = (await signRequest(mgmt, ic, cr, opts))!;
    delete status.error;
  } catch (err) {
    if (!(err instanceof SigningError)) throw err;
    outcome = 'failed';
    status = { ...(cr.status ?? {}), state: 'FAILED', error: err.message, observedGeneration: generationOf(cr) };
  }
  await managed.replaceCustomStatus('CertificateRequest', { ...cr, status });
  return outcome;
}

