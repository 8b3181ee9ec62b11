// What an IssuedCertificate's issued Secret must hold right now, read from the management
// cluster: the signer (its certificate, key and chain) and the exact set of roots to trust. The
// issuer signs from it, and the agent compares the issued Secret itself against it: a Secret that
// does not hold this plan is issued again, whatever the status or the spec's generation say.
import { createHash } from 'node:crypto';
import { certificatesIn, parseCertificate, verifyChain } from '#schemas/x509/index.js';
import type { ClusterApi } from '../cluster-api.js';
import type { IssuedCertificate, ObjectRef } from '../objects.js';
import { refString } from '../objects.js';
import { loadSigningSecret, normPem, SigningError, uniquePems, type SigningMaterial } from './signing-secret.js';
import { signingPlan } from './signing-plan.js';

export interface PlanMaterial {
  signer: SigningMaterial;
  /** The signer's chain above its certificate, up to and including its root (may be empty for a root signer). */
  signerChain: string[];
  /** Every root the issued root-cert.pem must hold, the signer's own first; each once. */
  rootPems: string[];
  /** Names this plan: the signer's certificate and the set of roots. Equal plans, equal digests. */
  digest: string;
}

export type SigningCache = Map<string, Promise<SigningMaterial>>;

export { normPem };

function fingerprint(pem: string): string {
  return createHash('sha256').update(normPem(pem)).digest('hex');
}

/** The digest of a signer certificate and a root set (order does not matter). */
export function planDigest(signerCertPem: string, rootPems: string[]): string {
  const roots = [...new Set(rootPems.map(fingerprint))].sort();
  return createHash('sha256').update(fingerprint(signerCertPem)).update(roots.join(',')).digest('hex').slice(0, 32);
}

/** The chain from the signer up to the root that anchors it, the signer excluded. */
export function chainAbove(m: SigningMaterial): string[] {
  const v = verifyChain({ certPem: m.caCertPem, chainPems: m.chainPems, rootPems: m.rootPems });
  const path = v.ok ? v.path.map((c) => c.pem) : [m.caCertPem, ...m.chainPems];
  return uniquePems(path.slice(1)).map((p) => p.trim());
}

function loader(mgmt: ClusterApi, cache: SigningCache | undefined) {
  return (ref: ObjectRef): Promise<SigningMaterial> => {
    const key = refString(ref);
    let p = cache?.get(key);
    if (!p) {
      p = loadSigningSecret(mgmt, ref);
      cache?.set(key, p);
      p.catch(() => cache?.delete(key));
    }
    return p;
  };
}

/** The plan for `ic` now; SigningError when it cannot be made (a transient error is thrown as is). */
export async function loadPlan(mgmt: ClusterApi, ic: IssuedCertificate, cache?: SigningCache): Promise<PlanMaterial> {
  const plan = signingPlan(ic);
  if ('error' in plan) throw new SigningError(plan.error);
  const load = loader(mgmt, cache);
  const [signer, trusted] = await Promise.all([load(plan.signer), Promise.all(plan.trust.map(load))]);
  const signerChain = chainAbove(signer);
  // The signer's own root(s) first: readers that take only the first root still find the issuer.
  const rootPems = uniquePems([
    ...signer.rootPems,
    ...trusted.flatMap((t) => t.rootPems),
    ...plan.bridgeRootPems.flatMap((p) => certificatesIn(p)),
  ]).map((p) => p.trim());
  return { signer, signerChain, rootPems, digest: planDigest(signer.caCertPem, rootPems) };
}

/** One line for a root, as status and errors show it. */
export function rootLabel(pem: string): string {
  try {
    const c = parseCertificate(pem);
    return `"${c.subjectText}" (sha256 ${c.fingerprintSha256.slice(0, 16)}…)`;
  } catch {
    return 'an unreadable certificate';
  }
}
