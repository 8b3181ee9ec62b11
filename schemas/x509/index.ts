// mesh-cert's certificate library: keys, CSRs, CA certificates, chains and Istio cacerts Secrets.
// jsrsasign builds and reads the ASN.1 / X.509 / PKCS#10 structure; node:crypto (OpenSSL) does
// key generation, signing and verification. Nothing here logs, and no error carries key material.
export { PkiError } from './errors.js';
export {
  splitPem,
  certificatesIn,
  toPem,
  base64Text,
  secretText,
  textBase64,
  type PemBlock,
  type SecretLike,
} from './pem.js';
export {
  generateRsaKey,
  describeKey,
  RSA_KEY_SIZES,
  type RsaKeyBits,
  type KeyDescription,
  type KeyType,
} from './keys.js';
export {
  classifyHost,
  classifyHosts,
  type DistinguishedName,
  type SanEntry,
  type SanType,
  type SubjectInput,
} from './names.js';
export { createCsr, verifyCsr, validateHosts, type CsrInfo } from './csr.js';
export { createRootCa, signIntermediate, NOT_BEFORE_SKEW_MS } from './build.js';
export { parseCertificate, certificateFingerprint, type CertInfo } from './parse.js';
export {
  verifyChain,
  verifyChainDetailed,
  certLabel,
  type ChainFailure,
  type ChainSuccess,
  type CertRole,
  type RoleLabels,
} from './chain.js';
export { publicKeyOfCsrMatchesCert, privateKeyMatchesCert } from './match.js';
export {
  verifySigningSecret,
  buildIssuedSecretData,
  inspectSecretData,
  ISTIO_KEYS,
  LEGACY_KEY,
  TLS_KEYS,
  EXPIRY_WARNING_DAYS,
  type SigningSecretResult,
  type SecretInspection,
} from './secret.js';
