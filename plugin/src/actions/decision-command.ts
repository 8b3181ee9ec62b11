// What approve and deny share: their arguments, flags and run body (they differ only in the
// decision they write).
import { Args, Flags } from '@oclif/core';
import { dryRunFlags, kubeFlags, outputFlags, type OutputFormat } from '../lib/flags.js';
import { requestMode } from '../lib/request-mode.js';
import type { Decision } from './approval.js';

export const decisionArgs = {
  name: Args.string({
    description: 'name (or NAMESPACE/NAME) of the VirtualMeshCertificateSigningRequest',
    required: true,
  }),
};
export const decisionFlags = {
  ...kubeFlags,
  output: outputFlags.output,
  ...dryRunFlags,
  reason: Flags.string({ description: 'a short reason, e.g. Reviewed' }),
  message: Flags.string({ description: 'free text stored with the decision' }),
};

export function decisionDescription(verb: string): string {
  return `Writes status.thirdPartyApproval of a VirtualMeshCertificateSigningRequest through the status
subresource, in the cluster of --context (default: the current context). A decision is final:
${verb} refuses a request that was already approved or denied. --dry-run=server has the API
server (and its webhooks) judge the decision without storing it; --dry-run=client prints it.`;
}

export async function runDecision(
  decision: Decision,
  args: { name: string },
  flags: {
    kubeconfig?: string;
    context?: string;
    namespace?: string;
    output: OutputFormat;
    reason?: string;
    message?: string;
  },
): Promise<void> {
  const [{ resolveCluster }, { decide, decisionMessage }, { parseRef }, output] = await Promise.all([
    import('../lib/clusters.js'),
    import('./approval.js'),
    import('../lib/refs.js'),
    import('../lib/output.js'),
  ]);
  const { cluster } = await resolveCluster(flags);
  const ref = parseRef(args.name, { what: 'NAME', defaultNamespace: flags.namespace ?? cluster.namespace });
  const result = await decide(cluster, ref.namespace, ref.name, decision, decisionMessage(flags.reason, flags.message));
  const { dryRun } = requestMode();
  if (dryRun) {
    const { printDryRun } = await import('./dry-run-report.js');
    await printDryRun(dryRun, flags.output);
    return;
  }
  const qualified = `virtualmeshcertificatesigningrequest.security.zephyr.solo.io/${result.name}`;
  const fmt = flags.output;
  if (fmt === 'json' || fmt === 'yaml') await output.printData(fmt, result);
  else if (fmt === 'name') output.out(qualified);
  else
    output.out(
      `${qualified} ${decision === 'APPROVED' ? 'approved' : 'denied'} in namespace ${result.namespace} on cluster ${result.cluster}`,
    );
}
