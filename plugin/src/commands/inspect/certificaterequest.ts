import { Args } from '@oclif/core';
import { MeshCertCommand } from '../../lib/base.js';
import { currentRootFlags, kubeFlags, outputFlags } from '../../lib/flags.js';

export default class InspectCertificateRequest extends MeshCertCommand {
  static override summary =
    'Decode and verify a CertificateRequest: its CSR, the signed certificate and the signing root.';
  static override description = `Shows the CSR (subject, hosts, key) and the signed certificate and root, then verifies: the
CSR's signature, the signed certificate's chain to signingRootCa (through certChain), that it
carries the CSR's public key, and whether it was signed by the current root (the root of the
IssuedCertificate's signing Secret in the management cluster, or --root-secret). Exits 1 when a
check fails.`;
  static override examples = [
    '<%= config.bin %> inspect certificaterequest istio-system/istio-cacerts --context cluster-1',
    '<%= config.bin %> inspect certificaterequest istio-cacerts -n istio-system --context cluster-1 -o json',
  ];
  static override args = {
    request: Args.string({
      description: 'the CertificateRequest, as NAMESPACE/NAME (or NAME with -n)',
      required: true,
    }),
  };
  static override flags = { ...kubeFlags, ...currentRootFlags, output: outputFlags.output };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(InspectCertificateRequest);
    const [{ runInspect }, inspect, { renderCertificateRequest }, { resourceOf }] = await Promise.all([
      import('../../report/inspect-run.js'),
      import('../../report/inspect.js'),
      import('../../report/inspect-render.js'),
      import('../../lib/kinds.js'),
    ]);
    const failed = await runInspect({
      arg: args.request,
      argName: 'REQUEST',
      kind: 'CertificateRequest',
      group: resourceOf('CertificateRequest').group,
      flags,
      fetch: (k8s, ref) =>
        k8s.find<import('../../report/inspect.js').CrObject>(resourceOf('CertificateRequest'), ref.namespace, ref.name),
      // The agent names the CertificateRequest after its IssuedCertificate.
      owner: (ic, ref) => ic.metadata.name === ref.name && ic.metadata.namespace === ref.namespace,
      report: inspect.inspectCertificateRequest,
      render: renderCertificateRequest,
    });
    if (failed) this.exit(1);
  }
}
