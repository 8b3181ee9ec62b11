// The agent role's writes, each one step of the state machine in decide.ts. They run against
// the managed cluster only: the private key is made, kept and used there.
import { createHash } from 'node:crypto';
import {
  buildIssuedSecretData,
  certificatesIn,
  createCsr,
  generateRsaKey,
  parseCertificate,
  PkiError,
  verifyChain,
} from '#schemas/x509/index.js';
import { statusOf, type ClusterApi } from '../cluster-api.js';
import type { CertificateRequest, IssuedCertificate, IssuedState, KubeObject, ObjectRef, Secret } from '../objects.js';
import { resolveRef } from '../objects.js';
import { base64Text, secretText, textBase64 } from '#schemas/x509/pem.js';
import {
  ANN_FOR_GENERATION,
  ANN_FOR_PLAN,
  CERT_API_VERSION,
  DEFAULT_ISSUED_SECRET,
  LABEL_BACKUP_OF,
  LABEL_ISSUED_CERTIFICATE,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  PRIVATE_KEY_DATA_KEY,
  PRIVATE_KEY_SECRET_TYPE,
} from '../resources.js';
import { generationOf, type AgentObservation } from './decide.js';
import { holdsForeignCa } from './issued-secret.js';
import type { PlanMaterial } from './plan-material.js';

export const KEY_SIZES = [2048, 3072, 4096] as const;
export type KeySize = (typeof KEY_SIZES)[number];

export function keySizeOf(ic: IssuedCertificate): KeySize | { error: string } {
  const bits = ic.spec.certOptions?.rsaKeySizeBytes || 4096;
  return (KEY_SIZES as readonly number[]).includes(bits)
    ? (bits as KeySize)
    : {
        error: `spec.certOptions.rsaKeySizeBytes: Unsupported value: ${bits}: supported values: "2048", "3072", "4096"`,
      };
}

export function orgOf(ic: IssuedCertificate): string {
  return ic.spec.certOptions?.orgName || ic.spec.org || 'gloo-mesh';
}

export function issuedSecretRef(ic: IssuedCertificate): ObjectRef {
  return ic.spec.issuedCertificateSecret
    ? resolveRef(ic.spec.issuedCertificateSecret, ic.metadata.namespace)
    : { ...DEFAULT_ISSUED_SECRET };
}

function ownedMeta(
  ic: IssuedCertificate,
  name: string,
  namespace: string,
  plan?: PlanMaterial,
): KubeObject['metadata'] {
  return {
    name,
    namespace,
    labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_ISSUED_CERTIFICATE]: ic.metadata.name },
    annotations: { [ANN_FOR_GENERATION]: String(generationOf(ic)), ...(plan ? { [ANN_FOR_PLAN]: plan.digest } : {}) },
    ...(ic.metadata.uid && namespace === ic.metadata.namespace
      ? {
          ownerReferences: [
            { apiVersion: CERT_API_VERSION, kind: 'IssuedCertificate', name: ic.metadata.name, uid: ic.metadata.uid },
          ],
        }
      : {}),
  };
}

/** Creates or replaces a Secret (replace keeps the observed resourceVersion: a race is a 409). */
async function putSecret(api: ClusterApi, existing: Secret | undefined, body: Secret): Promise<Secret> {
  if (existing) {
    return api.replaceSecret({
      ...body,
      metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion },
    });
  }
  // Lost a race to create: the 409 (AlreadyExists) is transient, the caller observes again.
  return api.createSecret(body);
}

export interface KeyMaker {
  (bits: KeySize): Promise<{ privateKeyPem: string }>;
}
export const defaultKeyMaker: KeyMaker = (bits) => generateRsaKey(bits);

