// The material of a signing Secret in the Istio `cacerts` layout, generated (a new self-signed
// root) or imported from files (a root, or an intermediate with its chain). Everything is
// verified with schemas/pki before anything is written.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as pki from '../../../schemas/pki/index.js';
import { UserError } from '../lib/errors.js';

export interface SigningMaterial {
  caCertPem: string;
  caKeyPem: string;
  rootPems: string[];
  /** ca-cert, then every intermediate, then the root (Istio's cert-chain.pem). */
  chainPems: string[];
}

export const ISTIO_KEYS = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const;

export function secretData(m: SigningMaterial): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const join_ = (pems: string[]) => pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
  return {
    'ca-cert.pem': b64(m.caCertPem),
    'ca-key.pem': b64(m.caKeyPem),
    'root-cert.pem': b64(join_(m.rootPems)),
    'cert-chain.pem': b64(join_(m.chainPems)),
  };
}

export async function generateRoot(opts: { org: string; commonName: string; ttlDays: number; keyBits: 2048 | 3072 | 4096 }): Promise<SigningMaterial> {
  const key = await pki.generateRsaKey(opts.keyBits);
  const cert = pki.createRootCa({ privateKeyPem: key.privateKeyPem, subject: { O: opts.org, CN: opts.commonName }, ttlDays: opts.ttlDays });
  return { caCertPem: cert, caKeyPem: key.privateKeyPem, rootPems: [cert], chainPems: [cert] };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** The files to read: a directory's *.pem/*.crt/*.key files, or the listed files (comma list). */
export function filesOf(spec: string): string[] {
  const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const out: string[] = [];
  for (const item of items) {
    let st;
    try {
      st = statSync(item);
    } catch {
      throw new UserError(`--from-files: ${item}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const files = readdirSync(item).filter((f) => /\.(pem|crt|key)$/.test(f)).sort().map((f) => join(item, f));
      if (files.length === 0) throw new UserError(`--from-files: directory ${item} holds no .pem, .crt or .key files`);
      out.push(...files);
    } else out.push(item);
  }
  return out;
}

/**
 * Reads keys and certificates from files and orders them into signing material: the one private
 * key, the certificate it belongs to (ca-cert), the chain up to a self-signed root, and the roots.
 */
export function importFiles(spec: string): SigningMaterial {
  const files = filesOf(spec);
  const keys: { file: string; pem: string }[] = [];
  const certs = new Map<string, { file: string; pem: string; x: X509Certificate }>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const blocks = [...text.matchAll(PEM_BLOCK)];
    if (blocks.length === 0) throw new UserError(`--from-files: ${basename(file)} holds no PEM block`);
    for (const b of blocks) {
      const type = b[1];
      if (/PRIVATE KEY$/.test(type)) keys.push({ file, pem: `${b[0]}\n` });
      else if (type === 'CERTIFICATE') {
        let x: X509Certificate;
        try {
          x = new X509Certificate(b[0]);
        } catch {
          throw new UserError(`--from-files: ${basename(file)} holds a certificate that does not parse`);
        }
        if (!certs.has(x.fingerprint256)) certs.set(x.fingerprint256, { file, pem: `${b[0]}\n`, x });
      } else throw new UserError(`--from-files: ${basename(file)} holds a "${type}" block; expected certificates and one private key`);
    }
  }
  const distinctKeys = [...new Map(keys.map((k) => [k.pem.replace(/\s+/g, ''), k])).values()];
  if (distinctKeys.length !== 1) {
    throw new UserError(`--from-files: expected exactly one private key (ca-key.pem), found ${distinctKeys.length}`);
  }
  const key = distinctKeys[0];
  if (certs.size === 0) throw new UserError('--from-files: no certificate found; expected the CA certificate (ca-cert.pem) and its root');
  const all = [...certs.values()];
  const own = all.filter((c) => pki.privateKeyMatchesCert(key.pem, c.pem));
  if (own.length === 0) throw new UserError(`--from-files: the private key in ${basename(key.file)} matches none of the certificates`);
  // Prefer the file named ca-cert.pem if several certificates share the key (re-issued CA).
  const ca = own.find((c) => basename(c.file) === 'ca-cert.pem') ?? own[0];
  if (!ca.x.ca) throw new UserError(`--from-files: the certificate of the private key (${ca.x.subject.replace(/\n/g, ', ')}) is not a CA certificate`);

  const isSelfSigned = (c: { x: X509Certificate }) => c.x.checkIssued(c.x) && c.x.verify(c.x.publicKey);
  const chain = [ca];
  let cur = ca;
  while (!isSelfSigned(cur)) {
    const parent = all.find((p) => p !== cur && cur.x.checkIssued(p.x) && cur.x.verify(p.x.publicKey));
    if (!parent) {
      throw new UserError(`--from-files: the chain of ${cur.x.subject.replace(/\n/g, ', ')} stops: its issuer (${cur.x.issuer.replace(/\n/g, ', ')}) is not among the files; add the intermediate or root certificate`);
    }
    if (chain.includes(parent)) throw new UserError('--from-files: the certificates form a loop');
    chain.push(parent);
    cur = parent;
  }
  const root = cur;
  // Other self-signed certificates (a root-cert.pem bundle during a rotation) stay trusted too.
  const otherRoots = all.filter((c) => c !== root && !chain.includes(c) && isSelfSigned(c));
  const unused = all.filter((c) => !chain.includes(c) && !otherRoots.includes(c));
  if (unused.length) {
    throw new UserError(`--from-files: ${unused.length} certificate(s) are neither in the chain of the CA certificate nor roots (first: ${unused[0].x.subject.replace(/\n/g, ', ')} in ${basename(unused[0].file)})`);
  }
  return { caCertPem: ca.pem, caKeyPem: key.pem, rootPems: [root.pem, ...otherRoots.map((r) => r.pem)], chainPems: chain.map((c) => c.pem) };
}

/** Verifies material as a signing Secret would be verified; returns the warnings. */
export function verifyMaterial(m: SigningMaterial): string[] {
  const res = pki.verifySigningSecret(secretData(m));
  if (!res.ok) throw new UserError(`the CA material does not verify: ${res.error}`);
  return res.warnings;
}
