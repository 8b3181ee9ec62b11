// Does a key, a CSR and a certificate belong together? Compared by public key, never by name.
import { X509Certificate } from 'node:crypto';
import { readCsr } from './csr.js';
import { PkiError } from './errors.js';
import { privateKeyObject } from './keys.js';
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
 * True when the certificate carries the CSR's public key (the CSR's signature is verified too).
 * Throws PkiError when either does not parse.
 */
export function publicKeyOfCsrMatchesCert(csrPem: string, certPem: string): boolean {
  const csr = readCsr(csrPem);
  const cert = certOf(certPem, 'certPem');
  return cert.publicKey.export({ type: 'spki', format: 'der' }).equals(Buffer.from(csr.spkiHex, 'hex'));
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
