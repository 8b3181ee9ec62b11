// The labels, annotations and Secret layouts this engine writes: one home for every string a
// reader of a cluster would search for. The kinds' group, version and plural names have theirs in
// schemas/src/registry.ts; what is here of them is read from there.
import { GLOO_CERTIFICATES_GROUP, KINDS, apiVersionOf, type KindName } from '#schemas/src/registry.js';
import { TLS_KEYS } from '#schemas/x509/secret-keys.js';

/** The kinds the engine drives: those of Gloo Mesh's certificates group. */
export type CertKind = Exclude<KindName, 'VirtualMeshCertificateSigningRequest'>;
const CERT_KINDS = KINDS.filter((k) => k.group === GLOO_CERTIFICATES_GROUP);

export const CERT_GROUP = GLOO_CERTIFICATES_GROUP;
export const CERT_VERSION = CERT_KINDS[0]!.version;
export const CERT_API_VERSION = apiVersionOf(CERT_KINDS[0]!);
export const PLURAL = Object.fromEntries(CERT_KINDS.map((k) => [k.kind, k.plural])) as Readonly<
  Record<CertKind, string>
>;

/** Secret type of the agent's private key (Gloo Mesh's own value). */
export const PRIVATE_KEY_SECRET_TYPE = 'certificates.mesh.gloo.solo.io/generated_private_key';
export const PRIVATE_KEY_DATA_KEY = 'private-key';

/** Where the issued intermediate goes when the IssuedCertificate names no Secret. */
export const DEFAULT_ISSUED_SECRET = { namespace: 'istio-system', name: 'cacerts' } as const;

/** Gloo Mesh's VirtualMesh ownership annotation on IssuedCertificates: JSON {GVK: [ObjectRef]}. */
export const PARENTS_ANNOTATION = 'parents.networking.mesh.gloo.solo.io';
export const VIRTUAL_MESH_GVK = 'networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh';

/** Labels and annotations mesh-cert writes (ours, never read by Gloo Mesh). */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'mesh-cert';
export const LABEL_ISSUED_CERTIFICATE = 'certificates.mesh.gloo.solo.io/issued-certificate';
/** On the private-key Secret and the CertificateRequest: the IssuedCertificate generation they serve. */
export const ANN_FOR_GENERATION = 'mesh-cert.solo.io/issued-certificate-generation';
/** On a PodBounceDirective: which issuance (uid/generation) its status.podsBounced belongs to. */
export const ANN_BOUNCE_FOR = 'mesh-cert.solo.io/bounce-for';
/** On an IssuedCertificate in a rotation: {"old":ObjectRef,"new":ObjectRef} signing Secrets. */
export const ANN_ROTATION_ROOTS = 'mesh-cert.solo.io/rotation-roots';

/** Keys Istio 1.15 and later load from cacerts in preference to the *.pem ones: never left in an issued Secret. */
export const ISTIO_PREFERRED_KEYS = Object.values(TLS_KEYS);
/** On the private-key Secret and the CertificateRequest: the plan (signer and roots) they were made for. */
export const ANN_FOR_PLAN = 'mesh-cert.solo.io/plan';
/** On a CertificateRotation: the signing Secrets (JSON [ObjectRef]) it replaces; read by root retention. */
export const ANN_PREVIOUS_ROOTS = 'mesh-cert.solo.io/previous-roots';
/** On a copy of a Secret mesh-cert replaced: the Secret it was copied from. */
export const LABEL_BACKUP_OF = 'mesh-cert.solo.io/backup-of';
