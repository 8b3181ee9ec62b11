import { Type, type Static } from '@sinclair/typebox';
import { Int64NonNegative, KindEnvelope, LIMITS, PemBytes, Str, StrictObject, StringEnum } from '../common.js';
import { CERTIFICATE_REQUEST_STATES } from '../state-machines.js';

export const CertificateRequestSpec = StrictObject({
  certificateSigningRequest: Type.Optional(PemBytes('CERTIFICATE REQUEST', 'base64 of a PEM PKCS#10 CSR')),
});

export const CertificateRequestStatus = StrictObject({
  observedGeneration: Type.Optional(Int64NonNegative()),
  error: Type.Optional(Str(LIMITS.text)),
  state: Type.Optional(StringEnum(CERTIFICATE_REQUEST_STATES)),
  signedCertificate: Type.Optional(PemBytes('CERTIFICATE', 'the signed intermediate CA certificate')),
  signingRootCa: Type.Optional(
    PemBytes(
      'CERTIFICATE',
      "the trust anchor(s) of the signed certificate: a root, or the signer's chain as a bundle (signer first, root last)",
    ),
  ),
  // Not an extension of ours: Gloo Mesh's proto has `bytes cert_chain = 6` from v1.1.0-beta21 on
  // ("fix the gloo mesh provided Root CA to accept intermediate certs"), its own CRD declares it,
  // its issuer writes it (the signed certificate, then the signing Secret's cert-chain.pem) and
  // its agent reads it into cert-chain.pem. Dropping it would deny that issuer's every FINISHED
  // write and let the CRD prune what its agent reads. mesh-cert never writes it: Gloo Mesh v1.0
  // decodes strictly and does not know it.
  certChain: Type.Optional(
    PemBytes(
      'CERTIFICATE',
      "Gloo Mesh v1.1+: the signed certificate followed by the signer's chain; never written by mesh-cert (v1.0 does not know it)",
    ),
  ),
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
