// The built-in connectivity check: every cluster's issued intermediate (with its chain) must
// verify against every cluster's root-cert.pem, its own included. That is what mTLS between
// workloads of two clusters needs from the CA side.
import { splitPem, verifyChain } from '../../../../schemas/pki/index.js';
import type { ClusterApi } from '../cluster-api.js';
import { fromB64 } from '../b64.js';
import { ISTIO_KEYS } from '../resources.js';
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

const pemsOf = (text: string) => splitPem(text).filter((b) => b.type === 'CERTIFICATE').map((b) => b.pem);

export async function readIssued(certs: MeshCertificate[]): Promise<IssuedMaterial[]> {
  return Promise.all(
    certs.map(async ({ cluster, ic }: { cluster: ClusterApi; ic: MeshCertificate['ic'] }) => {
      const ref = issuedSecretRef(ic);
      const s = await cluster.getSecret(ref.namespace, ref.name);
      if (!s) throw new Error(`cluster "${cluster.name}": issued Secret ${refString(ref)} not found`);
      const caCertPem = fromB64(s.data?.[ISTIO_KEYS.caCert]);
      const chain = pemsOf(fromB64(s.data?.[ISTIO_KEYS.certChain]));
      const norm = (p: string) => p.replace(/\s+/g, '');
      return {
        cluster: cluster.name,
        secret: refString(ref),
        caCertPem,
        chainPems: chain.filter((p) => norm(p) !== norm(caCertPem)),
        rootPems: pemsOf(fromB64(s.data?.[ISTIO_KEYS.rootCert])),
      };
    }),
  );
}

export function checkTrust(material: IssuedMaterial[], at?: Date): TrustReport {
  const failures: TrustFailure[] = [];
  const perCluster = new Map<string, { verifiedBy: number; of: number }>();
  let checked = 0;
  // Clusters mostly hold the same bundle: verify each intermediate once per distinct bundle.
  const bundleKey = (m: IssuedMaterial) => m.rootPems.map((p) => p.replace(/\s+/g, '')).join('|');
  const verdicts = new Map<string, ReturnType<typeof verifyChain>>();
  for (const a of material) {
    const row = perCluster.get(a.cluster) ?? { verifiedBy: 0, of: 0 };
    for (const b of material) {
      checked++;
      row.of++;
      const key = `${a.cluster}\u0000${a.secret}\u0000${bundleKey(b)}`;
      let v = verdicts.get(key);
      if (!v) {
        v = verifyChain({ certPem: a.caCertPem, chainPems: a.chainPems, rootPems: b.rootPems, at });
        verdicts.set(key, v);
      }
      if (v.ok) row.verifiedBy++;
      else failures.push({ from: a.cluster, to: b.cluster, error: `cluster "${a.cluster}"'s intermediate (${a.secret}) does not verify against cluster "${b.cluster}"'s root-cert.pem: ${v.error}` });
    }
    perCluster.set(a.cluster, row);
  }
  return { ok: failures.length === 0, checked, failures, perCluster };
}
