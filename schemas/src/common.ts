// Building blocks shared by every kind's schema. Each helper returns a TypeBox schema, so the
// TypeScript type (Static<>) and the JSON Schema come from this one definition.
import { Type, type TSchema, type TUnsafe, type Static, type ObjectOptions, type TProperties, type TObject } from '@sinclair/typebox';

// Bounds exist so that the apiserver's CEL cost estimator accepts the CRDs and so that a
// malicious or broken client cannot store megabytes in one field.
export const LIMITS = {
  name: 253, // DNS-1123 subdomain
  namespace: 63, // DNS-1123 label
  host: 1024, // spiffe:// URIs may be longer than a DNS name
  hosts: 100,
  org: 64, // X.509 upper bound for organizationName (RFC 5280 ub-organization-name)
  error: 32768, // as metav1.Condition.message
  message: 32768,
  shortText: 1024,
  url: 2048,
  enumName: 64,
  csrBase64: 65536,
  certBase64: 262144,
  labels: 64,
  labelValue: 63,
  listSmall: 100,
  bouncedPods: 1000,
  conditions: 64,
  conditionErrors: 32,
  ttlDaysMax: 36500,
} as const;

export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** What each pattern means, for error messages (ajv's own says only "must match pattern"). */
export const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
  [DNS_SUBDOMAIN]: "a lowercase RFC 1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)",
  [DNS_LABEL]: "a lowercase RFC 1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
};

/** A proto enum on the wire: the name as a string; integers are invalid. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], maxLength: LIMITS.enumName, ...options });
}

export type PemType = 'CERTIFICATE' | 'CERTIFICATE REQUEST';
/** A proto `bytes` field holding base64 of PEM text whose blocks must all be of `pemType`. */
export function PemBytes(pemType: PemType, description: string) {
  const maxLength = pemType === 'CERTIFICATE REQUEST' ? LIMITS.csrBase64 : LIMITS.certBase64;
  return Type.String({ format: 'byte', maxLength, 'x-pem-type': pemType, description });
}

/** Objects reject unknown fields; `exclusive` lists groups of fields of which at most one may be set (a proto oneof). */
export function StrictObject<T extends TProperties>(properties: T, options: ObjectOptions & { exclusive?: string[][] } = {}): TObject<T> {
  const { exclusive, ...rest } = options;
  return Type.Object(properties, { additionalProperties: false, ...rest, ...(exclusive ? { 'x-exclusive': exclusive } : {}) });
}

export const Str = (maxLength: number, description?: string) => Type.String({ maxLength, ...(description ? { description } : {}) });
export const Uint32 = (maximum: number, description?: string) =>
  Type.Integer({ minimum: 0, maximum, ...(description ? { description } : {}) });
export const Int64NonNegative = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, format: 'int64', ...(description ? { description } : {}) });
export const Timestamp = (description?: string) =>
  Type.String({ format: 'date-time', maxLength: 64, ...(description ? { description } : {}) });

export const ObjectRef = StrictObject(
  {
    name: Type.String({ minLength: 1, maxLength: LIMITS.name, pattern: DNS_SUBDOMAIN }),
    namespace: Type.Optional(Type.String({ maxLength: LIMITS.namespace, pattern: DNS_LABEL })),
  },
  { description: 'core.skv2.solo.io.ObjectRef' },
);
export type ObjectRef = Static<typeof ObjectRef>;

export const ResourceRef = StrictObject(
  {
    name: Type.String({ minLength: 1, maxLength: LIMITS.name, pattern: DNS_SUBDOMAIN }),
    namespace: Type.Optional(Type.String({ maxLength: LIMITS.namespace, pattern: DNS_LABEL })),
    cluster: Type.Optional(Str(LIMITS.name)),
  },
  { description: 'core.zephyr.solo.io.ResourceRef' },
);
export type ResourceRef = Static<typeof ResourceRef>;

export const Hosts = Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.host }), {
  maxItems: LIMITS.hosts,
  description: 'SANs: spiffe:// becomes a URI SAN, an IP an IP SAN, anything else a DNS SAN',
});

export const RSA_KEY_SIZES = [0, 2048, 3072, 4096] as const;
export const CommonCertOptions = StrictObject(
  {
    ttlDays: Type.Optional(Uint32(LIMITS.ttlDaysMax, 'validity in days; 0 means the default, 365')),
    rsaKeySizeBytes: Type.Optional(
      Type.Unsafe<(typeof RSA_KEY_SIZES)[number]>({
        type: 'integer',
        enum: [...RSA_KEY_SIZES],
        description: 'RSA key size in bits despite the name; 0 means the default, 4096',
      }),
    ),
    orgName: Type.Optional(Str(LIMITS.org, 'subject O; default "gloo-mesh"')),
    secretRotationGracePeriodRatio: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'default 0.10' })),
  },
  { description: 'certificates.mesh.gloo.solo.io.CommonCertOptions' },
);
export type CommonCertOptions = Static<typeof CommonCertOptions>;

