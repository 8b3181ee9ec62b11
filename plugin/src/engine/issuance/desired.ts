// What `kubectl mesh-cert issue NAME --host ... --signing-secret ...` asks for, merged onto the
// IssuedCertificate that exists (if any). Pure: the command writes the result.
import type { IssuedCertificate, ObjectRef } from '../objects.js';
import {
  CERT_API_VERSION,
  DEFAULT_ISSUED_SECRET,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  PARENTS_ANNOTATION,
} from '../resources.js';
import { parentsAnnotation } from '../parents.js';

export interface IssueInputs {
  hosts?: string[];
  org?: string;
  ttlDays?: number;
  keySize?: number;
  signingSecret?: ObjectRef;
  issuedSecret?: ObjectRef;
  podBounce?: ObjectRef;
  virtualMesh?: ObjectRef;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function desiredIssuedCertificate(
  existing: IssuedCertificate | undefined,
  ref: ObjectRef,
  inputs: IssueInputs,
): { body: IssuedCertificate; changed: boolean } | { error: string } {
  if (!existing && !inputs.signingSecret) {
    return {
      error: `--signing-secret NS/NAME is required to create IssuedCertificate ${ref.namespace}/${ref.name} (the management cluster's Secret that signs it)`,
    };
  }
  const spec: IssuedCertificate['spec'] = structuredClone(existing?.spec ?? {});
  if (inputs.hosts?.length) spec.hosts = inputs.hosts;
  const certOptions = { ...(spec.certOptions ?? {}) };
  if (inputs.ttlDays !== undefined) certOptions.ttlDays = inputs.ttlDays;
  if (inputs.keySize !== undefined) certOptions.rsaKeySizeBytes = inputs.keySize;
  if (inputs.org !== undefined) {
    certOptions.orgName = inputs.org;
    // The deprecated field must agree with its replacement (the webhook denies a differing pair).
    if (spec.org !== undefined) spec.org = inputs.org;
  }
  if (Object.keys(certOptions).length) spec.certOptions = certOptions;
  if (inputs.signingSecret) {
    spec.glooMeshCa = { signingCertificateSecret: inputs.signingSecret };
    if (spec.signingCertificateSecret) spec.signingCertificateSecret = inputs.signingSecret;
  }
  if (inputs.issuedSecret) spec.issuedCertificateSecret = inputs.issuedSecret;
  else if (!existing) spec.issuedCertificateSecret = { ...DEFAULT_ISSUED_SECRET };
  if (inputs.podBounce) spec.podBounceDirective = inputs.podBounce;
  const annotations = { ...(existing?.metadata.annotations ?? {}) };
  if (inputs.virtualMesh) annotations[PARENTS_ANNOTATION] = parentsAnnotation(existing, inputs.virtualMesh);
  const body: IssuedCertificate = {
    apiVersion: CERT_API_VERSION,
    kind: 'IssuedCertificate',
    metadata: {
      ...(existing?.metadata ?? {}),
      name: ref.name,
      namespace: ref.namespace,
      labels: { ...(existing?.metadata.labels ?? { [LABEL_MANAGED_BY]: MANAGED_BY }) },
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec,
    ...(existing?.status ? { status: existing.status } : {}),
  };
  const changed = !existing || !same(existing.spec, spec) || !same(existing.metadata.annotations ?? {}, annotations);
  return { body, changed };
}
