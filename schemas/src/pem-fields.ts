// Structural checks of `bytes` fields: base64 that decodes to PEM blocks of the expected type.
// Deep parsing (ASN.1, signatures) is schemas/x509's job; this only answers "is it the right kind
// of text", cheaply, for every write.
import { blockBodyDer, decodeBase64Strict, toPem, type PemBlock } from '../x509/pem.js';
import { RecentCache } from '../x509/recent-cache.js';

/** A PemBlock (schemas/x509's) that keeps its DER: the canonical PEM is made only on first use. */
export class DecodedPemBlock implements PemBlock {
  #pem: string | undefined;

  constructor(
    readonly type: string,
    readonly der: Buffer,
  ) {}

  get pem(): string {
    return (this.#pem ??= toPem(this.type, this.der));
  }
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

// The schema's format check, the PEM check and the guards all decode the same fields of one
// review: keep the last few results (see recent-cache.ts for why not in a Map).
const recent = new RecentCache<Buffer | null>(16);

/** Standard base64 as Kubernetes' `format: byte` accepts it (no line breaks, padded). */
export function isBase64(text: string): boolean {
  return decodeBase64(text) !== undefined;
}

/** The decoded bytes (shared: do not modify them), or undefined when `text` is not standard base64. */
export function decodeBase64(text: string): Buffer | undefined {
  const hit = recent.get(text);
  if (hit !== undefined) return hit ?? undefined;
  const bytes = decodeBase64Strict(text);
  recent.set(text, bytes ?? null);
  return bytes;
}

/** Blocks in the text, or a reason the text is not PEM. Text outside blocks is ignored, as Go's pem.Decode and openssl do. */
export function pemBlocks(text: string): { blocks: DecodedPemBlock[] } | { error: string } {
  const blocks: DecodedPemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m;
    if (begin !== end) return { error: `PEM block ${blocks.length + 1} begins as ${begin} but ends as ${end}` };
    // Headers (RFC 1421, e.g. "Proc-Type:") sit before a blank line; encrypted keys use them.
    // Not through the memo: a block's body is a new string nobody asks about again.
    const der = blockBodyDer(
      body!.includes(':')
        ? body!
            .split(/\r?\n/)
            .map((l) => l.trim())
            .filter((l) => l !== '' && !l.includes(':'))
            .join('')
        : body!,
    );
    if (!der) return { error: `PEM block ${blocks.length + 1} (${begin}) has a body that is not base64` };
    // Every X.509 and PKCS#10 structure is a DER SEQUENCE.
    if (der[0] !== 0x30) return { error: `PEM block ${blocks.length + 1} (${begin}) does not hold a DER SEQUENCE` };
    blocks.push(new DecodedPemBlock(begin!, der));
  }
  if (blocks.length === 0) return { error: 'no PEM block found' };
  return { blocks };
}

type FieldBlocks = { blocks: DecodedPemBlock[] } | { error: string };

// The schema's x-pem-type check and the guards read the same fields of one review, and roots and
// CSRs come back review after review: keep the blocks of the last few fields (null: not base64).
const fieldBlocks = new RecentCache<FieldBlocks | null>(16);

/** The PEM blocks of a `bytes` field (base64 of PEM text), why it holds none, or undefined when it is not base64. Shared: do not modify. */
export function pemBlocksOfField(base64Text: string): FieldBlocks | undefined {
  const hit = fieldBlocks.get(base64Text);
  if (hit !== undefined) return hit ?? undefined;
  const bytes = decodeBase64(base64Text);
  const parsed = bytes ? pemBlocks(bytes.toString('utf8')) : null;
  fieldBlocks.set(base64Text, parsed);
  return parsed ?? undefined;
}

/**
 * Canonical PEM of each CERTIFICATE block in a `bytes` field: undefined when the field is absent
 * or empty, null when it is not base64 of well-formed PEM (the schema's format and x-pem-type
 * checks report that, with the reason, at the same path).
 */
export function certificatesOfField(base64Text: unknown): string[] | null | undefined {
  if (typeof base64Text !== 'string' || base64Text === '') return undefined;
  const parsed = pemBlocksOfField(base64Text);
  if (!parsed) return null;
  return 'error' in parsed ? null : parsed.blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => b.pem);
}

/** Why `base64Text` is not base64 of PEM with only `expected` blocks (exactly one when `single`), or undefined. */
export function checkPemBytes(base64Text: string, expected: string, single: boolean): string | undefined {
  const parsed = pemBlocksOfField(base64Text);
  if (!parsed) return 'must be standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)';
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
