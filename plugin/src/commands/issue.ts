import { Args, Flags } from '@oclif/core';
import { MeshCertCommand } from '../lib/base.js';
import { clusterFlags, dryRunFlags, kubeFlags, outputFlags, parseDuration, waitFlags } from '../lib/flags.js';
import { requestMode } from '../lib/request-mode.js';
import { TimeoutError, UserError } from '../lib/errors.js';
import type { Column } from '../lib/output.js';

import type { IssueRunRow as IssueRow } from '../engine/issue-run.js';

const COLUMNS: Column<IssueRow>[] = [
  { header: 'cluster', get: (r) => r.cluster },
  { header: 'namespace', get: (r) => r.namespace },
  { header: 'name', get: (r) => r.name },
  { header: 'state', get: (r) => r.state },
  { header: 'issued secret', get: (r) => r.issuedSecret },
  { header: 'error', get: (r) => r.error ?? '' },
];

export default class Issue extends MeshCertCommand {
  static override summary = 'Create or update an IssuedCertificate in managed clusters and drive it to FINISHED.';
  static override description = `Plays Gloo Mesh's agent and issuer roles: in each managed cluster (its own context) it
generates the RSA key and the CSR (the key never leaves that cluster), the management cluster's
signing Secret signs the CSR, then the issued Secret (Istio cacerts layout) is written, pods are
bounced per the PodBounceDirective, and the IssuedCertificate ends FINISHED. Re-running after an
interruption continues where it stopped. --all drives every unfinished IssuedCertificate of the
selected clusters; --observe only watches (where Gloo Mesh's own controllers run).
Progress is one line per cluster on stderr (a task list on a terminal, timestamped lines when
piped); after Ctrl-C (exit 130) the command to resume is printed.
--dry-run makes one pass: the IssuedCertificate's write (or, when it is already as asked, the
agent's next write) is judged by the API server and its webhook (server) or printed (client),
and what the run would then wait for is said; nothing is stored.`;
  static override examples = [
    '<%= config.bin %> issue istiod-ca --managed-clusters c1,c2 -n istio-system --host spiffe://cluster.local/ns/istio-system/sa/istiod --signing-secret gloo-mesh/root-ca --key-size 2048',
    '<%= config.bin %> issue istiod-ca --managed-clusters c1 -n istio-system --virtual-mesh gloo-mesh/vm --pod-bounce istio-system/bounce',
    '<%= config.bin %> issue --all --all-contexts',
    '<%= config.bin %> issue istiod-ca --observe --timeout 2m',
    '<%= config.bin %> issue istiod-ca --managed-clusters c1 -n istio-system --host spiffe://cluster.local/ns/istio-system/sa/istiod --signing-secret gloo-mesh/root-ca --dry-run=server',
  ];
  static override args = {
    name: Args.string({ description: 'the IssuedCertificate (NAME or NAMESPACE/NAME)', required: false }),
  };
  static override flags = {
    ...kubeFlags,
    ...clusterFlags,
    ...outputFlags,
    ...waitFlags,
    'dry-run': { ...dryRunFlags['dry-run'], exclusive: ['observe'] },
    host: Flags.string({
      description: 'a SAN of the certificate (repeatable): DNS name, IP or spiffe:// URI',
      multiple: true,
    }),
    org: Flags.string({
      description: 'organization (O) of the certificate (spec.certOptions.orgName; default gloo-mesh)',
    }),
    'ttl-days': Flags.integer({
      description: 'validity in days (spec.certOptions.ttlDays; default 365)',
      min: 1,
      max: 36500,
    }),
    'key-size': Flags.option({
      description: 'RSA key size in bits (spec.certOptions.rsaKeySizeBytes; default 4096)',
      options: ['2048', '3072', '4096'] as const,
    })(),
    'signing-secret': Flags.string({
      description: "the management cluster's signing Secret, NS/NAME (spec.glooMeshCa.signingCertificateSecret)",
    }),
    'issued-secret': Flags.string({
      description: 'where the issued intermediate goes in the managed cluster, NS/NAME (default istio-system/cacerts)',
    }),
    'pod-bounce': Flags.string({ description: 'PodBounceDirective to run after issuance, NS/NAME' }),
    'virtual-mesh': Flags.string({
      description: 'VirtualMesh this certificate belongs to, NS/NAME (writes the parents annotation)',
    }),
    all: Flags.boolean({
      description: 'drive every unfinished IssuedCertificate of the selected clusters',
      default: false,
      exclusive: [
        'host',
        'org',
        'ttl-days',
        'key-size',
        'signing-secret',
        'issued-secret',
        'pod-bounce',
        'virtual-mesh',
      ],
    }),
    observe: Flags.boolean({
      description: 'only watch until FINISHED or FAILED (another agent issues)',
      default: false,
    }),
    force: Flags.boolean({
      description:
        'replace an issued Secret that holds a CA mesh-cert did not issue (a copy NAME-backup-<hash> is kept first)',
      default: false,
      exclusive: ['observe'],
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Issue);
    if (!args.name && !flags.all)
      throw new UserError('NAME is required (or --all to drive every unfinished IssuedCertificate)');
    if (args.name && flags.all) throw new UserError('pass either NAME or --all, not both');
    const timeoutMs = parseDuration(flags.timeout);
    const [{ resolveClusters }, { parseRef }, output, progress, engine, { qualifiedName, resourceOf }] =
      await Promise.all([
        import('../lib/clusters.js'),
        import('../lib/refs.js'),
        import('../lib/output.js'),
        import('../lib/progress.js'),
        import('../engine/issue-run.js'),
        import('../lib/kinds.js'),
      ]);
    const set = await resolveClusters(flags);
    if (set.managed.length === 0)
      throw new UserError('no managed cluster selected: pass --managed-clusters a,b or --all-contexts');
    const ref = (v: string | undefined, what: string, defaultNamespace?: string) =>
      v ? parseRef(v, { what, defaultNamespace }) : undefined;
    const inputs = {
      hosts: flags.host,
      org: flags.org,
      ttlDays: flags['ttl-days'],
      keySize: flags['key-size'] ? Number(flags['key-size']) : undefined,
      signingSecret: ref(flags['signing-secret'], '--signing-secret'),
      issuedSecret: ref(flags['issued-secret'], '--issued-secret'),
      podBounce: ref(flags['pod-bounce'], '--pod-bounce'),
      virtualMesh: ref(flags['virtual-mesh'], '--virtual-mesh'),
    };
    const { dryRun } = requestMode();
    const tasks = progress.clusterTasks(set.managed.map((c) => c.name));
    const stopInterrupt = progress.onInterrupt(
      () => [
        `the record is kept in the clusters; to resume, run the same command: ${progress.commandLine(['kubectl', 'mesh-cert', ...this.id!.split(':'), ...this.argv])}`,
      ],
      () => tasks.stop(),
    );
    let rows: IssueRow[];
    try {
      rows = await engine.runIssue({
        set,
        name: args.name,
        namespace: flags.namespace,
        all: flags.all,
        observe: flags.observe,
        wait: flags.wait,
        deadline: Date.now() + timeoutMs,
        inputs,
        force: flags.force,
        dryRun: dryRun !== undefined,
        parseName: (text: string, defaultNamespace: string) => parseRef(text, { what: 'NAME', defaultNamespace }),
        onClusterDone: (cluster, mine) => {
          const bad = mine.filter(
            (r) => r.outcome !== 'finished' && r.outcome !== 'written' && r.outcome !== 'dry-run',
          );
          const what =
            mine.map((r) => `${r.namespace}/${r.name} ${r.outcome === 'dry-run' ? 'judged' : r.state}`).join(', ') ||
            'nothing to issue';
          tasks.done(
            cluster,
            bad.length ? 'fail' : 'ok',
            bad.length ? bad.map((r) => `${r.namespace}/${r.name}: ${r.error ?? r.outcome}`).join('; ') : what,
          );
        },
        onEvent: (e) =>
          tasks.update(
            e.cluster,
            `${e.namespace}/${e.name}: ${e.action}${e.detail && e.action !== 'retry' ? ` (${e.detail})` : ''}`,
          ),
      });
    } finally {
      tasks.stop();
      stopInterrupt();
    }
    if (dryRun) {
      const { printDryRun } = await import('../actions/dry-run-report.js');
      await printDryRun(dryRun, flags.output, { noHeaders: flags['no-headers'] });
      for (const r of rows) if (r.note) progress.info(`${r.cluster} ${r.namespace}/${r.name}: ${r.note}`);
    } else {
      await output.printRows(rows, {
        format: flags.output,
        noHeaders: flags['no-headers'],
        columns: COLUMNS,
        name: (r) =>
          `${r.cluster}/${qualifiedName('IssuedCertificate', resourceOf('IssuedCertificate').group, r.name)}`,
      });
    }
    const bad = rows.filter((r) => r.outcome !== 'finished' && r.outcome !== 'written' && r.outcome !== 'dry-run');
    if (rows.length === 0 && flags.all)
      progress.info('nothing to issue: no IssuedCertificate that mesh-cert drives in the selected clusters');
    if (bad.some((r) => r.outcome === 'timeout')) {
      throw new TimeoutError(
        bad
          .filter((r) => r.outcome === 'timeout')
          .map((r) => r.error)
          .join('; '),
      );
    }
    if (bad.length)
      throw new UserError(bad.map((r) => `${r.cluster} ${r.namespace}/${r.name}: ${r.error ?? r.outcome}`).join('; '));
  }
}
