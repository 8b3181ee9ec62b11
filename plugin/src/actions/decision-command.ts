// What approve and deny share: their arguments, flags and run body (they differ only in the
// decision they write).
import { Args, Flags } from '@oclif/core';
import { kubeFlags, outputFlags, type OutputFormat } from '../lib/flags.js';
import type { Decision } from './approval.js';

export const decisionArgs = { name: Args.string({ description: 'name (or NAMESPACE/NAME) of the VirtualMeshCertificateSigningRequest', required: true }) };
export const decisionFlags = {
  ...kubeFlags,
  output: outputFlags.output,
  reason: Flags.string({ description: 'a short reason, e.g. Reviewed' }),
  message: Flags.string({ description: 'free text stored with the decision' }),
};

export function decisionDescription(verb: string): string {
  return `Writes status.thirdPartyApproval of a VirtualMeshCertificateSigningRequest through the status
subresource, in the cluster of --context (default: the current context). A decision is final:
${verb} refuses a request that was already approved or denied.`;
}

export async function runDecision(
  decision: Decision,
  args: { name: string },
  flags: { kubeconfig?: string; context?: string; namespace?: string; output: OutputFormat; reason?: string; message?: string },
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
  const qualified = `virtualmeshcertificatesigningrequest.security.zephyr.solo.io/${result.name}`;
  const fmt = flags.output;
  if (fmt === 'json' || fmt === 'yaml') await output.printData(fmt, result);
  else if (fmt === 'name') output.out(qualified);
  else output.out(`${qualified} ${decision === 'APPROVED' ? 'approved' : 'denied'} in namespace ${result.namespace} on cluster ${result.cluster}`);
}
