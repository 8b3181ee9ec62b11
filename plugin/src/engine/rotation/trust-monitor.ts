// The engine's own continuous trust check during a re-issue step: the last-read issued Secret of
// every certificate of the mesh, checked again (every ordered pair of clusters) each time one of
// them is rewritten. The first gap it sees is kept: a step that saw one does not advance.
import type { MeshCertificate } from './targets.js';
import { checkTrust, readIssued, type IssuedMaterial, type TrustFailure } from './trust-check.js';

export class TrustMonitor {
  private readonly material = new Map<string, IssuedMaterial>();
  /** The first moment some cluster could not verify another, if any. */
  gap?: TrustFailure & { after: string };
  checks = 0;

  /** Starts from what the clusters hold now; a certificate whose Secret is missing is not counted yet. */
  static async start(certs: MeshCertificate[]): Promise<TrustMonitor> {
    const m = new TrustMonitor();
    const read = await Promise.all(certs.map((c) => readIssued([c]).then((r) => r[0], () => undefined)));
    for (const r of read) if (r) m.material.set(`${r.cluster}\u0000${r.secret}`, r);
    m.check('the step began');
    return m;
  }

  /** What every cluster holds now (for the bridge roots and the signer's reach). */
  get held(): IssuedMaterial[] {
    return [...this.material.values()];
  }

  /** Reads one certificate's Secret again and checks every pair. */
  async changed(cert: MeshCertificate, what: string): Promise<void> {
    const [r] = await readIssued([cert]);
    this.material.set(`${r!.cluster}\u0000${r!.secret}`, r!);
    this.check(what);
  }

  private check(after: string): void {
    this.checks++;
    if (this.gap) return;
    const report = checkTrust(this.held);
    const f = report.failures[0];
    if (f) this.gap = { ...f, after };
  }
}
