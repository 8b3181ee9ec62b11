// For the expiry metrics and the monitoring rules: a mesh's CA chain of chosen lifetimes (a root,
// a shared intermediate signer, a cluster's intermediate), the FINISHED CertificateRequest that
// carries it, kubectl against a backend, and a reader of the Prometheus text format.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp } from './helpers.js';

export interface Chain {
  rootPem: string;
  signerPem: string;
  intermediatePem: string;
  csrPem: string;
  /** notAfter of each, in Unix seconds. */
  notAfter: { root: number; signer: number; intermediate: number };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** root (rootDays) signs signer (signerDays), which signs the cluster's intermediate (intermediateDays). */
export function genChain(
  days: { root: number; signer: number; intermediate: number },
  dir = tmp('mesh-cert-chain-'),
): Chain {
  const p = (f: string): string => join(dir, f);
  const openssl = (args: string[]): string =>
    execFileSync('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  writeFileSync(
    p('ca.ext'),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n',
  );
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    String(days.root),
    '-subj',
    '/O=gloo-mesh/CN=root-ca',
    '-keyout',
    p('root.key'),
    '-out',
    p('root.crt'),
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  for (const [name, ou] of [
    ['signer', 'signer'],
    ['int', 'cluster-1'],
  ] as const) {
    openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/O=gloo-mesh/OU=${ou}`,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
    ]);
  }
  const sign = (csr: string, ca: string, out: string, serial: string, d: number): void => {
    openssl([
      'x509',
      '-req',
      '-in',
      p(csr),
      '-CA',
      p(`${ca}.crt`),
      '-CAkey',
      p(`${ca}.key`),
      '-set_serial',
      serial,
      '-days',
      String(d),
      '-extfile',
      p('ca.ext'),
      '-out',
      p(out),
    ]);
  };
  sign('signer.csr', 'root', 'signer.crt', '21', days.signer);
  sign('int.csr', 'signer', 'int.crt', '22', days.intermediate);
  const r = (f: string): string => readFileSync(p(f), 'utf8');
  const end = (f: string): number =>
    Date.parse(
      openssl(['x509', '-in', p(f), '-noout', '-enddate'])
        .trim()
        .replace(/^notAfter=/, ''),
    ) / 1000;
  return {
    rootPem: r('root.crt'),
    signerPem: r('signer.crt'),
    intermediatePem: r('int.crt'),
    csrPem: r('int.csr'),
    notAfter: { root: end('root.crt'), signer: end('signer.crt'), intermediate: end('int.crt') },
  };
}

/** A CertificateRequest (no status), and the FINISHED status that carries `chain`. */
export function finishedRequest(
  name: string,
  namespace: string,
  chain: Chain,
): { object: Record<string, unknown>; status: Record<string, unknown> } {
  return {
    object: {
      apiVersion: 'certificates.mesh.gloo.solo.io/v1',
      kind: 'CertificateRequest',
      metadata: { name, namespace },
      spec: { certificateSigningRequest: b64(chain.csrPem) },
    },
    status: {
      observedGeneration: 1,
      state: 'FINISHED',
      signedCertificate: b64(chain.intermediatePem),
      signingRootCa: b64(chain.signerPem + chain.rootPem),
    },
  };
}

/** kubectl, asynchronously: the sandbox's API server runs in this process. */
export function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      '/usr/bin/kubectl',
      ['--kubeconfig', kubeconfig, ...args],
      { encoding: 'utf8' },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin!.end(input ?? '');
  });
}

/** Creates the request and writes its status, as the issuer would. */
export async function applyFinished(kubeconfig: string, name: string, namespace: string, chain: Chain): Promise<void> {
  const { object, status } = finishedRequest(name, namespace, chain);
  await kubectl(kubeconfig, ['apply', '-f', '-'], JSON.stringify(object));
  await kubectl(kubeconfig, [
    'patch',
    'certificaterequests.certificates.mesh.gloo.solo.io',
    '-n',
    namespace,
    name,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (version 0.0.4). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (let l = re.exec(m[2] ?? ''); l; l = re.exec(m[2] ?? ''))
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    const v = m[3]!;
    out.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return out;
}
