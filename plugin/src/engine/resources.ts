// Names of the API this engine drives, and the labels/annotations it writes. One home for every
// string a reader of a cluster would search for.

export const CERT_GROUP = 'certificates.mesh.gloo.solo.io';
export const CERT_VERSION = 'v1';
export const CERT_API_VERSION = `${CERT_GROUP}/${CERT_VERSION}`;

export const PLURAL = {
  IssuedCertificate: 'issuedcertificates',
  CertificateRequest: 'certificaterequests',
  CertificateRotation: 'certificaterotations',
  PodBounceDirective: 'podbouncedirectives',
} as const;
export type CertKind = keyof typeof PLURAL;

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

/** Istio's cacerts layout. */
export const ISTIO_KEYS = { caCert: 'ca-cert.pem', caKey: 'ca-key.pem', rootCert: 'root-cert.pem', certChain: 'cert-chain.pem' } as const;
