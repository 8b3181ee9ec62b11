import { MeshCertCommand } from '../lib/base.js';
import { decisionArgs, decisionDescription, decisionFlags, runDecision } from '../actions/decision-command.js';

export default class Deny extends MeshCertCommand {
  static override summary = 'Deny a VirtualMeshCertificateSigningRequest (third-party approval).';
  static override description = decisionDescription('deny');
  static override examples = [
    '<%= config.bin %> deny istio-csr -n istio-system --context cluster-1 --reason UnknownHosts --message "hosts not in the mesh"',
    '<%= config.bin %> deny istio-csr -n istio-system --context cluster-1 --dry-run=client',
  ];
  static override args = decisionArgs;
  static override flags = decisionFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Deny);
    await runDecision('DENIED', args, flags);
  }
}
