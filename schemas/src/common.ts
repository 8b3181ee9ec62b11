// Building blocks shared by every kind's schema. Each helper returns a TypeBox schema, so the
// TypeScript type (Static<>) and the JSON Schema come from this one definition.
import { ROTATION_STATES, ROTATION_STATE_ALIASES } from './rotation-states.js';
import {
  Type,
  type TSchema,
  type TUnsafe,
  type Static,
  type ObjectOptions,
  type TProperties,
  type TObject,
} from '@sinclair/typebox';

/**
 * Above anything a 3 MiB object (the apiserver's request limit) can hold: the bound of every list,
 * map and free-text string. The protos set no limits, and Gloo Mesh's controllers write whatever
 * their inputs hold (one pod selector per workload, every bounced pod, a VirtualMesh's org name),
 * so a narrower bound would deny their writes, and a denied write is retried for ever. The bound
 * is there only because structural CRDs and the apiserver's CEL cost estimator want one.
 */
export const WIRE_MAX = 3 * 1024 * 1024;

export const LIMITS = {
  name: 253, // DNS-1123 subdomain: refs name real objects, whose names the apiserver bounds
  namespace: 63, // DNS-1123 label
  enumName: 64, // the enum list bounds these already
  text: WIRE_MAX,
  items: WIRE_MAX,
  uint32: 4294967295,
} as const;

export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** What each pattern means, for error messages (ajv's own says only "must match pattern"). */
export const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
  [DNS_SUBDOMAIN]:
    "a lowercase RFC 1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)",
  [DNS_LABEL]:
    "a lowercase RFC 1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
};

/** A proto enum on the wire: the name as a string; integers are invalid. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], maxLength: LIMITS.enumName, ...options });
}

export type PemType = 'CERTIFICATE' | 'CERTIFICATE REQUEST';
/** A proto `bytes` field holding base64 of PEM text whose blocks must all be of `pemType`. */
export function PemBytes(pemType: PemType, description: string) {
  return Type.String({ format: 'byte', maxLength: LIMITS.text, 'x-pem-type': pemType, description });
}

/** Objects reject unknown fields; `exclusive` lists groups of fields of which at most one may be set (a proto oneof). */
export function StrictObject<T extends TProperties>(
  properties: T,
  options: ObjectOptions & { exclusive?: string[][] } = {},
): TObject<T> {
  const { exclusive, ...rest } = options;
  return Type.Object(properties, {
    additionalProperties: false,
    ...rest,
    ...(exclusive ? { 'x-exclusive': exclusive } : {}),
  });
}

export const Str = (maxLength: number, description?: string) =>
  Type.String({ maxLength, ...(description ? { description } : {}) });
/** A proto uint32: every value it can hold (policy lives in policy.ts, as warnings). */
export const Uint32 = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: LIMITS.uint32, ...(description ? { description } : {}) });
export const Int64NonNegative = (description?: string) =>
  Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    format: 'int64',
    ...(description ? { description } : {}),
  });
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

export const Hosts = Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.text }), {
  maxItems: LIMITS.items,
  description: 'SANs: spiffe:// becomes a URI SAN, an IP an IP SAN, anything else a DNS SAN',
});

// Any value the proto holds is admitted: out-of-policy ones (a weak key, a century-long TTL) earn a
// warning from policy.ts, and the plugin refuses, when issuing, what it cannot do safely.
export const CommonCertOptions = StrictObject(
  {
    ttlDays: Type.Optional(Uint32('validity in days; 0 means the default, 365')),
    rsaKeySizeBytes: Type.Optional(Uint32('RSA key size in bits despite the name; 0 means the default, 4096')),
    orgName: Type.Optional(Str(LIMITS.text, 'subject O; default "gloo-mesh"')),
    // A proto float: JSON numbers only (no "NaN" strings); [0, 1] is policy, not schema.
    secretRotationGracePeriodRatio: Type.Optional(
      Type.Number({ description: 'a fraction of the validity, default 0.10' }),
    ),
  },
  { description: 'certificates.mesh.gloo.solo.io.CommonCertOptions' },
);
export type CommonCertOptions = Static<typeof CommonCertOptions>;

export const KubernetesAuth = StrictObject(
  {
    mountPath: Type.Optional(Str(LIMITS.text)),
    // proto3 `optional`: Vault then uses the role bound to the service account's auth mount.
    role: Type.Optional(Str(LIMITS.text)),
    secretTokenKey: Type.Optional(Str(LIMITS.text)),
    serviceAccountRef: Type.Optional(ObjectRef),
    mountedSaPath: Type.Optional(Str(LIMITS.text)),
  },
  { exclusive: [['serviceAccountRef', 'mountedSaPath']], description: 'Vault Kubernetes auth' },
);
export type KubernetesAuth = Static<typeof KubernetesAuth>;

export const VaultCA = StrictObject(
  {
    caPath: Type.Optional(Str(LIMITS.text)),
    csrPath: Type.Optional(Str(LIMITS.text)),
    server: Type.Optional(Str(LIMITS.text)),
    caBundle: Type.Optional(PemBytes('CERTIFICATE', 'PEM bundle of CA certificates trusted for the Vault server')),
    namespace: Type.Optional(Str(LIMITS.text)),
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

// The rotation states live in rotation-states.ts: the plugin's engine reads them without loading
// TypeBox and the schemas.
export {
  ROTATION_STATES,
  ROTATION_STATE_ALIASES,
  canonicalRotationState,
  type CertificateRotationState,
} from './rotation-states.js';

export const CertificateRotationStateSchema = StringEnum(
  [...ROTATION_STATES, ...(Object.keys(ROTATION_STATE_ALIASES) as 'NOT_APPLICABLE'[])],
  {
    description:
      'certificates.mesh.gloo.solo.io.CertificateRotationState (NOT_APPLICABLE: the cert-rotation-api name of NOT_ROTATING)',
  },
);

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
export function KindEnvelope<S extends TSchema, T extends TSchema>(
  apiVersion: string,
  kind: string,
  spec: S,
  status: T,
  description: string,
) {
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
