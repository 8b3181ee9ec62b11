// How a CertificateRotation's state and step read in every command's output (status, rotate):
// one wording, so the same moment never reads two ways.
/**
 * A rotation's state words, each once: `ROTATING ADDING_NEW_ROOT`, `VERIFYING (after
 * PROPAGATING_NEW_INTERMEDIATE)`, `FINISHED` (not `VERIFYING VERIFYING`, `FINISHED (FINISHED)`).
 * `after` is the step a VERIFYING step verifies.
 */
export function rotationWords(state: string, rotationState: string | undefined, after?: string): string {
  const step = rotationStep(state, rotationState);
  const verified = after && after !== step && after !== state ? ` (after ${after})` : '';
  return `${state}${step ? ` ${step}` : ''}${verified}`;
}

/** The step of a rotation worth naming beside its state: none when it only repeats it. */
export function rotationStep(state: string, rotationState: string | undefined): string | undefined {
  if (!rotationState || rotationState === state || rotationState === 'NOT_ROTATING') return undefined;
  // A finished or failed rotation's last step is history; its error says what went wrong.
  if ((state === 'FINISHED' || state === 'FAILED') && ['FINISHED', 'FAILED', 'PREVIOUS_CA'].includes(rotationState))
    return undefined;
  return rotationState;
}
