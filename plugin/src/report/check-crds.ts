// `check`'s CRD checks: the installed CRDs (one list per cluster, read by runChecks) against the
// copy this client was built with: installed, serving the contract, current.
import { KINDS } from '../lib/kinds.js';
import type { KObject } from '../lib/k8s.js';
import { compareCrd, crdOwner, fewOf, ownerText, MESH_CERT_CRD_LABELS, type CrdOwner } from './crds.js';
import { CHECKS, line, type CheckLine } from './check-table.js';

/** Lines of the CRD checks for one cluster, from the installed CRDs and manifests/crds. */
export function evaluateCrds(
  cluster: string,
  installed: Map<string, KObject>,
  manifests: Map<string, KObject>,
): CheckLine[] {
  const lines: CheckLine[] = [];
  const present: { name: string; crd: KObject; owner: CrdOwner }[] = [];
  for (const k of KINDS) {
    const name = `${k.plural}.${k.group}`;
    const crd = installed.get(name);
    if (!crd) {
      lines.push(line(CHECKS.crdInstalled, cluster, name, 'fail', `CRD ${name} is not installed`));
      continue;
    }
    const want = manifests.get(name);
    const owner = crdOwner(crd, (want?.metadata.labels as Record<string, string> | undefined) ?? MESH_CERT_CRD_LABELS);
    present.push({ name, crd, owner: owner.owner });
    lines.push(line(CHECKS.crdInstalled, cluster, name, 'pass', `CRD ${name} is installed, ${ownerText(owner)}`));
  }
  if (present.length === 0) return lines;

  const contract: CheckLine[] = [];
  const current: CheckLine[] = [];
  for (const { name, crd, owner } of present) {
    const want = manifests.get(name);
    /** A crd-current warning about this CRD. */
    const notCurrent = (message: string, hint?: string) =>
      current.push(line(CHECKS.crdCurrent, cluster, name, 'warn', message, hint));
    if (!want) {
      notCurrent(`CRD ${name} is installed; manifests/crds has no copy to compare with`);
      continue;
    }
    const whose = owner === 'unknown' ? 'of unknown origin' : `${owner}'s`;
    const cmp = compareCrd(crd, want);
    if (cmp.contract.length)
      contract.push(
        line(
          CHECKS.crdContract,
          cluster,
          name,
          'fail',
          `CRD ${name} (${whose}) disagrees with the schemas/ contract: it ${cmp.contract.join('; it ')}`,
        ),
      );
    const { missing, extra } = cmp.diff;
    const fields = [
      missing.length ? `lacks ${fewOf(missing)} (the API server prunes them from what mesh-cert writes)` : '',
      extra.length ? `has ${fewOf(extra)}, which the contract does not` : '',
    ]
      .filter(Boolean)
      .join('; ');
    if (owner === 'mesh-cert') {
      if (!cmp.identical)
        notCurrent(
          `CRD ${name} is installed but differs from manifests/crds (re-apply them)${fields ? `: it ${fields}` : ''}`,
        );
    } else if (missing.length) {
      const hint =
        owner === 'Gloo Mesh'
          ? "upgrade Gloo Mesh's CRDs, or install mesh-cert's over them: kubectl apply -k manifests/ (see README: what that does to Gloo Mesh's)"
          : undefined;
      notCurrent(`CRD ${name} (${whose}) ${fields}`, hint);
    }
  }
  if (contract.length === 0)
    lines.push(
      line(
        CHECKS.crdContract,
        cluster,
        'served schemas',
        'pass',
        `the ${present.length} installed CRDs serve the contract's versions and agree with its field types`,
      ),
    );
  else lines.push(...contract);
  if (current.length === 0) {
    const owners = [...new Set(present.map((p) => p.owner))];
    const which =
      owners.length === 1 && owners[0] === 'mesh-cert'
        ? 'are identical to manifests/crds'
        : 'have every field of manifests/crds';
    lines.push(line(CHECKS.crdCurrent, cluster, 'fields', 'pass', `the ${present.length} installed CRDs ${which}`));
  } else lines.push(...current);
  return lines;
}
