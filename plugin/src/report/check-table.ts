// The table of `check`'s checks (CHECKS): each has an id, a category, what it verifies, the
// severity of its non-passing result (a failure makes the command exit 1, a warning does not) and
// a hint shown under a non-passing line; and the line a check makes (line()). Every check-*.ts
// module builds its lines from here.

export type Result = 'pass' | 'warn' | 'fail';
export type Severity = 'failure' | 'warning';

export interface CheckLine {
  category: string;
  cluster: string;
  name: string;
  result: Result;
  message: string;
  /** The id of the check (CHECKS) that made the line. */
  check?: string;
  /** What to do about a line that did not pass. */
  hint?: string;
}

export interface CheckDef {
  id: string;
  category: string;
  /** What passing means, in a few words. */
  title: string;
  severity: Severity;
  hint: string;
}

const def = (id: string, category: string, title: string, severity: Severity, hint: string): CheckDef => ({
  id,
  category,
  title,
  severity,
  hint,
});

/** What installs the CRDs, from a clone of the repository or from the Helm chart. */
export const INSTALL_CRDS =
  'install them: kubectl apply -k manifests/ (or helm install mesh-cert manifests/helm/mesh-cert -n mesh-cert-system --create-namespace)';

/** A CA or intermediate with fewer days left is a warning. */
export const MIN_DAYS = 60;

/** A webhook serving certificate with fewer days left is a warning (cert-manager renews at a third of 90 days). */
export const SERVING_MIN_DAYS = 30;
/** What mends the webhook's TLS in each of the install's TLS modes (manifests/README.md). */
const TLS_LOGS = 'kubectl -n mesh-cert-system logs deploy/mesh-cert-webhook';
export const TLS_FIX = `tls mode self (the default) writes the caBundle and serving certificate itself: read ${TLS_LOGS}; manual TLS: webhook/gen-certs.sh --apply`;
const TLS_RENEW = `tls mode self renews it at 2/3 of its life: read ${TLS_LOGS} if it did not; manual TLS: webhook/gen-certs.sh --reuse-ca --apply (the caBundle stays)`;

/** The table of checks, in the order they are printed. */
export const CHECKS = {
  reachable: def(
    'reachable',
    'clusters',
    'the API server answers',
    'failure',
    'check the context: kubectl --context CLUSTER version (the other clusters are still checked)',
  ),
  crdInstalled: def(
    'crd-installed',
    'CRDs',
    "the CRD of each of the 5 kinds is installed; whose it is (mesh-cert's or Gloo Mesh's)",
    'failure',
    INSTALL_CRDS,
  ),
  crdContract: def(
    'crd-contract',
    'CRDs',
    "each CRD serves the contract's version with the status subresource and types no field otherwise than schemas/ does",
    'failure',
    "kubectl apply -k manifests/ installs the schemas/ contract (over Gloo Mesh's CRDs too: see README)",
  ),
  crdCurrent: def(
    'crd-current',
    'CRDs',
    "each CRD has every field of manifests/crds (generated from schemas/); mesh-cert's are identical to it",
    'warning',
    'kubectl apply -k manifests/ (re-apply them)',
  ),
  webhookConfig: def(
    'webhook-config',
    'webhook',
    `webhook configurations route the mesh-cert kinds with a caBundle valid for ${MIN_DAYS} days or more`,
    'failure',
    `kubectl apply -k manifests/; ${TLS_FIX}`,
  ),
  webhookCert: def(
    'webhook-serving-cert',
    'webhook',
    `each webhook's serving certificate chains to its caBundle, names the host the API server calls, and is valid for ${SERVING_MIN_DAYS} days or more`,
    'failure',
    TLS_RENEW,
  ),
  webhookDryRun: def(
    'webhook-dry-run',
    'webhook',
    'a write only the webhook refuses is refused (dry run)',
    'failure',
    'is the webhook running and reachable from the API server? kubectl apply -k manifests/',
  ),
  signingSecret: def(
    'signing-secret',
    'roots',
    'each signing Secret exists, verifies, and is valid for 60 days or more',
    'failure',
    'kubectl mesh-cert inspect secret NS/NAME --context MGMT; kubectl mesh-cert root create',
  ),
  cacerts: def(
    'cacerts',
    'cacerts',
    "each managed cluster's cacerts is valid for 60 days or more and chains to the current root",
    'failure',
    'kubectl mesh-cert issue NAME --cluster CLUSTER re-issues it',
  ),
  istioKeys: def(
    'cacerts-istio-keys',
    'cacerts',
    'no cacerts Secret holds tls.crt, tls.key or ca.crt, which Istio 1.15+ loads in preference to the *.pem keys',
    'failure',
    'kubectl mesh-cert issue NAME rewrites the Secret whole (the four Istio keys only)',
  ),
  meshTrust: def(
    'mesh-trust',
    'trust',
    'the clusters of each VirtualMesh trust the same roots, with intermediates anchored at one root, outside an active rotation; no intermediate is anchored at a root a cluster of its mesh does not trust',
    'failure',
    'finish or roll back the rotation (kubectl mesh-cert rotate --virtual-mesh NS/NAME [--abort]), or re-issue: kubectl mesh-cert issue NAME --cluster CLUSTER',
  ),
  staleRoot: def(
    'stale-root',
    'trust',
    "every root a cluster trusts is held by a signing Secret in use (an IssuedCertificate's, or an active rotation's)",
    'warning',
    "re-issue the cluster's certificates so that root-cert.pem holds only the roots in use: kubectl mesh-cert issue NAME --cluster CLUSTER",
  ),
  glooMeshOwned: def(
    'gloo-mesh-owned',
    'certificates',
    'IssuedCertificates Gloo Mesh owns are observed (Gloo Mesh drives them, mesh-cert does not)',
    'warning',
    "Gloo Mesh's agent and issuer drive it: see their logs (mesh-cert issue and rotate refuse it)",
  ),
} as const satisfies Record<string, CheckDef>;

/** The order in which the categories are printed (runChecks sorts its lines by it). */
export const CATEGORY_ORDER = ['clusters', 'CRDs', 'webhook', 'roots', 'cacerts', 'trust', 'certificates'];

/** A line of check `d` about `cluster`; a non-passing line carries the check's hint (or `hint`). */
export function line(
  d: CheckDef,
  cluster: string,
  name: string,
  result: Result,
  message: string,
  hint?: string,
): CheckLine {
  return {
    category: d.category,
    cluster,
    name,
    result,
    message,
    check: d.id,
    ...(result === 'pass' ? {} : { hint: hint ?? d.hint }),
  };
}

/** The non-passing result of a check: fail or warn, as its severity says. */
export const notPassing = (d: CheckDef): Result => (d.severity === 'failure' ? 'fail' : 'warn');
