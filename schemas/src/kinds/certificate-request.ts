import { Type, type Static } from '@sinclair/typebox';
import { Int64NonNegative, KindEnvelope, LIMITS, PemBytes, Str, StrictObject, StringEnum } from '../common.js';
import { CERTIFICATE_REQUEST_STATES } from '../state-machines.js';

export const CertificateRequestSpec = StrictObject({
  certificateSigningRequest: Type.Optional(PemBytes('CERTIFICATE REQUEST', 'base64 of a PEM PKCS#10 CSR')),
});

export const CertificateRequestStatus = StrictObject({
  observedGeneration: Type.Optional(Int64NonNegative()),
  error: Type.Optional(Str(LIMITS.error)),
  state: Type.Optional(StringEnum(CERTIFICATE_REQUEST_STATES)),
  signedCertificate: Type.Optional(PemBytes('CERTIFICATE', 'the signed intermediate CA certificate')),
  signingRootCa: Type.Optional(PemBytes('CERTIFICATE', 'the root CA(s) the signed certificate chains to')),
  certChain: Type.Optional(PemBytes('CERTIFICATE', 'extension: the signed certificate followed by the signer chain')),
});

export const CertificateRequestSchema = KindEnvelope(
  'certificates.mesh.gloo.solo.io/v1',
  'CertificateRequest',
  CertificateRequestSpec,
  CertificateRequestStatus,
  'A CSR from a managed cluster, answered by the issuer with a signed certificate.',
);

export type CertificateRequestSpec = Static<typeof CertificateRequestSpec>;
export type CertificateRequestStatus = Static<typeof CertificateRequestStatus>;
export type CertificateRequest = Static<typeof CertificateRequestSchema>;
