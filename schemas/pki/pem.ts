// PEM text <-> DER. Secrets and CRD fields carry PEM; the ASN.1 work happens on DER.
import { PkiError } from './errors.js';

export interface PemBlock {
  /** The label between BEGIN and END, e.g. "CERTIFICATE", "PRIVATE KEY". */
  type: string;
  /** The block re-emitted canonically: base64 wrapped at 64 columns, LF line ends, trailing newline. */
  pem: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order; text between blocks (openssl's "subject=" lines) is ignored. */
export function splitPem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const type = m[1];
    const body = m[2];
    // Encrypted legacy PEM carries headers ("Proc-Type: 4,ENCRYPTED"); keep them so callers can tell.
    if (/^\s*[A-Za-z-]+:/m.test(body)) {
      out.push({ type, pem: `-----BEGIN ${type}-----\n${body.trim().replace(/\r\n/g, '\n')}\n-----END ${type}-----\n` });
      continue;
    }
    const b64 = body.replace(/\s+/g, '');
    out.push({ type, pem: toPem(type, Buffer.from(b64, 'base64')) });
  }
  return out;
}

export function toPem(type: string, der: Uint8Array): string {
  const b64 = (Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength)).toString('base64');
  // Concatenation, not an array and join: half the time, and every certificate signed ends here.
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${type}-----\n${body}-----END ${type}-----\n`;
}

/**
 * The DER of the single block of one of `types` in `pem`. `what` names the input in errors
 * ("csrPem", "ca-cert.pem").
 */
export function pemToDer(pem: string, types: readonly string[], what: string): Buffer {
  if (typeof pem !== 'string') throw new PkiError(`${what}: expected PEM text, got ${typeof pem}`);
  let found: Buffer | undefined;
  let count = 0;
  for (const m of pem.matchAll(BLOCK)) {
    if (!types.includes(m[1])) continue;
    count++;
    // Node's base64 decoder skips the line breaks.
    found = Buffer.from(m[2], 'base64');
  }
  if (!found) throw new PkiError(`${what}: no PEM ${types.join(' or ')} block found`);
  if (count > 1) throw new PkiError(`${what}: expected one ${types[0]} block, found ${count}`);
  if (found.length === 0) throw new PkiError(`${what}: the ${types[0]} block is empty`);
  return found;
}


/** The certificates in a bundle, canonical PEM each; other block types are ignored. */
export function certificatesIn(text: string): string[] {
  return splitPem(text)
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => b.pem);
}
