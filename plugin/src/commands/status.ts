import { Flags } from '@oclif/core';
import { MeshCertCommand, sleep } from '../lib/base.js';
import { clusterFlags, kubeFlags, listFlags, outputFlags, parseDuration } from '../lib/flags.js';
import { UserError } from '../lib/errors.js';
import type { Column } from '../lib/output.js';
import type { Mark } from '../lib/progress.js';
import { shortFingerprint } from '../lib/certs.js';

export default class Status extends MeshCertCommand {
  static override summary =
    'Show every IssuedCertificate, CertificateRequest, CertificateRotation, PodBounceDirective and VMCSR across clusters.';
  static override description = `One table across the management cluster and the managed clusters: state (coloured on a
terminal; not when piped or with NO_COLOR), days left of each certificate, the root it chains
to, errors. The default table keeps within 120 columns (or the terminal's width), cutting
long errors (stderr carries them whole); -o wide adds who drives each object (DRIVER: "Gloo Mesh"
when its controllers own it, which mesh-cert only observes), whether the controller has observed
the latest generation (the default table marks a state written for an older one "(stale)"), NotAfter, whole fingerprints, the roots each issued Secret trusts, rotation states
and the source of the dates. Below the
table: each active rotation's progress per cluster (▸), and per VirtualMesh the roots its
clusters trust and the root each intermediate is anchored at, read from the issued Secrets
themselves (✓ or ✗). Searches all namespaces unless -n is given.

-o json|yaml print a List of the objects themselves, each annotated with its cluster
(mesh-cert.solo.io/cluster) and what status computed (mesh-cert.solo.io/status-report);
-o jsonpath=TEMPLATE and -o custom-columns=SPEC work on that List as kubectl's do.

Exit codes: 1 when anything mesh-cert drives is FAILED (a FAILED CertificateRotation a later one
superseded is history, not a failure), a cluster is unreachable, a certificate has expired, or a
VirtualMesh's clusters trust different roots (or intermediates are anchored at different roots)
outside an active CertificateRotation, or any cluster's intermediate is anchored at a root another
cluster of its VirtualMesh does not trust; 3 when the only findings are warnings (a certificate
expires within --warn-days); 0 otherwise.`;
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --all-contexts -o wide',
    '<%= config.bin %> status -n istio-system -o json',
    '<%= config.bin %> status --watch',
    `<%= config.bin %> status -o jsonpath='{range .items[*]}{.metadata.annotations.mesh-cert\\.solo\\.io/cluster}{" "}{.metadata.name}{"\\n"}{end}'`,
    '<%= config.bin %> status -o custom-columns=NAME:.metadata.name,STATE:.status.state',
  ];
  static override flags = {
    ...kubeFlags,
    ...listFlags,
    ...outputFlags,
    ...clusterFlags,
    'warn-days': Flags.integer({
      description: 'exit non-zero when a certificate expires within this many days',
      default: 30,
      min: 0,
    }),
    watch: Flags.boolean({
      char: 'w',
      description: 'redraw whenever something changes (Ctrl-C to stop)',
      default: false,
    }),
    interval: Flags.string({ description: 'how often --watch looks for changes', default: '2s' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    if (flags.namespace && flags['all-namespaces'])
      throw new UserError('-n/--namespace and -A/--all-namespaces cannot be used together');
    const interval = parseDuration(flags.interval, '--interval');
    const [{ resolveClusters }, report, output, { mark, paint, useColour }] = await Promise.all([
      import('../lib/clusters.js'),
      import('../report/status.js'),
      import('../lib/output.js'),
      import('../lib/progress.js'),
    ]);
    const { collectStatus, findings, notes, progressLines, trustLines, statusObjects, EXIT_WARNINGS } = report;
    // a bad -o jsonpath=/custom-columns= template fails before any cluster is read
    output.templateOutput(flags.output);
    const set = await resolveClusters(flags);
    const namespace = flags['all-namespaces'] ? undefined : flags.namespace;
    const format = flags.output;

    const render = async (): Promise<{ text: string; failures: string[]; warnings: string[]; observed: string[] }> => {
      const { rows, trust } = await collectStatus(set.all, { namespace, selector: flags.selector });
      const { failures, warnings } = findings(rows, flags['warn-days'], trust);
      const observed = notes(rows);
      const template = output.templateOutput(format);
      let text: string;
      if (format === 'json' || format === 'yaml') {
        // the objects themselves, each annotated with its cluster (unreachable clusters: stderr)
        const list = output.makeList(statusObjects(rows));
        text = format === 'json' ? output.toJson(list) : await output.toYaml(list);
      } else if (template?.kind === 'jsonpath') {
        text = output.jsonpath(template.template, output.makeList(statusObjects(rows)));
      } else if (template?.kind === 'custom-columns') {
        text = output.renderCustomColumns(statusObjects(rows), template.columns, { noHeaders: flags['no-headers'] });
      } else if (format === 'name') {
        text = rows
          .filter((r) => r.kind !== 'Cluster')
          .map((r) => `${r.cluster}/${r.kind.toLowerCase()}.${r.apiVersion.split('/')[0]}/${r.name}`)
          .join('\n');
      } else {
        // The rotation progress section is for people; --no-headers output stays one row per object.
        const markOut = (m: Mark) => mark(m, process.stdout);
        const progress = flags['no-headers'] ? [] : [...progressLines(rows, markOut), ...trustLines(trust, markOut)];
        const wide = format === 'wide';
        const table = output.renderTable(rows, columns(report, wide, flags['warn-days']), {
          wide,
          noHeaders: flags['no-headers'],
          maxWidth: wide ? undefined : Math.max(TABLE_WIDTH, process.stdout.isTTY ? (process.stdout.columns ?? 0) : 0),
          ...(useColour(process.stdout) ? { paint: (m: Mark, t: string) => paint(m, t, process.stdout) } : {}),
        });
        text = rows.length
          ? table + (progress.length ? `\n${progress.join('\n')}\n` : '')
          : `No mesh-cert objects found on ${set.all.map((c) => c.name).join(', ')}.\n`;
      }
      return { text, failures, warnings, observed };
    };

    if (!flags.watch) {
      const { text, failures, warnings, observed } = await render();
      if (output.templateOutput(format)?.kind === 'jsonpath') process.stdout.write(text);
      else output.out(text);
      for (const n of observed) process.stderr.write(`note: ${n}\n`);
      for (const i of failures) process.stderr.write(`problem: ${i}\n`);
      for (const i of warnings) process.stderr.write(`warning: ${i}\n`);
      if (failures.length) this.exit(1);
      if (warnings.length) this.exit(EXIT_WARNINGS);
      return;
    }
    let last = '';
    const tty = Boolean(process.stdout.isTTY);
    for (;;) {
      let text: string;
      try {
        text = (await render()).text;
      } catch (err) {
        text = `error: ${(err as Error).message}\n`;
      }
      if (text !== last) {
        if (tty) process.stdout.write('\x1b[H\x1b[2J');
        else if (last) process.stdout.write('\n');
        output.out(
          tty ? `Every ${flags.interval}: kubectl mesh-cert status    ${new Date().toISOString()}\n\n${text}` : text,
        );
        last = text;
      }
      await sleep(interval);
    }
  }
}

type Row = import('../report/status.js').StatusRow;
type Report = typeof import('../report/status.js');

/** The width the default table keeps within (a wider terminal gets its own width); -o wide has none. */
export const TABLE_WIDTH = 120;

const SHORT_KINDS: Record<string, string> = { VirtualMeshCertificateSigningRequest: 'VMCSR' };
const synced = (r: Row) =>
  r.kind === 'Cluster' ? '-' : r.generationLag ? `no (${r.observedGeneration ?? 0}/${r.generation})` : 'yes';

/**
 * The table's columns. The default ones fit TABLE_WIDTH (the error is cut to fit; stderr and -o
 * wide carry it whole); -o wide adds who drives each object, the dates, the whole fingerprints,
 * the roots each Secret trusts, the rotation states (an IssuedCertificate's spec/observed) and
 * the source of the dates.
 */
function columns(report: Report, wide: boolean, warnDays: number): Column<Row>[] {
  return [
    { header: 'cluster', get: (r) => r.cluster },
    { header: 'namespace', get: (r) => r.namespace || '-' },
    { header: 'name', get: (r) => r.name },
    { header: 'kind', get: (r) => (wide ? r.kind : (SHORT_KINDS[r.kind] ?? r.kind)) },
    // The default table has no SYNCED column: a state written for an older generation says so
    // (an object no controller has written a status for yet is plainly PENDING).
    {
      header: 'state',
      tone: report.stateMark,
      get: (r) => (!wide && r.generationLag && r.observedGeneration !== undefined ? `${r.state} (stale)` : r.state),
    },
    { header: 'driver', wide: true, get: (r) => r.drivenBy ?? '-' },
    { header: 'synced', wide: true, get: synced },
    { header: 'not after', wide: true, get: (r) => (r.notAfter ? r.notAfter.slice(0, 10) : '-') },
    {
      header: 'days',
      tone: (r) => report.daysMark(r, warnDays),
      get: (r) => (r.daysLeft === undefined ? '-' : String(r.daysLeft)),
    },
    // Four bytes tell a mesh's roots apart; the lines below the table name them with eight.
    { header: 'root', get: (r) => (wide ? r.rootFingerprint : r.rootFingerprint?.slice(0, 11)) || '-' },
    {
      header: 'trusts',
      wide: true,
      get: (r) => (r.trust ? r.trust.roots.map((x) => shortFingerprint(x.fingerprint)).join(',') || '-' : '-'),
    },
    { header: 'anchor', wide: true, get: (r) => shortFingerprint(r.trust?.anchor?.fingerprint) || '-' },
    // The step of each rotation and each cluster's progress are the lines below the table.
    {
      header: 'rotation',
      wide: true,
      get: (r) =>
        r.kind === 'IssuedCertificate' && (r.rotationState || r.observedRotationState)
          ? `${r.rotationState ?? '-'}/${r.observedRotationState ?? '-'}`
          : report.rotationColumn(r) || '-',
    },
    { header: 'detail', wide: true, get: (r) => r.detail ?? '-' },
    { header: 'error', shrink: true, get: (r) => r.error ?? '' },
  ];
}
