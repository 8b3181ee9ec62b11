// The guards named in state-machines.ts. Certificate guards use schemas/x509 (DER read in place,
// node:crypto for keys and signatures); the rest are plain field checks.
import { withoutLabel } from '../x509/errors.js';
import { parseCertificateFull } from '../x509/parse.js';
import { publicKeyOfCsrMatchesCert, verifyChain } from '../x509/index.js';
import type { FieldError } from './field-error.js';
import { getPath, numberOr } from './object-path.js';
import { certificatesOfField, pemTextOf } from './pem-fields.js';
import type { GuardName } from './state-machines.js';

export interface GuardContext {
  oldObj: unknown;
  newObj: Record<string, unknown>;
}
export type Guard = (ctx: GuardContext) => FieldError[];

/**
 * First reason any of the PEM certificates fails to parse, or undefined. "Parses": every byte is
 * DER (extension values included), the structure is X.509 as OpenSSL's d2i_X509 reads it, the
 * validity times are valid, and the public key imports. Names and extension values are decoded
 * into text only by readers that show them (parse.ts): for a new certificate in every review,
 * that decoding was two thirds of the review.
 */
function unparsable(pems: string[]): string | undefined {
  for (const [i, pem] of pems.entries()) {
    try {
      // The cached parse, no copy; the key import is cached on it too (roots need it to verify).
      void parseCertificateFull(pem).publicKey;
    } catch (err) {
      // "certificate 2 does not parse (multi-octet tag)", not the parser's own label for it.
      const detail = withoutLabel(err, err instanceof Error ? err.message : String(err));
      const same = 'the certificate does not parse';
      return `certificate ${i + 1} does not parse${detail.startsWith(same) ? detail.slice(same.length) : `: ${detail}`}`;
    }
  }
  return undefined;
}

const errorNotEmpty: Guard = ({ newObj }) => {
  const error = getPath(newObj, ['status', 'error']);
  // Same test as the CRD's CEL rule (size > 0), so the apiserver and the webhook agree.
  if (typeof error === 'string' && error !== '') return [];
  return [{ path: 'status.error', type: 'Required', message: `must say what failed when ${'status.state'} is FAILED` }];
};

/** A current FINISHED CertificateRequest holds a certificate for the CSR's key that chains to signingRootCa. */
const finishedCertificateValid: Guard = ({ newObj }) => {
  const og = numberOr(getPath(newObj, ['status', 'observedGeneration']), 0);
  const generation = getPath(newObj, ['metadata', 'generation']);
  // A spec write may leave a stale FINISHED status behind until the issuer catches up.
  if (typeof generation === 'number' && og !== generation) return [];
  const errors: FieldError[] = [];
  const signedB64 = getPath(newObj, ['status', 'signedCertificate']);
  const rootB64 = getPath(newObj, ['status', 'signingRootCa']);
  const signedCerts = certificatesOfField(signedB64);
  const rootCerts = certificatesOfField(rootB64);
  if (signedCerts === null || rootCerts === null) return errors; // not PEM: the schema says so, on the same path
  if (!signedCerts)
    errors.push({
      path: 'status.signedCertificate',
      type: 'Required',
      message: 'must hold the signed certificate when status.state is FINISHED',
    });
  if (!rootCerts)
    errors.push({
      path: 'status.signingRootCa',
      type: 'Required',
      message: 'must hold the root CA when status.state is FINISHED',
    });
  if (!signedCerts || !rootCerts) return errors;

  const chainField = certificatesOfField(getPath(newObj, ['status', 'certChain']));
  if (chainField === null) return errors;
  const chainCerts = chainField ?? [];
  const badSigned = signedCerts.length === 0 ? 'holds no certificate' : unparsable(signedCerts);
  const badRoot = rootCerts.length === 0 ? 'holds no certificate' : unparsable(rootCerts);
  const badChain = chainField ? (chainCerts.length === 0 ? 'holds no certificate' : unparsable(chainCerts)) : undefined;
  if (badSigned) errors.push({ path: 'status.signedCertificate', type: 'Invalid', message: badSigned });
  if (badRoot) errors.push({ path: 'status.signingRootCa', type: 'Invalid', message: badRoot });
  if (badChain) errors.push({ path: 'status.certChain', type: 'Invalid', message: badChain });
  if (errors.length > 0) return errors;

  const leaf = signedCerts[0]!;
  // Every certificate of signingRootCa is a trust anchor: the signer's chain as a bundle (signer
  // first, root last), or one that ends at an intermediate, anchors the leaf as given (as in Go's x509 and Istio).
  // certChain (Gloo Mesh v1.1+) starts with the signed certificate itself; the verifier wants only intermediates.
  // Blocks come as canonical PEM, so the same certificate is the same text.
  const intermediates = [...signedCerts.slice(1), ...chainCerts].filter((c) => c !== leaf);
  const verdict = verifyChain({ certPem: leaf, chainPems: intermediates, rootPems: rootCerts, decodePath: false });
  if (!verdict.ok) {
    errors.push({
      path: 'status.signedCertificate',
      type: 'Invalid',
      message: `does not chain to status.signingRootCa${chainField ? ' through status.certChain' : ''}: ${verdict.error}`,
    });
  }
  const csr = pemTextOf(getPath(newObj, ['spec', 'certificateSigningRequest']));
  if (!csr) {
    errors.push({
      path: 'spec.certificateSigningRequest',
      type: 'Required',
      message: 'a FINISHED request needs the CSR its certificate answers',
    });
  } else if (!matches(csr, leaf)) {
    errors.push({
      path: 'status.signedCertificate',
      type: 'Invalid',
      message: 'its public key is not the one in spec.certificateSigningRequest',
    });
  }
  return errors;
};