export const KubernetesAuth = StrictObject(
  {
    mountPath: Type.Optional(Str(LIMITS.shortText)),
    role: Type.String({ minLength: 1, maxLength: LIMITS.shortText }),
    secretTokenKey: Type.Optional(Str(LIMITS.shortText)),
    serviceAccountRef: Type.Optional(ObjectRef),
    mountedSaPath: Type.Optional(Str(LIMITS.shortText)),
  },
  { exclusive: [['serviceAccountRef', 'mountedSaPath']], description: 'Vault Kubernetes auth' },
);
export type KubernetesAuth = Static<typeof KubernetesAuth>;

export const VaultCA = StrictObject(
  {
    caPath: Type.Optional(Str(LIMITS.shortText)),
    csrPath: Type.Optional(Str(LIMITS.shortText)),
    server: Type.Optional(Str(LIMITS.url)),
    caBundle: Type.Optional(PemBytes('CERTIFICATE', 'PEM bundle of CA certificates trusted for the Vault server')),
    namespace: Type.Optional(Str(LIMITS.shortText)),
    tokenSecretRef: Type.Optional(ObjectRef),
    kubernetesAuth: Type.Optional(KubernetesAuth),
  },
  { exclusive: [['tokenSecretRef', 'kubernetesAuth']], description: 'certificates.mesh.gloo.solo.io.VaultCA' },
);
export type VaultCA = Static<typeof VaultCA>;

export const RootCertificateAuthority = StrictObject(
  { signingCertificateSecret: Type.Optional(ObjectRef) },
  { description: 'certificates.mesh.gloo.solo.io.RootCertificateAuthority (Gloo Mesh CA)' },
);
export type RootCertificateAuthority = Static<typeof RootCertificateAuthority>;

export const IntermediateCertificateAuthority = StrictObject(
  { vault: Type.Optional(VaultCA) },
  { description: 'certificates.mesh.gloo.solo.io.IntermediateCertificateAuthority (agent CA)' },
);
export type IntermediateCertificateAuthority = Static<typeof IntermediateCertificateAuthority>;

/** CertificateRotationState in proto order: index = enum number, [0] is the zero value. */
export const ROTATION_STATES = [
  'NOT_ROTATING',
  'PREVIOUS_CA',
  'ADDING_NEW_ROOT',
  'PROPAGATING_NEW_INTERMEDIATE',
  'DELETING_OLD_ROOT',
  'VERIFYING',
  'VERIFIED',
  'ROLLING_BACK',
  'FINISHED',
  'FAILED',
] as const;
export type CertificateRotationState = (typeof ROTATION_STATES)[number];
export const CertificateRotationStateSchema = StringEnum(ROTATION_STATES, { description: 'certificates.mesh.gloo.solo.io.CertificateRotationState' });

export const MESH_TYPES = ['ISTIO', 'APPMESH', 'CONSUL', 'LINKERD'] as const;
export const COMPUTED_STATUS_STATES = ['UNKNOWN', 'ACCEPTED', 'INVALID', 'PROCESSING_ERROR', 'CONFLICT'] as const;

/** Only what admission can check of metadata; the apiserver owns the rest. */
export const ObjectMeta = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: LIMITS.name, pattern: DNS_SUBDOMAIN })),
    generateName: Type.Optional(Type.String({ maxLength: LIMITS.name })),
    namespace: Type.Optional(Type.String({ maxLength: LIMITS.namespace, pattern: DNS_LABEL })),
    generation: Type.Optional(Int64NonNegative()),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: true },
);

/** The envelope every kind shares: apiVersion and kind pinned, metadata, spec and status. */
export function KindEnvelope<S extends TSchema, T extends TSchema>(apiVersion: string, kind: string, spec: S, status: T, description: string) {
  return StrictObject(
    {
      apiVersion: Type.Literal(apiVersion),
      kind: Type.Literal(kind),
      metadata: Type.Optional(ObjectMeta),
      spec: Type.Optional(spec),
      status: Type.Optional(status),
    },
    { description, $id: `${apiVersion.replace('/', '_')}_${kind}` },
  );
}
