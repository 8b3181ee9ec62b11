import { Type, type Static } from '@sinclair/typebox';
import {
  CertificateRotationStateSchema,
  CommonCertOptions,
  Hosts,
  Int64NonNegative,
  IntermediateCertificateAuthority,
  KindEnvelope,
  LIMITS,
  ObjectRef,
  RootCertificateAuthority,
  Str,
  StrictObject,
  StringEnum,
} from '../common.js';
import { ISSUED_CERTIFICATE_STATES } from '../state-machines.js';

export const IssuedCertificateSpec = StrictObject(
  {
    hosts: Type.Optional(Hosts),
    org: Type.Optional(Str(LIMITS.text, 'DEPRECATED: use certOptions.orgName')),
    signingCertificateSecret: Type.Optional({
      ...ObjectRef,
      description: 'DEPRECATED: use glooMeshCa.signingCertificateSecret',
    }),
    issuedCertificateSecret: Type.Optional(ObjectRef),
    podBounceDirective: Type.Optional(ObjectRef),
    certOptions: Type.Optional(CommonCertOptions),
    glooMeshCa: Type.Optional(RootCertificateAuthority),
    agentCa: Type.Optional(IntermediateCertificateAuthority),
    rotationState: Type.Optional(CertificateRotationStateSchema),
  },
  { exclusive: [['glooMeshCa', 'agentCa']] },
);

export const IssuedCertificateStatus = StrictObject(
  {
    observedGeneration: Type.Optional(Int64NonNegative()),
    error: Type.Optional(Str(LIMITS.text)),
    state: Type.Optional(StringEnum(ISSUED_CERTIFICATE_STATES)),
    appliedGlooMeshCa: Type.Optional(RootCertificateAuthority),
    appliedAgentCa: Type.Optional(IntermediateCertificateAuthority),
    observedRotationState: Type.Optional(CertificateRotationStateSchema),
  },
  { exclusive: [['appliedGlooMeshCa', 'appliedAgentCa']] },
);

export const IssuedCertificateSchema = KindEnvelope(
  'certificates.mesh.gloo.solo.io/v1',
  'IssuedCertificate',
  IssuedCertificateSpec,
  IssuedCertificateStatus,
  'An intermediate CA certificate for a managed cluster, signed by the management cluster without its key leaving the cluster.',
);

export type IssuedCertificateSpec = Static<typeof IssuedCertificateSpec>;
export type IssuedCertificateStatus = Static<typeof IssuedCertificateStatus>;
export type IssuedCertificate = Static<typeof IssuedCertificateSchema>;
