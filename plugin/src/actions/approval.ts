// The third-party approval of a VirtualMeshCertificateSigningRequest: PENDING -> APPROVED or
// DENIED, once. The decision goes through the status subresource as a merge patch that carries
// the resourceVersion read, so two people deciding at once cannot both win (the second gets 409).
import type { Cluster } from '../lib/clusters.js';
import { CrdMissingError, UserError } from '../lib/errors.js';
import { isConflict, isNotFound, type KObject } from '../lib/k8s.js';
import { resourceOf } from '../lib/kinds.js';

export type Decision = 'APPROVED' | 'DENIED';

interface ThirdPartyApproval {
  approvalStatus?: string;
  message?: string;
  lastUpdatedTime?: string;
}
type Vmcsr = KObject & { status?: { thirdPartyApproval?: ThirdPartyApproval; response?: unknown } };

export interface DecisionResult {
  cluster: string;
  namespace: string;
  name: string;
  approvalStatus: Decision;
  message: string;
  lastUpdatedTime: string;
}

export function decisionMessage(reason: string | undefined, message: string | undefined): string {
  return [reason?.trim(), message?.trim()].filter(Boolean).join(': ');
}

export async function decide(
  cluster: Cluster,
  namespace: string,
  name: string,
  decision: Decision,
  message: string,
  now = new Date(),
): Promise<DecisionResult> {
  const k8s = await cluster.client();
  const VMCSR = resourceOf('VirtualMeshCertificateSigningRequest');
  const what = `VirtualMeshCertificateSigningRequest ${namespace}/${name}`;
  let obj: Vmcsr;
  try {
    obj = await k8s.get<Vmcsr>(VMCSR, namespace, name);
  } catch (err) {
    if (isNotFound(err) && !(err instanceof CrdMissingError))
      throw new UserError(`${what} not found on cluster "${cluster.name}"`);
    throw err;
  }
  const current = obj.status?.thirdPartyApproval?.approvalStatus ?? 'PENDING';
  if (current !== 'PENDING') {
    const when = obj.status?.thirdPartyApproval?.lastUpdatedTime;
    throw new UserError(
      `${what} was already ${current}${when ? ` at ${when}` : ''}; a decision is final for its csrData`,
    );
  }
  const lastUpdatedTime = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const thirdPartyApproval = { approvalStatus: decision, message, lastUpdatedTime };
  try {
    await k8s.patchStatus(VMCSR, namespace, name, {
      metadata: { resourceVersion: obj.metadata.resourceVersion },
      status: { thirdPartyApproval },
    });
  } catch (err) {
    if (isConflict(err))
      throw new UserError(
        `${what} changed while deciding (someone else may have decided); run the command again to see its state`,
      );
    throw err;
  }
  return { cluster: cluster.name, namespace, name, ...thirdPartyApproval };
}
