import { Args } from '@oclif/core';
import { MeshCertCommand } from '../../lib/base.js';
import { currentRootFlags, kubeFlags, outputFlags } from '../../lib/flags.js';

export default class InspectSecret extends MeshCertCommand {
  static override summary =
    'Decode and verify the certificates of a Secret (cacerts, a signing root, an issued intermediate).';
  static override description = `Shows each certificate (subject, SANs, validity, key, CA flags, fingerprints) and each
private key's type and size (never the key), then verifies: the Istio layout, ca-key against
ca-cert, the chain to root-cert.pem, and whether the CA is signed by the current root: the
root-cert.pem of the signing Secret named by the IssuedCertificate that writes this Secret, read
from the management cluster (or --root-secret). Exits 1 when a check fails.`;
  static override examples = [
    '<%= config.bin %> inspect secret istio-system/cacerts --context cluster-1',
    '<%= config.bin %> inspect secret gloo-mesh/root-ca -o json',
    '<%= config.bin %> inspect secret istio-system/cacerts --context cluster-1 --root-secret gloo-mesh/root-ca',
  ];
  static override args = {
    secret: Args.string({ description: 'the Secret, as NAMESPACE/NAME (or NAME with -n)', required: true }),
  };
  static override flags = { ...kubeFlags, ...currentRootFlags, output: outputFlags.output };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(InspectSecret);
    const [{ runInspect }, inspect, { renderSecret }] = await Promise.all([
      import('../../report/inspect-run.js'),
      import('../../report/inspect.js'),
      import('../../report/inspect-render.js'),
    ]);
    const failed = await runInspect({
      arg: args.secret,
      argName: 'SECRET',
      kind: 'Secret',
      group: '',
      flags,
      fetch: (k8s, ref) => k8s.findSecret(ref.namespace, ref.name),
      owner: (ic, ref) =>
        ic.spec?.issuedCertificateSecret?.name === ref.name &&
        (ic.spec.issuedCertificateSecret.namespace || ic.metadata.namespace) === ref.namespace,
      report: inspect.inspectSecret,
      render: renderSecret,
    });
    if (failed) this.exit(1);
  }
}
