// The engine's own continuous trust check during a re-issue step: the last-read issued Secret of
// every certificate of the mesh, checked again each time one of them is rewritten. The first gap
// it sees is kept: a step that saw one does not advance.
// Incremental: while no gap was seen every pair verified at the last check, so when one
// certificate's Secret changes only the pairs it is part of can change: its intermediate against
// every bundle held, and every intermediate against its bundle. Those are checked in checkTrust's
// order (intermediate by intermediate, bundle by bundle, in the order the certificates were
// first held), so the first gap is the one checkTrust over all pairs would report first. Verdicts
// are cached for the whole step by intermediate and bundle (TrustVerdicts): a bundle most clusters
// share is verified once per intermediate, not once per pair. They are taken at the moment each
// is first verified: a step is bounded by its --timeout, and verifyStep checks afresh after it.
import type { MeshCertificate } from './targets.js';
import {
  keyed,
  readIssued,
  trustFailure,
  TrustVerdicts,
  type IssuedMaterial,
  type KeyedMaterial,
  type TrustFailure,
} from './trust-check.js';

const keyOf = (m: IssuedMaterial) => `${m.cluster}\u0000${m.secret}`;

export class TrustMonitor {
  private readonly material = new Map<string, KeyedMaterial>();
  private readonly verdicts = new TrustVerdicts();
  /** The first moment some cluster could not verify another, if any. */
  gap?: TrustFailure & { after: string };
  checks = 0;

  /** Starts from what the clusters hold now; a certificate whose Secret is missing is not counted yet. */
  static async start(certs: MeshCertificate[]): Promise<TrustMonitor> {
    const m = new TrustMonitor();
    const read = await Promise.all(
      certs.map((c) =>
        readIssued([c]).then(
          (r) => r[0],
          () => undefined,
        ),
      ),
    );
    for (const r of read) if (r) m.material.set(keyOf(r), keyed(r));
    m.check('the step began');
    return m;
  }

  /** What every cluster holds now (for the bridge roots and the signer's reach). */
  get held(): IssuedMaterial[] {
    return [...this.material.values()].map((k) => k.m);
  }

  /** How many chain verifications the monitor ran (the other pairs were answered from its cache). */
  get verifications(): number {
    return this.verdicts.verifications;
  }

  /** Reads one certificate's Secret again and checks the pairs it is part of. */
  async changed(cert: MeshCertificate, what: string): Promise<void> {
    const [r] = await readIssued([cert]);
    const now = keyed(r!);
    const key = keyOf(r!);
    const before = this.material.get(key);
    this.material.set(key, now);
    // Same intermediate and bundle as before: every pair has the verdict it had.
    const same = before !== undefined && before.intermediate === now.intermediate && before.bundle === now.bundle;
    this.check(what, same ? null : now);
  }

  /** Checks every pair (changed undefined), the pairs of one material, or none (null). */
  private check(after: string, changed?: KeyedMaterial | null): void {
    this.checks++;
    if (this.gap || changed === null) return;
    const f = this.firstFailure(changed);
    if (f) this.gap = { ...f, after };
  }

  /** The first pair that does not verify, in checkTrust's order, among all pairs or those of `changed`. */
  private firstFailure(changed?: KeyedMaterial): TrustFailure | undefined {
    const all = [...this.material.values()];
    const only = changed ? [changed] : all;
    for (const a of all) {
      for (const b of !changed || a === changed ? all : only) {
        const v = this.verdicts.verdict(a, b);
        if (!v.ok) return trustFailure(a.m, b.m, v.error);
      }
    }
    return undefined;
  }
}
