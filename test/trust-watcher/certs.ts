// Certificates for the watcher's tests, made with the openssl CLI (not the project's PKI code, so
// a bug there cannot make these tests pass); keys from node:crypto. EC P-256: fast, and the
// watcher does not care about the key type.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyCert {
  name: string;
  cert: string;
  key: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function make(cn: string, issuer: KeyCert | undefined, o: { days?: number; ca?: boolean }): KeyCert {
  const dir = mkdtempSync(join(tmpdir(), 'trust-watcher-'));
  try {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    writeFileSync(join(dir, 'k.pem'), key);
    const ext =
      o.ca === false
        ? ['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature']
        : [
            '-addext',
            'basicConstraints=critical,CA:TRUE',
            '-addext',
            'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
          ];
    const signer: string[] = [];
    if (issuer) {
      writeFileSync(join(dir, 'ca.pem'), issuer.cert);
      writeFileSync(join(dir, 'ca-key.pem'), issuer.key);
      signer.push('-CA', 'ca.pem', '-CAkey', 'ca-key.pem');
    }
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-config',
      '/dev/null',
      '-key',
      'k.pem',
      '-subj',
      `/O=trust-watcher-test/CN=${cn}`,
      '-days',
      String(o.days ?? 30),
      ...signer,
      ...ext,
      '-out',
      'c.pem',
    ]);
    return { name: cn, cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const makeRoot = (cn: string, o: { days?: number } = {}): KeyCert => make(cn, undefined, o);
export const makeCA = (cn: string, issuer: KeyCert, o: { days?: number; ca?: boolean } = {}): KeyCert =>
  make(cn, issuer, o);

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/**
 * The `data` of an Istio cacerts Secret: `ca` with its key, cert-chain = ca then `chain` (the
 * certificates between it and the root, then the root), root-cert = `roots`.
 */
export function cacerts(
  ca: KeyCert,
  chain: KeyCert[],
  roots: KeyCert[],
  o: { key?: string; extra?: Record<string, string> } = {},
): Record<string, string> {
  return {
    'ca-cert.pem': b64(ca.cert),
    'ca-key.pem': b64(o.key ?? ca.key),
    'cert-chain.pem': b64([ca, ...chain].map((c) => c.cert).join('')),
    'root-cert.pem': b64(roots.map((c) => c.cert).join('')),
    ...Object.fromEntries(Object.entries(o.extra ?? {}).map(([k, v]) => [k, b64(v)])),
  };
}
