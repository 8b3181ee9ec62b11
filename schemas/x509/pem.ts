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
    // Encrypted legacy PEM carries headers ("Proc-Type: 4,ENCRYPTED"); keep them so callers can
    // tell. A body that is not base64 is passed on as written too, so that whoever parses it says
    // so instead of reading what a lenient decoder made of it.
    const der = /^\s*[A-Za-z-]+:/m.test(body) ? undefined : blockBodyDer(body);
    out.push({ type, pem: der ? toPem(type, der) : asWritten(type, body) });
  }
  return out;
}

/** A block re-emitted with its body as written (trimmed, LF line ends). */
function asWritten(type: string, body: string): string {
  return `-----BEGIN ${type}-----\n${body.trim().replace(/\r\n/g, '\n')}\n-----END ${type}-----\n`;
}

/**
 * Standard padded base64 decoded, or undefined. Node's decoder skips ASCII that is not base64
 * (and takes the URL-safe - and _), and reads a character above U+00FF by its low byte alone
 * (U+0141 as "A", U+202F as "/"). So the text is canonical exactly when it is ASCII, its length
 * is a multiple of 4, it has neither - nor _, and it decodes to the byte count its length and
 * padding promise (test/schemas checks this against the grammar as a regular expression). Four
 * times faster than that expression, which matters on 2-4 KB certificates in every review.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || Buffer.byteLength(text, 'utf8') !== text.length) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (bytes.length !== (text.length / 4) * 3 - pad || text.includes('-') || text.includes('_')) return undefined;
  return bytes;
}

const BASE64_EXPECTED = 'expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)';

/**
 * The UTF-8 text a base64 value holds (Secret.data values, the API's `bytes` fields), read
 * strictly: '' when absent, a PkiError naming `what` (the Secret key or field) when the value is
 * not standard base64. A lenient decoder would hand its callers whatever bytes it made of it.
 */
export function base64Text(value: string | undefined, what: string): string {
  if (value === undefined || value === '') return '';
  const bytes = decodeBase64Strict(value);
  if (!bytes) throw new PkiError(`${what}: ${BASE64_EXPECTED}`, { input: what });
  return bytes.toString('utf8');
}

/** What secretText reads: a Secret as the API returns it (data values are base64). */
export interface SecretLike {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

/** The text of `key` in a Secret's data ('' when absent); an undecodable value is a PkiError naming the Secret and the key. */
export function secretText(secret: SecretLike | undefined, key: string): string {
  const m = secret?.metadata;
  return base64Text(secret?.data?.[key], m ? `Secret ${m.namespace ?? ''}/${m.name ?? ''} ${key}` : key);
}

/** base64 of UTF-8 text, as Secret.data and `bytes` fields hold it. */
export function textBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * The bytes of a PEM block body (whitespace allowed anywhere, as OpenSSL and Go allow line
 * breaks), or undefined when it is empty or not standard base64. Only the line feeds are removed
 * first: that is what nearly every PEM holds, and it costs half the general expression. The result
 * is canonical base64 only if nothing else was there, in which case the expression would have left
 * the same text; otherwise the expression decides.
 */
export function blockBodyDer(body: string): Buffer | undefined {
  return (
    nonEmpty(decodeBase64Strict(body.replaceAll('\n', ''))) ?? nonEmpty(decodeBase64Strict(body.replace(/\s+/g, '')))
  );
}

function nonEmpty(b: Buffer | undefined): Buffer | undefined {
  return b && b.length > 0 ? b : undefined;
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
  let count = 0;
  let body: string | undefined;
  for (const m of pem.matchAll(BLOCK)) {
    if (!types.includes(m[1])) continue;
    count++;
    body = m[2];
  }
  if (body === undefined) throw new PkiError(`${what}: no PEM ${types.join(' or ')} block found`);
  if (count > 1) throw new PkiError(`${what}: expected one ${types[0]} block, found ${count}`);
  const found = blockBodyDer(body);
  // Told apart only on failure: the trim is a copy of every body otherwise.
  if (!found)
    throw new PkiError(
      body.trim() === ''
        ? `${what}: the ${types[0]} block is empty`
        : `${what}: the ${types[0]} block's body is not base64`,
    );
  return found;
}

/** The certificates in a bundle, canonical PEM each; other block types are ignored. */
export function certificatesIn(text: string): string[] {
  return splitPem(text)
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => b.pem);
}
