import { Type, type Static } from '@sinclair/typebox';
import {
  COMPUTED_STATUS_STATES,
  Hosts,
  KindEnvelope,
  LIMITS,
  MESH_TYPES,
  PemBytes,
  ResourceRef,
  Str,
  StrictObject,
  StringEnum,
  Timestamp,
} from '../common.js';
import { APPROVAL_STATES } from '../state-machines.js';

export const CertConfig = StrictObject({
  hosts: Type.Optional(Hosts),
  org: Type.Optional(Str(LIMITS.text, 'kept as is: no replacement field')),
  meshType: Type.Optional(StringEnum(MESH_TYPES)),
});

export const VirtualMeshCertificateSigningRequestSpec = StrictObject({
  csrData: Type.Optional(PemBytes('CERTIFICATE REQUEST', 'base64 of a PEM PKCS#10 CSR')),
  certConfig: Type.Optional(CertConfig),
  virtualMeshRef: Type.Optional(ResourceRef),
});

export const VmcsrResponse = StrictObject({
  caCertificate: Type.Optional(PemBytes('CERTIFICATE', 'the issued certificate')),
  rootCertificate: Type.Optional(PemBytes('CERTIFICATE', 'the root shared by all clusters')),
});

export const ThirdPartyApprovalWorkflow = StrictObject({
  lastUpdatedTime: Type.Optional(Timestamp()),
  message: Type.Optional(Str(LIMITS.text)),
  approvalStatus: Type.Optional(StringEnum(APPROVAL_STATES)),
});

export const ComputedStatus = StrictObject({
  state: Type.Optional(StringEnum(COMPUTED_STATUS_STATES)),
  message: Type.Optional(Str(LIMITS.text)),
});

export const VirtualMeshCertificateSigningRequestStatus = StrictObject({
  response: Type.Optional(VmcsrResponse),
  thirdPartyApproval: Type.Optional(ThirdPartyApprovalWorkflow),
  computedStatus: Type.Optional(ComputedStatus),
});

export const VirtualMeshCertificateSigningRequestSchema = KindEnvelope(
  'security.zephyr.solo.io/v1alpha1',
  'VirtualMeshCertificateSigningRequest',
  VirtualMeshCertificateSigningRequestSpec,
  VirtualMeshCertificateSigningRequestStatus,
  'The older (zephyr) CSR of a mesh in a VirtualMesh, with an optional third-party approval.',
);

export type CertConfig = Static<typeof CertConfig>;
export type VirtualMeshCertificateSigningRequestSpec = Static<typeof VirtualMeshCertificateSigningRequestSpec>;
export type VirtualMeshCertificateSigningRequestStatus = Static<typeof VirtualMeshCertificateSigningRequestStatus>;
export type VirtualMeshCertificateSigningRequest = Static<typeof VirtualMeshCertificateSigningRequestSchema>;
