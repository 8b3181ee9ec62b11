// A throw-away CA and a serving certificate for 127.0.0.1, made by the real openssl CLI.
// EC P-256 keeps it fast (a few ms per key).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServingCert {
  caPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A CA ("mesh-cert-sandbox-ca") and a leaf for IP:127.0.0.1 / DNS:localhost signed by it. */
export async function makeServingCert(cn = 'mesh-cert-sandbox', extraSans: string[] = []): Promise<ServingCert> {
  const dir = await mkdtemp(join(tmpdir(), 'sandbox-tls-'));
  try {
    const f = (n: string): string => join(dir, n);
    await run('openssl', [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.crt'),
      '-days',
      '3650',
      '-subj',
      `/CN=${cn}-ca`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await writeFile(
      f('ext.cnf'),
      `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...extraSans].join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n`,
    );
    await run('openssl', ['req', ...EC, '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', `/CN=${cn}`]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f('srv.csr'),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      '825',
      '-out',
      f('srv.crt'),
      '-extfile',
      f('ext.cnf'),
    ]);
    const [caPem, caKeyPem, certPem, keyPem] = await Promise.all(
      ['ca.crt', 'ca.key', 'srv.crt', 'srv.key'].map((n) => readFile(f(n), 'utf8')),
    );
    return { caPem, caKeyPem, certPem, keyPem };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
