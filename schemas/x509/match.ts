// Does a key, a CSR and a certificate belong together? Compared by public key, never by name.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { readCsr } from './csr.js';
import { PkiError } from './errors.js';
import { privateKeyObject } from './keys.js';
import { parseCertificateFull } from './parse.js';
import { pemToDer } from './pem.js';

function certOf(pem: string, what: string): X509Certificate {
  const der = pemToDer(pem, ['CERTIFICATE'], what);
  try {
    return new X509Certificate(der);
  } catch {
    throw new PkiError(`${what}: the certificate does not parse`);
  }
}

/**
 * True when the certificate carries the CSR's public key. The CSR's self-signature is verified
 * too unless `verifyCsrSignature` is false: an admission check asking only "does this
 * certificate answer that request" skips it, since the issuer verified it before signing.
 * Throws PkiError when either does not parse.
 */
export function publicKeyOfCsrMatchesCert(
  csrPem: string,
  certPem: string,
  opts: { verifyCsrSignature?: boolean } = {},
): boolean {
  const csr = readCsr(csrPem, 'csrPem', { verifySignature: opts.verifyCsrSignature !== false });
  const cert = parseCertificateFull(certPem, 'certPem');
  if (cert.spkiDer.equals(csr.spkiDer)) return true;
  // Issuers copy the CSR's SubjectPublicKeyInfo, but one that re-encodes the key may write other
  // (equivalent) DER: compare OpenSSL's canonical encodings before saying no.
  try {
    const spki = (der: Buffer) =>
      createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
    return spki(cert.spkiDer).equals(spki(csr.spkiDer));
  } catch {
    return false;
  }
}

/** True when `keyPem` is the private key of the certificate. Throws PkiError when either does not parse. */
export function privateKeyMatchesCert(keyPem: string, certPem: string): boolean {
  const key = privateKeyObject(keyPem, 'keyPem');
  const cert = certOf(certPem, 'certPem');
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}
