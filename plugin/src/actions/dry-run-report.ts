// What a dry run prints: every write it judged (--dry-run=server: as the API server answered it,
// nothing stored) or would have sent (--dry-run=client), on stdout in the -o format asked for:
// a table of cluster/operation/object, the objects as a v1 List (each annotated with its cluster
// and the operation), their names, or a jsonpath/custom-columns template over them.
// Private keys are never printed: Secret values holding one are replaced.
import type { OutputFormat } from '../lib/flags.js';
import { plannedWrites, type DryRun, type PlannedWrite } from '../lib/request-mode.js';

/** The annotations an object of a dry-run List carries: its cluster (as status's) and the operation. */
export const OPERATION_ANNOTATION = 'mesh-cert.solo.io/dry-run-operation';
const REDACTED = '<redacted: private key>';

/** kubectl's suffix for a dry run's result lines. */
export function dryRunSuffix(mode: DryRun): string {
  return mode === 'server' ? '(server dry run)' : '(dry run)';
}

export function operationOf(w: PlannedWrite): string {
  return w.subresource ? `${w.operation} ${w.subresource}` : w.operation;
}

function qualifiedKind(w: PlannedWrite): string {
  const group = w.apiVersion.includes('/') ? w.apiVersion.split('/')[0] : '';
  return `${w.kind.toLowerCase()}${group ? `.${group}` : ''}`;
}

const holdsPrivateKey = (b64: string) => /PRIVATE KEY-----/.test(Buffer.from(b64, 'base64').toString('utf8'));

/** The object of a write as printed: Secret values with a private key replaced, cluster and operation annotated. */
export function printable(w: PlannedWrite, clusterAnnotation: string): Record<string, unknown> {
  const obj = structuredClone(
    w.object ?? {
      apiVersion: w.apiVersion,
      kind: w.kind,
      metadata: { name: w.name, ...(w.namespace ? { namespace: w.namespace } : {}) },
    },
  ) as {
    kind?: string;
    metadata?: { annotations?: Record<string, string> };
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  } & Record<string, unknown>;
  if (w.kind === 'Secret') {
    for (const [k, v] of Object.entries(obj.data ?? {})) if (holdsPrivateKey(v)) obj.data![k] = REDACTED;
    for (const [k, v] of Object.entries(obj.stringData ?? {}))
      if (/PRIVATE KEY-----/.test(v)) obj.stringData![k] = REDACTED;
  }
  obj.metadata = {
    ...obj.metadata,
    annotations: {
      ...(obj.metadata?.annotations ?? {}),
      [clusterAnnotation]: w.cluster,
      [OPERATION_ANNOTATION]: operationOf(w),
    },
  };
  return obj;
}

/** Prints the dry run's writes on stdout in `format`; says on stderr when there were none. */
export async function printDryRun(
  mode: DryRun,
  format: OutputFormat,
  opts: { noHeaders?: boolean } = {},
): Promise<void> {
  const [output, { CLUSTER_ANNOTATION }] = await Promise.all([
    import('../lib/output.js'),
    import('../report/status.js'),
  ]);
  const writes = plannedWrites();
  if (writes.length === 0) {
    process.stderr.write(`nothing to write ${dryRunSuffix(mode)}\n`);
    if (format !== 'json' && format !== 'yaml') return;
  }
  await output.printRows(writes, {
    format,
    noHeaders: opts.noHeaders,
    columns: [
      { header: 'cluster', get: (w) => w.cluster },
      { header: 'operation', get: (w) => operationOf(w) },
      { header: 'kind', get: (w) => w.kind },
      { header: 'namespace', get: (w) => w.namespace ?? '' },
      { header: 'name', get: (w) => w.name },
      { header: 'result', get: () => dryRunSuffix(mode) },
    ],
    name: (w) => `${w.cluster}/${qualifiedKind(w)}/${w.name}`,
    data: (w) => printable(w, CLUSTER_ANNOTATION),
  });
}
