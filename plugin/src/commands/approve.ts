import { MeshCertCommand } from '../lib/base.js';
import { decisionArgs, decisionDescription, decisionFlags, runDecision } from '../actions/decision-command.js';

export default class Approve extends MeshCertCommand {
  static override summary = 'Approve a VirtualMeshCertificateSigningRequest (third-party approval).';
  static override description = decisionDescription('approve');
  static override examples = [
    '<%= config.bin %> approve istio-csr -n istio-system --context cluster-1 --reason Reviewed --message "ticket SEC-123"',
    '<%= config.bin %> approve istio-csr -n istio-system --context cluster-1 --dry-run=server -o yaml',
  ];
  static override args = decisionArgs;
  static override flags = decisionFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Approve);
    await runDecision('APPROVED', args, flags);
  }
}
