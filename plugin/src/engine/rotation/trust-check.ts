// The built-in connectivity check: every cluster's issued intermediate (with its chain) must
// verify against every cluster's root-cert.pem, its own included. That is what mTLS between
// workloads of two clusters needs from the CA side.
// A check is n x n pairs but far fewer verifications: a verdict depends only on the intermediate
// (its certificate and chain) and the bundle (the roots, in order), each keyed once per material
// (KeyedMaterial), and clusters mostly hold the same bundle. TrustVerdicts caches the verdicts;
// checkTrust uses one per call, TrustMonitor keeps one for a whole step.
import { createHash } from 'node:crypto';
import { certificatesIn, verifyChain } from '#schemas/x509/index.js';
import type { ClusterApi } from '../cluster-api.js';
import { secretText } from '#schemas/x509/pem.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { refString } from '../objects.js';
import { issuedSecretRef } from '../issuance/agent.js';
import type { MeshCertificate } from './targets.js';

export interface IssuedMaterial {
  cluster: string;
  secret: string;
  caCertPem: string;
  chainPems: string[];
  rootPems: string[];
}

export interface TrustFailure {
  from: string;
  to: string;
  error: string;
}

export interface TrustReport {
  ok: boolean;
  checked: number;
  failures: TrustFailure[];
  /** One line per cluster: how many peers verified its intermediate. */
  perCluster: Map<string, { verifiedBy: number; of: number }>;
}

const norm = (pem: string) => pem.replace(/\s+/g, '');
const digest = (pems: readonly string[]) => {
  const h = createHash('sha256');
  for (const p of pems) h.update(norm(p)).update('\u0000');
  return h.digest('base64');
};

export async function readIssued(certs: MeshCertificate[]): Promise<IssuedMaterial[]> {
  return Promise.all(
    certs.map(async ({ cluster, ic }: { cluster: ClusterApi; ic: MeshCertificate['ic'] }) => {
      const ref = issuedSecretRef(ic);
      const s = await cluster.getSecret(ref.namespace, ref.name);
      if (!s) throw new Error(`cluster "${cluster.name}": issued Secret ${refString(ref)} not found`);
      const caCertPem = secretText(s, ISTIO_KEYS.caCert);
      const chain = certificatesIn(secretText(s, ISTIO_KEYS.certChain));
      const ca = norm(caCertPem);
      return {
        cluster: cluster.name,
        secret: refString(ref),
        caCertPem,
        chainPems: chain.filter((p) => norm(p) !== ca),
        rootPems: certificatesIn(secretText(s, ISTIO_KEYS.rootCert)),
      };
    }),
  );
}

/** One verification's outcome. */
export type TrustVerdict = ReturnType<typeof verifyChain>;

/** A material with the keys its verdicts are cached under, each computed once. */
export interface KeyedMaterial {
  m: IssuedMaterial;
  /** The intermediate: SHA-256 of its certificate and chain (whitespace aside). */
  intermediate: string;
  /** The bundle: SHA-256 of its roots in their order (whitespace aside). */
  bundle: string;
}

export function keyed(m: IssuedMaterial): KeyedMaterial {
  return { m, intermediate: digest([m.caCertPem, ...m.chainPems]), bundle: digest(m.rootPems) };
}

/** The failure of one pair, in the words every report uses. */
export function trustFailure(a: IssuedMaterial, b: IssuedMaterial, error: string): TrustFailure {
  return {
    from: a.cluster,
    to: b.cluster,
    error: `cluster "${a.cluster}"'s intermediate (${a.secret}) does not verify against cluster "${b.cluster}"'s root-cert.pem: ${error}`,
  };
}

/** Verdicts of intermediates against bundles, each verified once (at `at`, default: when first asked). */
export class TrustVerdicts {
  private readonly cache = new Map<string, Map<string, TrustVerdict>>();
  /** How many verifications ran (the rest were cache hits). */
  verifications = 0;

  constructor(private readonly at?: Date) {}

  /** Does a's intermediate verify against b's bundle? */
  verdict(a: KeyedMaterial, b: KeyedMaterial): TrustVerdict {
    let row = this.cache.get(a.intermediate);
    if (!row) this.cache.set(a.intermediate, (row = new Map()));
    let v = row.get(b.bundle);
    if (!v) {
      this.verifications++;
      v = verifyChain({ certPem: a.m.caCertPem, chainPems: a.m.chainPems, rootPems: b.m.rootPems, at: this.at });
      row.set(b.bundle, v);
    }
    return v;
  }
}

export function checkTrust(material: IssuedMaterial[], at?: Date): TrustReport {
  return checkKeyed(material.map(keyed), new TrustVerdicts(at));
}

/** checkTrust over materials keyed already, with the given verdict cache. */
export function checkKeyed(material: readonly KeyedMaterial[], verdicts: TrustVerdicts): TrustReport {
  const failures: TrustFailure[] = [];
  const perCluster = new Map<string, { verifiedBy: number; of: number }>();
  let checked = 0;
  for (const a of material) {
    const row = perCluster.get(a.m.cluster) ?? { verifiedBy: 0, of: 0 };
    for (const b of material) {
      checked++;
      row.of++;
      const v = verdicts.verdict(a, b);
      if (v.ok) row.verifiedBy++;
      else failures.push(trustFailure(a.m, b.m, v.error));
    }
    perCluster.set(a.m.cluster, row);
  }
  return { ok: failures.length === 0, checked, failures, perCluster };
}
