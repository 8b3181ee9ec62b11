// Roots to keep trusting through a step: the anchors of the intermediates the clusters hold when
// the step begins. Normally these are among the step's own roots and change nothing; after an
// earlier rotation failed or was deleted half-way, some cluster may still hold an intermediate of
// a root this rotation does not name, and every cluster must trust it until none uses it.
import { splitPem, verifyChainDetailed } from '#schemas/x509/index.js';
import { uniquePems } from '../issuance/signing-secret.js';
import { normPem } from '../issuance/plan-material.js';
import type { IssuedMaterial } from './trust-check.js';

/** The root that anchors a cluster's intermediate: the top of its path to its own roots. */
export function anchorOf(m: IssuedMaterial): string | undefined {
  // Only which root anchors the path matters: nothing on it needs decoding into text.
  const v = verifyChainDetailed({
    certPem: m.caCertPem,
    chainPems: m.chainPems,
    rootPems: m.rootPems,
    decodePath: false,
  });
  if (v.ok) return splitPem(m.rootPems[v.rootIndex]!)[0]!.pem.trim();
  return m.chainPems.length ? m.chainPems[m.chainPems.length - 1]!.trim() : undefined;
}

export function bridgeRoots(held: IssuedMaterial[]): string[] {
  return uniquePems(held.map(anchorOf).filter((p): p is string => !!p));
}

/** Clusters that do not trust any of `signerRoots` now: re-issuing from that signer would cut them off. */
export function clustersNotTrusting(held: IssuedMaterial[], signerRoots: string[]): string[] {
  const want = new Set(signerRoots.map(normPem));
  return [...new Set(held.filter((m) => !m.rootPems.some((p) => want.has(normPem(p)))).map((m) => m.cluster))].sort();
}