function matches(csrPem: string, certPem: string): boolean {
  try {
    // Whether the certificate answers the request: same key. The CSR's own signature was the
    // issuer's to check before signing; re-verifying it here doubled the cost of the review.
    return publicKeyOfCsrMatchesCert(csrPem, certPem, { verifyCsrSignature: false });
  } catch {
    return false;
  }
}

/**
 * A VMCSR response may be written while the approval is PENDING (zephyr's signer signs PENDING
 * and APPROVED requests alike), never once the request is DENIED.
 */
const responseNotAfterDenial: Guard = ({ newObj }) => {
  const response = getPath(newObj, ['status', 'response']);
  // Presence, not proto "set-ness", so the CRD's CEL rule (has()) and this agree.
  if (response === undefined || response === null) return [];
  if (getPath(newObj, ['status', 'thirdPartyApproval', 'approvalStatus']) !== 'DENIED') return [];
  return [
    {
      path: 'status.response',
      type: 'Forbidden',
      forbidden: true,
      message: 'may not be set once status.thirdPartyApproval.approvalStatus is DENIED',
    },
  ];
};

/** The issued certificate in a VMCSR response is for the key in csrData. */
const responseSignsCsr: Guard = ({ newObj }) => {
  const certs = certificatesOfField(getPath(newObj, ['status', 'response', 'caCertificate']));
  if (!certs) return [];
  const csr = pemTextOf(getPath(newObj, ['spec', 'csrData']));
  if (!csr) return [{ path: 'spec.csrData', type: 'Required', message: 'a response needs the CSR it answers' }];
  const bad = certs.length === 0 ? 'holds no certificate' : unparsable(certs);
  if (bad) return [{ path: 'status.response.caCertificate', type: 'Invalid', message: bad }];
  if (!matches(csr, certs[0]!)) {
    return [
      {
        path: 'status.response.caCertificate',
        type: 'Invalid',
        message: 'its public key is not the one in spec.csrData',
      },
    ];
  }
  return [];
};

export const GUARDS: Readonly<Record<GuardName, Guard>> = {
  errorNotEmpty,
  finishedCertificateValid,
  responseNotAfterDenial,
  responseSignsCsr,
};
