import { Type, type Static } from '@sinclair/typebox';
import {
  CertificateRotationStateSchema,
  Int64NonNegative,
  KindEnvelope,
  LIMITS,
  ObjectRef,
  Str,
  StrictObject,
  StringEnum,
  Timestamp,
} from '../common.js';
import { CERTIFICATE_ROTATION_STATES } from '../state-machines.js';

export const CertificateRotationSpec = StrictObject({
  virtualMesh: Type.Optional(ObjectRef),
  newRootCaSecret: Type.Optional(ObjectRef),
});

export const CertificateRotationCondition = StrictObject(
  {
    timestamp: Type.Optional(Timestamp()),
    state: Type.Optional(CertificateRotationStateSchema),
    message: Type.Optional(Str(LIMITS.text)),
    errors: Type.Optional(Type.Array(Str(LIMITS.text), { maxItems: LIMITS.items })),
  },
  { description: 'extension: one per rotation step taken' },
);

export const CertificateRotationStatus = StrictObject({
  observedGeneration: Type.Optional(Int64NonNegative()),
  error: Type.Optional(Str(LIMITS.text)),
  state: Type.Optional(StringEnum(CERTIFICATE_ROTATION_STATES)),
  rotationState: Type.Optional({ ...CertificateRotationStateSchema, description: 'extension: the current step' }),
  conditions: Type.Optional(Type.Array(CertificateRotationCondition, { maxItems: LIMITS.items })),
});

export const CertificateRotationSchema = KindEnvelope(
  'certificates.mesh.gloo.solo.io/v1',
  'CertificateRotation',
  CertificateRotationSpec,
  CertificateRotationStatus,
  'A multi-root rotation of the root CA of a VirtualMesh, run from the management cluster.',
);

export type CertificateRotationSpec = Static<typeof CertificateRotationSpec>;
export type CertificateRotationStatus = Static<typeof CertificateRotationStatus>;
export type CertificateRotationCondition = Static<typeof CertificateRotationCondition>;
export type CertificateRotation = Static<typeof CertificateRotationSchema>;
