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
