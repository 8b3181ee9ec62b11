// What decides that a re-issue step may be followed by the next: a Verifier, given the built-in
// trust check's report. The built-in one trusts that report alone; verify-command.ts runs the
// user's --verify-command.
import type { CertificateRotation } from '../objects.js';
import type { ReissueStep } from './plan.js';
import type { TrustReport } from './trust-check.js';

export interface VerifyContext {
  rotation: CertificateRotation;
  /** The re-issue step just completed. */
  after: ReissueStep;
  clusters: string[];
  report: TrustReport;
}
export type VerifyDecision = { ok: true; message: string } | { ok: false; reason: string };
export type Verifier = (ctx: VerifyContext) => Promise<VerifyDecision>;

/** The built-in check as a verifier (--yes without --verify-command). */
export const builtInVerifier: Verifier = async ({ report }) =>
  report.ok
    ? { ok: true, message: `built-in check: ${report.checked} cluster pairs verified each other's intermediates` }
    : {
        ok: false,
        reason:
          report.failures[0]!.error + (report.failures.length > 1 ? ` (and ${report.failures.length - 1} more)` : ''),
      };
