// Real certificates for the schema tests, made by the openssl binary (not by our own pki code, so
// the guards are checked against an independent implementation).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  rootCert: string;
  otherRootCert: string;
  /** CSR of the intermediate's key. */
  csr: string;
  /** CSR of an unrelated key. */
  otherCsr: string;
  /** Intermediate for `csr`'s key, signed directly by rootCert. */
  signedByRoot: string;
  /** A second-level CA between root and leaf, and an intermediate signed by it for `csr`'s key. */
  midCert: string;
  signedByMid: string;
  /** Signed by rootCert but for `otherCsr`'s key. */
  signedOtherKey: string;
  privateKey: string;
}

export const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-cert-schemas-'));
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    writeFileSync(
      f('ca.ext'),
      '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
    );
    const key = (name: string) =>
      ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f(name));
    for (const k of ['root.key', 'other-root.key', 'mid.key', 'int.key', 'other.key']) key(k);
    const selfSigned = (k: string, out: string, cn: string) =>
      ssl(
        'req',
        '-x509',
        '-new',
        '-key',
        f(k),
        '-subj',
        `/O=mesh-cert-test/CN=${cn}`,
        '-days',
        '30',
        '-out',
        f(out),
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      );
    selfSigned('root.key', 'root.pem', 'root');
    selfSigned('other-root.key', 'other-root.pem', 'other root');
    const csr = (k: string, out: string, cn: string) =>
      ssl('req', '-new', '-key', f(k), '-subj', `/O=gloo-mesh/OU=test/CN=${cn}`, '-out', f(out));
    csr('int.key', 'int.csr', 'istio');
    csr('other.key', 'other.csr', 'other');
    csr('mid.key', 'mid.csr', 'mid');
    const sign = (csrFile: string, caCert: string, caKey: string, out: string) =>
      ssl(
        'x509',
        '-req',
        '-in',
        f(csrFile),
        '-CA',
        f(caCert),
        '-CAkey',
        f(caKey),
        '-CAcreateserial',
        '-days',
        '10',
        '-extfile',
        f('ca.ext'),
        '-extensions',
        'ca',
        '-out',
        f(out),
      );
    sign('int.csr', 'root.pem', 'root.key', 'int.pem');
    sign('mid.csr', 'root.pem', 'root.key', 'mid.pem');
    sign('int.csr', 'mid.pem', 'mid.key', 'int-by-mid.pem');
    sign('other.csr', 'root.pem', 'root.key', 'other.pem');
    const r = (n: string) => readFileSync(f(n), 'utf8');
    return {
      rootCert: r('root.pem'),
      otherRootCert: r('other-root.pem'),
      csr: r('int.csr'),
      otherCsr: r('other.csr'),
      signedByRoot: r('int.pem'),
      midCert: r('mid.pem'),
      signedByMid: r('int-by-mid.pem'),
      signedOtherKey: r('other.pem'),
      privateKey: r('int.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
