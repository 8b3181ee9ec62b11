// Structural checks of `bytes` fields: base64 that decodes to PEM blocks of the expected type.
// Deep parsing (ASN.1, signatures) is schemas/pki's job; this only answers "is it the right kind
// of text", cheaply, for every write.
export interface PemBlock {
  type: string;
  der: Buffer;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Standard base64 as Kubernetes' `format: byte` accepts it (no line breaks, padded). */
export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && BASE64.test(text);
}

export function decodeBase64(text: string): Buffer | undefined {
  return isBase64(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Blocks in the text, or a reason the text is not PEM. Text outside blocks is ignored, as Go's pem.Decode and openssl do. */
export function pemBlocks(text: string): { blocks: PemBlock[] } | { error: string } {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m;
    if (begin !== end) return { error: `PEM block ${blocks.length + 1} begins as ${begin} but ends as ${end}` };
    const lines = body!.split(/\r?\n/).map((l) => l.trim());
    // Headers (RFC 1421, e.g. "Proc-Type:") sit before a blank line; encrypted keys use them.
    const b64 = lines.filter((l) => l !== '' && !l.includes(':')).join('');
    if (b64 === '' || !isBase64(b64)) return { error: `PEM block ${blocks.length + 1} (${begin}) has a body that is not base64` };
    const der = Buffer.from(b64, 'base64');
    // Every X.509 and PKCS#10 structure is a DER SEQUENCE.
    if (der[0] !== 0x30) return { error: `PEM block ${blocks.length + 1} (${begin}) does not hold a DER SEQUENCE` };
    blocks.push({ type: begin!, der });
  }
  if (blocks.length === 0) return { error: 'no PEM block found' };
  return { blocks };
}

/** Why `base64Text` is not base64 of PEM with only `expected` blocks (exactly one when `single`), or undefined. */
export function checkPemBytes(base64Text: string, expected: string, single: boolean): string | undefined {
  const bytes = decodeBase64(base64Text);
  if (!bytes) return 'must be standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)';
  const text = bytes.toString('utf8');
  const parsed = pemBlocks(text);
  if ('error' in parsed) return `must be base64 of PEM text with ${expected} blocks: ${parsed.error}`;
  const types = parsed.blocks.map((b) => b.type);
  // Never echo what a stray key block holds, only that it is there.
  if (types.some((t) => t.includes('PRIVATE KEY'))) return 'must not contain a private key';
  const wrong = types.filter((t) => t !== expected);
  if (wrong.length > 0) return `must hold only ${expected} PEM blocks, found ${[...new Set(wrong)].join(', ')}`;
  if (single && types.length !== 1) return `must hold exactly one ${expected} PEM block, found ${types.length}`;
  return undefined;
}

/** Decodes a `bytes` field to PEM text; undefined when absent or not base64. */
export function pemTextOf(base64Text: unknown): string | undefined {
  if (typeof base64Text !== 'string' || base64Text === '') return undefined;
  return decodeBase64(base64Text)?.toString('utf8');
}
