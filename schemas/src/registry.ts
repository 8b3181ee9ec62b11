// The kinds mesh-cert manages, and how the apiserver names them.
export type KindName =
  | 'IssuedCertificate'
  | 'CertificateRequest'
  | 'CertificateRotation'
  | 'PodBounceDirective'
  | 'VirtualMeshCertificateSigningRequest';

export interface KindInfo {
  group: string;
  version: string;
  kind: KindName;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: true;
  hasStatus: true;
}

export const GLOO_CERTIFICATES_GROUP = 'certificates.mesh.gloo.solo.io';
export const ZEPHYR_SECURITY_GROUP = 'security.zephyr.solo.io';

function info(group: string, version: string, kind: KindName, shortNames: string[]): KindInfo {
  const singular = kind.toLowerCase();
  return { group, version, kind, plural: `${singular}s`, singular, shortNames, namespaced: true, hasStatus: true };
}

// Short names avoid cert-manager's (cert, certs, cr, crs), which share clusters with meshes.
export const KINDS: readonly KindInfo[] = [
  info(GLOO_CERTIFICATES_GROUP, 'v1', 'IssuedCertificate', ['icert', 'icerts']),
  info(GLOO_CERTIFICATES_GROUP, 'v1', 'CertificateRequest', ['certreq', 'certreqs']),
  info(GLOO_CERTIFICATES_GROUP, 'v1', 'CertificateRotation', ['certrot', 'certrots']),
  info(GLOO_CERTIFICATES_GROUP, 'v1', 'PodBounceDirective', ['pbd', 'pbds']),
  info(ZEPHYR_SECURITY_GROUP, 'v1alpha1', 'VirtualMeshCertificateSigningRequest', ['vmcsr', 'vmcsrs']),
];

export const CATEGORIES = ['mesh-cert'] as const;

export function apiVersionOf(k: KindInfo): string {
  return `${k.group}/${k.version}`;
}

// Every review looks its kind up, twice. A scan of five entries comparing strings beats hashing
// the request's freshly parsed (so never hashed) apiVersion for a Map.
const API_VERSIONS: readonly string[] = KINDS.map(apiVersionOf);

export function kindInfo(apiVersion: string, kind: string): KindInfo | undefined {
  for (let i = 0; i < KINDS.length; i++) {
    const k = KINDS[i]!;
    if (k.kind === kind && API_VERSIONS[i] === apiVersion) return k;
  }
  return undefined;
}

/** kindInfo for an AdmissionReview's request.kind {group, version, kind}. */
export function kindInfoOf(group: string, version: string, kind: string): KindInfo | undefined {
  for (const k of KINDS) if (k.kind === kind && k.group === group && k.version === version) return k;
  return undefined;
}

export function kindByResource(group: string, version: string, plural: string): KindInfo | undefined {
  return KINDS.find((k) => k.group === group && k.version === version && k.plural === plural);
}
