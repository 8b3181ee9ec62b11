import { Type, type Static } from '@sinclair/typebox';
import { DNS_LABEL, KindEnvelope, LIMITS, ObjectRef, Str, StrictObject, Uint32 } from '../common.js';

export const RootCertSync = StrictObject({
  secretRef: Type.Optional(ObjectRef),
  secretKey: Type.Optional(Str(LIMITS.name)),
  configMapRef: Type.Optional(ObjectRef),
  configMapKey: Type.Optional(Str(LIMITS.name)),
});

export const PodSelector = StrictObject({
  namespace: Type.Optional(Type.String({ maxLength: LIMITS.namespace, pattern: DNS_LABEL })),
  labels: Type.Optional(Type.Record(Type.String(), Str(LIMITS.text), { maxProperties: LIMITS.items })),
  waitForReplicas: Type.Optional(Uint32('ready replacement pods to wait for before the next selector')),
  rootCertSync: Type.Optional(RootCertSync),
});

// Gloo Mesh's translator writes one selector per workload and its agent every pod it bounced:
// no count limit (see WIRE_MAX), or a big mesh's directive is denied and the agent restarts
// issuance with a new key, for ever.
export const PodBounceDirectiveSpec = StrictObject({
  podsToBounce: Type.Optional(Type.Array(PodSelector, { maxItems: LIMITS.items })),
});

export const BouncedPodSet = StrictObject({
  bouncedPods: Type.Optional(Type.Array(Str(LIMITS.name), { maxItems: LIMITS.items })),
});

export const PodBounceDirectiveStatus = StrictObject({
  podsBounced: Type.Optional(
    Type.Array(BouncedPodSet, { maxItems: LIMITS.items, description: 'entry i for selector i' }),
  ),
});

export const PodBounceDirectiveSchema = KindEnvelope(
  'certificates.mesh.gloo.solo.io/v1',
  'PodBounceDirective',
  PodBounceDirectiveSpec,
  PodBounceDirectiveStatus,
  'Pods to restart, in order, once an IssuedCertificate has been written.',
);

export type PodSelector = Static<typeof PodSelector>;
export type RootCertSync = Static<typeof RootCertSync>;
export type PodBounceDirectiveSpec = Static<typeof PodBounceDirectiveSpec>;
export type PodBounceDirectiveStatus = Static<typeof PodBounceDirectiveStatus>;
export type PodBounceDirective = Static<typeof PodBounceDirectiveSchema>;
