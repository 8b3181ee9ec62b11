// The Secrets `check` reads: signing Secrets and cacerts-like ones, the references that name them
// (from IssuedCertificates), and the lines about one Secret (validity, Istio's preferred keys).
import * as pki from '#schemas/x509/index.js';
import type { KObject, Secret } from '../lib/k8s.js';
import type { Ref } from '../lib/refs.js';
import { certPems, daysLeft, fromBase64 } from '../lib/certs.js';
import { glooMeshOwner } from '../engine/ownership.js';
import { DEFAULT_ISSUED_SECRET, ISTIO_PREFERRED_KEYS } from '../engine/resources.js';
import type { IssuedCertificate } from '../engine/objects.js';
import { signingSecretRef } from '../engine/issuance/signing-plan.js';
import { ISTIO_KEYS, TLS_KEYS } from '#schemas/x509/secret-keys.js';
import type { SecretTrust } from './trust.js';
import { CHECKS, line, MIN_DAYS, type CheckDef, type CheckLine } from './check-table.js';

export function validityLines(
  d: CheckDef,
  cluster: string,
  what: string,
  pems: { role: string; pem: string }[],
  now: number,
): CheckLine[] {
  return pems.map(({ role, pem }) => {
    const c = pki.parseCertificate(pem);
    const left = daysLeft(c.notAfter.toISOString(), now);
    const name = `${what} ${role}`;
    if (left < 0)
      return line(d, cluster, name, 'fail', `${role} "${c.subjectText}" expired on ${c.notAfter.toISOString()}`);
    if (left < MIN_DAYS)
      return line(d, cluster, name, 'warn', `${role} "${c.subjectText}" expires in ${left} days (< ${MIN_DAYS})`);
    return line(d, cluster, name, 'pass', `${role} "${c.subjectText}" is valid for ${left} more days`);
  });
}

export type Ic = IssuedCertificate & KObject;
export type Rotation = KObject & {
  spec?: {
    virtualMesh?: { name?: string; namespace?: string };
    newRootCaSecret?: { name?: string; namespace?: string };
  };
  status?: { state?: string; rotationState?: string };
};

export const refKey = (r: Ref) => `${r.namespace}/${r.name}`;
export const icKey = (ic: Ic) => `${ic.metadata.namespace}/${ic.metadata.name}`;
export const signingRefOf = (ic: Ic): Ref | undefined => {
  const s = ic.spec ? signingSecretRef(ic) : undefined;
  return s?.name ? { namespace: s.namespace || ic.metadata.namespace || 'default', name: s.name } : undefined;
};
export const issuedRefOf = (ic: Ic): Ref => {
  const r = ic.spec?.issuedCertificateSecret ?? DEFAULT_ISSUED_SECRET;
  return { namespace: r.namespace || ic.metadata.namespace || DEFAULT_ISSUED_SECRET.namespace, name: r.name };
};

/** A cacerts-like Secret of a cluster: the --cacerts one, or one an IssuedCertificate writes. */
export interface HeldSecret {
  cluster: string;
  ref: Ref;
  secret?: Secret;
  /** The IssuedCertificates of that cluster that write it. */
  writers: Ic[];
  trust?: SecretTrust;
}

/** Fail a Secret holding keys Istio 1.15+ loads before the *.pem ones; the fix names its writer. */
export function evaluateIstioKeys(h: HeldSecret): CheckLine | undefined {
  if (!h.secret) return undefined;
  const what = `Secret ${refKey(h.ref)}`;
  const keys = ISTIO_PREFERRED_KEYS.filter(
    (k) => h.secret!.data?.[k] !== undefined || h.secret!.stringData?.[k] !== undefined,
  );
  if (keys.length === 0)
    return line(
      CHECKS.istioKeys,
      h.cluster,
      `${what} keys`,
      'pass',
      `${what} holds none of ${ISTIO_PREFERRED_KEYS.join(', ')} (Istio reads its *.pem keys)`,
    );
  const mine = h.writers.filter((ic) => !glooMeshOwner('IssuedCertificate', ic));
  const owned = h.writers.filter((ic) => glooMeshOwner('IssuedCertificate', ic));
  const remove = `kubectl --context ${h.cluster} -n ${h.ref.namespace} patch secret ${h.ref.name} --type=json -p '[${keys.map((k) => `{"op":"remove","path":"/data/${k.replace('/', '~1')}"}`).join(',')}]'`;
  const hint = mine.length
    ? `kubectl mesh-cert issue ${mine[0]!.metadata.name} -n ${mine[0]!.metadata.namespace} --cluster ${h.cluster} rewrites it whole (the four Istio keys only)`
    : owned.length
      ? `Gloo Mesh's agent writes it (IssuedCertificate ${icKey(owned[0]!)}); remove the keys: ${remove}`
      : `kubectl mesh-cert issue NAME --cluster ${h.cluster} --issued-secret ${refKey(h.ref)} rewrites it whole (the four Istio keys only), or remove the keys: ${remove}`;
  return line(
    CHECKS.istioKeys,
    h.cluster,
    `${what} keys`,
    'fail',
    `${what} holds ${keys.join(', ')}, which Istio 1.15+ loads in preference to ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem: istiod ignores the intermediate mesh-cert issued`,
    hint,
  );
}

/**
 * The roots a signing Secret holds (any layout verifySigningSecret reads; its root-cert.pem or
 * ca.crt as a fallback). A value that is not base64 is a PkiError naming the Secret and the key.
 */
export function signingRoots(s: Secret): string[] {
  const v = pki.verifySigningSecret(s.data ?? {});
  if (v.ok) return v.rootPems;
  const what = (key: string) => `Secret ${s.metadata.namespace ?? ''}/${s.metadata.name} ${key}`;
  return certPems(
    fromBase64(s.data?.[ISTIO_KEYS.rootCert], what(ISTIO_KEYS.rootCert)) ??
      fromBase64(s.data?.[TLS_KEYS.ca], what(TLS_KEYS.ca)),
  );
}