export async function generateKey(
  api: ClusterApi,
  o: AgentObservation,
  makeKey: KeyMaker = defaultKeyMaker,
): Promise<void> {
  const { ic } = o;
  const bits = keySizeOf(ic);
  if (typeof bits !== 'number') throw new SpecError(bits.error);
  const { privateKeyPem } = await makeKey(bits);
  const body: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: ownedMeta(ic, ic.metadata.name, ic.metadata.namespace ?? 'default', o.plan),
    type: PRIVATE_KEY_SECRET_TYPE,
    data: { [PRIVATE_KEY_DATA_KEY]: textBase64(privateKeyPem) },
  };
  await putSecret(api, o.keySecret, body);
}

/** A problem with the IssuedCertificate itself: it fails, no retry will help. */
export class SpecError extends Error {
  override name = 'SpecError';
}

export function buildCsr(ic: IssuedCertificate, privateKeyPem: string): string {
  return createCsr({ privateKeyPem, subject: { O: orgOf(ic), OU: ic.metadata.name }, hosts: ic.spec.hosts ?? [] });
}

export async function request(api: ClusterApi, o: AgentObservation): Promise<void> {
  const { ic } = o;
  const keyPem = secretText(o.keySecret, PRIVATE_KEY_DATA_KEY);
  const csr = buildCsr(ic, keyPem);
  const body: CertificateRequest = {
    apiVersion: CERT_API_VERSION,
    kind: 'CertificateRequest',
    metadata: ownedMeta(ic, ic.metadata.name, ic.metadata.namespace ?? 'default', o.plan),
    spec: { certificateSigningRequest: textBase64(csr) },
  };
  if (o.request) {
    await api.replaceCustom('CertificateRequest', {
      ...body,
      metadata: { ...o.request.metadata, ...body.metadata, resourceVersion: o.request.metadata.resourceVersion },
    });
  } else {
    await api.createCustom('CertificateRequest', body);
  }
}

/** status write of the IssuedCertificate, from the observed object (its resourceVersion). */
export async function setIssuedState(
  api: ClusterApi,
  ic: IssuedCertificate,
  state: IssuedState,
  extra: { error?: string; observedGeneration?: number; observedRotationState?: boolean } = {},
): Promise<IssuedCertificate> {
  const status: NonNullable<IssuedCertificate['status']> = { ...(ic.status ?? {}), state };
  delete status.error;
  if (state === 'FAILED') status.error = extra.error || 'failed';
  if (extra.observedGeneration !== undefined) status.observedGeneration = extra.observedGeneration;
  if (extra.observedRotationState && ic.spec.rotationState) status.observedRotationState = ic.spec.rotationState;
  if (ic.spec.glooMeshCa) status.appliedGlooMeshCa = ic.spec.glooMeshCa;
  return api.replaceCustomStatus('IssuedCertificate', { ...ic, status });
}

export async function markRequested(api: ClusterApi, o: AgentObservation): Promise<void> {
  // A retry from FAILED must let the issuer sign again: its current FAILED answer is reset first.
  const cr = o.request;
  if (cr?.status?.state === 'FAILED') {
    const status = { ...cr.status, state: 'PENDING' as const };
    delete status.error;
    await api.replaceCustomStatus('CertificateRequest', { ...cr, status });
  }
  await setIssuedState(api, o.ic, 'REQUESTED', { observedGeneration: generationOf(o.ic) });
}

/**
 * signingRootCa split as Gloo Mesh's issuer writes it: the intermediates above the signed
 * certificate (the signer first), then the roots to trust. A bundle whose certificates do not
 * anchor the signed one at a self-signed root is a set of trust anchors as given.
 */
export function splitSigningBundle(signedPem: string, bundle: string[]): { chainPems: string[]; rootPems: string[] } {
  const selfSigned = (p: string) => {
    try {
      return parseCertificate(p).selfSigned;
    } catch {
      return false;
    }
  };
  const rootPems = bundle.filter(selfSigned);
  const chainPems = bundle.filter((p) => !rootPems.includes(p));
  if (rootPems.length && verifyChain({ certPem: signedPem, chainPems, rootPems }).ok) return { chainPems, rootPems };
  return { chainPems: [], rootPems: bundle };
}

