// Certificates of one cluster, made with the openssl CLI (as the sandbox does): a cluster CA that
// signs the apiserver's serving certificate and every client certificate (kubeadm's layout:
// --client-ca-file is the same CA), EC P-256 keys because they take milliseconds.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface CertKey {
  certPem: string;
  keyPem: string;
}
export interface ClusterCa {
  dir: string;
  certFile: string;
  keyFile: string;
  caPem: string;
}

/** A distinguished-name value for openssl -subj: "/" "+" "=" "\" must be escaped. */
function dnValue(v: string): string {
  if (!v || /[\n\r\0]/.test(v))
    throw new Error(`certificate subject value ${JSON.stringify(v)} is empty or has control characters`);
  return v.replace(/[\\/+=]/g, '\\$&');
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error("kube: openssl is not on PATH (it makes the clusters' certificates)", { cause: e });
    throw new Error(`kube: openssl ${args[0]} failed: ${err.stderr?.trim() || err.message}`, { cause: e });
  }
}

export async function makeCa(dir: string, cn: string): Promise<ClusterCa> {
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  await openssl([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '3650',
    '-subj',
    `/CN=${dnValue(cn)}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return { dir, certFile, keyFile, caPem: await readFile(certFile, 'utf8') };
}

let seq = 0;

/** A leaf signed by the CA; its files are written to ca.dir/<base>.{crt,key}. */
async function makeLeaf(
  ca: ClusterCa,
  subject: string,
  ext: string,
  base?: string,
): Promise<CertKey & { certFile: string; keyFile: string }> {
  const name = base ?? `leaf-${process.pid}-${++seq}-${randomBytes(3).toString('hex')}`;
  const f = (s: string): string => join(ca.dir, `${name}.${s}`);
  await writeFile(f('ext'), ext);
  await openssl(['req', ...EC, '-keyout', f('key'), '-out', f('csr'), '-subj', subject]);
  await openssl([
    'x509',
    '-req',
    '-in',
    f('csr'),
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    `0x${randomBytes(16).toString('hex')}`,
    '-days',
    '825',
    '-out',
    f('crt'),
    '-extfile',
    f('ext'),
  ]);
  const [certPem, keyPem] = await Promise.all([readFile(f('crt'), 'utf8'), readFile(f('key'), 'utf8')]);
  return { certPem, keyPem, certFile: f('crt'), keyFile: f('key') };
}

/** kube-apiserver's serving certificate: the loopback names plus the in-cluster ones of the kubernetes Service. */
export function makeServingCert(ca: ClusterCa, serviceIp: string) {
  const sans = [
    'IP:127.0.0.1',
    'DNS:localhost',
    `IP:${serviceIp}`,
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ];
  return makeLeaf(
    ca,
    '/CN=kube-apiserver',
    `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n`,
    'apiserver',
  );
}

/** A client certificate: kube-apiserver takes CN as the user name and each O as a group. */
export function makeClientCert(ca: ClusterCa, user: string, groups: string[] = [], base?: string) {
  const subject = `/CN=${dnValue(user)}${groups.map((g) => `/O=${dnValue(g)}`).join('')}`;
  return makeLeaf(
    ca,
    subject,
    'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n',
    base,
  );
}

/** The service-account token key pair (node:crypto: no process needed). */
export async function makeServiceAccountKey(dir: string): Promise<{ keyFile: string; pubFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyFile = join(dir, 'sa.key');
  const pubFile = join(dir, 'sa.pub');
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(pubFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { keyFile, pubFile };
}
