// The little certificate reading the report commands need on their fast path (validity and
// fingerprints), done by OpenSSL through node:crypto. Structure-level work (SANs, key usage,
// chains, signing) belongs to schemas/x509, which `inspect`, `check` and `root create` load; its
// PEM and base64 codec (pem.ts, no ASN.1) is light enough for this path and is the one used here.
import { X509Certificate } from 'node:crypto';
import { base64Text, certificatesIn } from '#schemas/x509/pem.js';

export interface CertBrief {
  subject: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it (AB:CD:...). */
  fingerprint: string;
  isCA: boolean;
}

/** The certificates of a PEM text, canonical PEM each (schemas/x509's reader). */
export function certPems(text: string | undefined): string[] {
  return text ? certificatesIn(text) : [];
}

/**
 * The text of a base64 value, or undefined when it is absent. Strict: a value that is not
 * standard base64 is a PkiError naming `what` (the Secret key or field), never a misreading.
 */
export function fromBase64(b64: string | undefined, what = 'value'): string | undefined {
  return b64 ? base64Text(b64, what) : undefined;
}

// A report meets the same certificates again and again (every cluster's Secret holds the mesh's
// root, a chain repeats its intermediate): each PEM is parsed once per process. Bounded, so a
// long `status --watch` does not grow without end.
const BRIEF_CACHE_MAX = 4096;
const briefs = new Map<string, CertBrief | null>();

/** The first certificate of a PEM text, or undefined if there is none or it does not parse. */
export function briefOf(text: string | undefined): CertBrief | undefined {
  const pem = certPems(text)[0];
  if (!pem) return undefined;
  const known = briefs.get(pem);
  if (known !== undefined) return known ? { ...known } : undefined;
  let brief: CertBrief | null;
  try {
    const c = new X509Certificate(pem);
    brief = {
      subject: c.subject.replace(/\n/g, ', '),
      notBefore: new Date(c.validFrom).toISOString(),
      notAfter: new Date(c.validTo).toISOString(),
      fingerprint: c.fingerprint256,
      isCA: c.ca,
    };
  } catch {
    brief = null;
  }
  if (briefs.size >= BRIEF_CACHE_MAX) briefs.clear();
  briefs.set(pem, brief);
  // A copy: callers may annotate what they get.
  return brief ? { ...brief } : undefined;
}

export function daysLeft(notAfter: string, now = Date.now()): number {
  return Math.floor((Date.parse(notAfter) - now) / 86_400_000);
}

/** First 8 bytes of a fingerprint, enough to tell roots apart in a table. */
export function shortFingerprint(fp: string | undefined): string {
  return fp ? fp.split(':').slice(0, 8).join(':') : '';
}