/**
 * Istio's cacerts layout from the signed request and the local key; verified before it is
 * written (the key matches, the chain leads to a root of the bundle).
 */
export function issuedSecretData(cr: CertificateRequest, keyPem: string): Record<string, string> {
  const signed = base64Text(cr.status?.signedCertificate, 'status.signedCertificate');
  const { chainPems, rootPems } = splitSigningBundle(
    signed,
    certificatesIn(base64Text(cr.status?.signingRootCa, 'status.signingRootCa')),
  );
  try {
    return buildIssuedSecretData({ caCertPem: signed, caKeyPem: keyPem, chainPems, rootPems });
  } catch (err) {
    if (err instanceof PkiError)
      throw new SpecError(
        `the signed certificate of CertificateRequest ${cr.metadata.namespace}/${cr.metadata.name} cannot be used: ${err.message}`,
      );
    throw err;
  }
}

export interface WriteSecretOptions {
  /** Replace a Secret holding a CA that mesh-cert did not issue (a copy is kept first). */
  force?: boolean;
}

/** Kept beside a Secret before mesh-cert replaces a CA it did not issue; named by its content. */
export function backupOf(secret: Secret): Secret {
  const digest = createHash('sha256')
    .update(JSON.stringify(Object.entries(secret.data ?? {}).sort()))
    .digest('hex')
    .slice(0, 10);
  const name = `${secret.metadata.name}-backup-${digest}`.slice(0, 253);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: secret.metadata.namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_BACKUP_OF]: secret.metadata.name.slice(0, 63) },
      annotations: { ...(secret.metadata.annotations ?? {}) },
    },
    ...(secret.type ? { type: secret.type } : {}),
    data: { ...(secret.data ?? {}) },
  };
}

/** Copies `secret` beside itself; the copy of the same content made before is kept as it is. */
export async function keepCopy(api: ClusterApi, secret: Secret): Promise<string> {
  const copy = backupOf(secret);
  try {
    await api.createSecret(copy);
  } catch (err) {
    if (statusOf(err) !== 409) throw err;
  }
  return `${copy.metadata.namespace}/${copy.metadata.name}`;
}

export async function writeIssuedSecret(
  api: ClusterApi,
  o: AgentObservation,
  opts: WriteSecretOptions = {},
): Promise<void> {
  const { ic, request: cr } = o;
  const keyPem = secretText(o.keySecret, PRIVATE_KEY_DATA_KEY);
  const signed = base64Text(cr?.status?.signedCertificate, 'status.signedCertificate');
  if (!cr || !signed) throw new SpecError('the CertificateRequest has no signed certificate');
  const ref = issuedSecretRef(ic);
  const existing = o.issuedSecret;
  if (existing && holdsForeignCa(existing)) {
    const keys = Object.keys(existing.data ?? {})
      .sort()
      .join(', ');
    if (!opts.force) {
      throw new SpecError(
        `Secret ${ref.namespace}/${ref.name} holds a CA that mesh-cert did not issue (keys ${keys}; no label ${LABEL_MANAGED_BY}=${MANAGED_BY}): it is left as it is; pass --force to replace it (a copy is kept first)`,
      );
    }
    await keepCopy(api, existing);
  }
  const data = issuedSecretData(cr, keyPem);
  const meta = ownedMeta(ic, ref.name, ref.namespace);
  const body: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...meta,
      labels: { ...(existing?.metadata.labels ?? {}), ...meta.labels },
      annotations: { ...(existing?.metadata.annotations ?? {}), ...meta.annotations },
    },
    type: 'Opaque',
    // Written whole: exactly Istio's four keys, so no stale tls.crt/ca.crt can take precedence.
    data,
  };
  if (existing && (existing.type ?? 'Opaque') !== 'Opaque') {
    // A Secret's type cannot change in place: the old one (copied above when foreign) goes first.
    await api.deleteSecret(ref.namespace, ref.name);
    await api.createSecret(body);
    return;
  }
  await putSecret(api, existing, body);
}
