/**
 * Every problem with certificates, keys, CSRs or Secrets. Messages name what is wrong (a Secret
 * key, a certificate's subject, an argument) and never contain key material.
 */
export class PkiError extends Error {
  override name = 'PkiError';

  /** The argument the error is about ("csrPem"), when the function that threw knows it. */
  readonly input?: string;

  constructor(message: string, opts: { input?: string } = {}) {
    super(message);
    if (opts.input !== undefined) this.input = opts.input;
  }
}

/**
 * What a PkiError says without the label of the input it names ("certPem: the certificate does
 * not parse" -> "the certificate does not parse"), for callers that put their own name on it;
 * `fallback` for anything that is not a PkiError.
 */
export function withoutLabel(err: unknown, fallback: string): string {
  return err instanceof PkiError ? err.message.replace(/^[^:]*: /, '') : fallback;
}
