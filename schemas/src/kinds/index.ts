import type { TObject } from '@sinclair/typebox';
import type { KindName } from '../registry.js';
import { CertificateRequestSchema, CertificateRequestSpec, CertificateRequestStatus } from './certificate-request.js';
import {
  CertificateRotationSchema,
  CertificateRotationSpec,
  CertificateRotationStatus,
} from './certificate-rotation.js';
import { IssuedCertificateSchema, IssuedCertificateSpec, IssuedCertificateStatus } from './issued-certificate.js';
import { PodBounceDirectiveSchema, PodBounceDirectiveSpec, PodBounceDirectiveStatus } from './pod-bounce-directive.js';
import {
  VirtualMeshCertificateSigningRequestSchema,
  VirtualMeshCertificateSigningRequestSpec,
  VirtualMeshCertificateSigningRequestStatus,
} from './virtual-mesh-certificate-signing-request.js';

export interface KindSchemas {
  object: TObject;
  spec: TObject;
  status: TObject;
}

/** The single schema source of each kind: validator, JSON files and CRDs are derived from these. */
export const KIND_SCHEMAS: Readonly<Record<KindName, KindSchemas>> = {
  IssuedCertificate: { object: IssuedCertificateSchema, spec: IssuedCertificateSpec, status: IssuedCertificateStatus },
  CertificateRequest: {
    object: CertificateRequestSchema,
    spec: CertificateRequestSpec,
    status: CertificateRequestStatus,
  },
  CertificateRotation: {
    object: CertificateRotationSchema,
    spec: CertificateRotationSpec,
    status: CertificateRotationStatus,
  },
  PodBounceDirective: {
    object: PodBounceDirectiveSchema,
    spec: PodBounceDirectiveSpec,
    status: PodBounceDirectiveStatus,
  },
  VirtualMeshCertificateSigningRequest: {
    object: VirtualMeshCertificateSigningRequestSchema,
    spec: VirtualMeshCertificateSigningRequestSpec,
    status: VirtualMeshCertificateSigningRequestStatus,
  },
};

export * from './certificate-request.js';
export * from './certificate-rotation.js';
export * from './issued-certificate.js';
export * from './pod-bounce-directive.js';
export * from './virtual-mesh-certificate-signing-request.js';
