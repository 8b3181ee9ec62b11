// The run of both inspect commands: read one object in the --context cluster and the current
// root from the management cluster at once, build the report, print it in the chosen format.
import { resolveTargetAndMgmt } from '../lib/clusters.js';
import { UserError } from '../lib/errors.js';
import type { OutputFormat } from '../lib/flags.js';
import type { K8s } from '../lib/k8s.js';
import { out, printData } from '../lib/output.js';
import { warn } from '../lib/progress.js';
import { qualifiedName } from '../lib/kinds.js';
import { parseRef, type Ref } from '../lib/refs.js';
import { findCurrentRoot, type IcLike } from './current-root.js';
import { failedChecks, type Check, type CurrentRoot } from './inspect.js';

export interface InspectSpec<T, R extends { checks: Check[] }> {
  arg: string;
  argName: string;
  /** "Secret", "CertificateRequest": for the not-found message. */
  kind: string;
  /** The kind's API group ('' for the core group): -o name prints kind.group/name, as kubectl does. */
  group: string;
  flags: {
    kubeconfig?: string;
    context?: string;
    namespace?: string;
    'mgmt-context'?: string;
    'root-secret'?: string;
    output: OutputFormat;
  };
  fetch(k8s: K8s, ref: Ref): Promise<T | undefined>;
  /** Which IssuedCertificate produced the object (its signing Secret holds the current root). */
  owner(ic: IcLike, ref: Ref): boolean;
  report(cluster: string, obj: T, current: CurrentRoot | undefined): R;
  render(r: R): string;
}

/** Prints the report; resolves true when a check failed (the command then exits 1). */
export async function runInspect<T, R extends { checks: Check[] }>(spec: InspectSpec<T, R>): Promise<boolean> {
  const { flags } = spec;
  const { cluster, mgmt } = await resolveTargetAndMgmt(flags);
  const ref = parseRef(spec.arg, { what: spec.argName, defaultNamespace: flags.namespace ?? cluster.namespace });
  const explicit = flags['root-secret'] ? parseRef(flags['root-secret'], { what: '--root-secret' }) : undefined;
  const k8s = await cluster.client();
  const notes: string[] = [];
  const [obj, current] = await Promise.all([
    spec.fetch(k8s, ref),
    findCurrentRoot({ cluster, mgmt, explicit, notes, match: (ic) => spec.owner(ic, ref) }),
  ]);
  if (!obj) throw new UserError(`${spec.kind} ${ref.namespace}/${ref.name} not found on cluster "${cluster.name}"`);
  const report = spec.report(cluster.name, obj, current);
  for (const n of notes) warn(n);
  const fmt = flags.output;
  if (fmt === 'json' || fmt === 'yaml') await printData(fmt, report);
  else if (fmt === 'name') out(qualifiedName(spec.kind, spec.group, ref.name));
  else out(spec.render(report));
  return failedChecks(report.checks).length > 0;
}
