import { Flags } from '@oclif/core';
import { MeshCertCommand } from '../lib/base.js';
import { clusterFlags, dryRunFlags, kubeFlags, outputFlags, parseDuration } from '../lib/flags.js';
import { requestMode } from '../lib/request-mode.js';
import { rotationWords } from '../lib/rotation-words.js';
import { InterruptedError, TimeoutError, UserError, notInteractive } from '../lib/errors.js';

export default class Rotate extends MeshCertCommand {
  static override summary = "Rotate a VirtualMesh's root CA across every cluster with no trust gap.";
  static override description = `Creates the CertificateRotation in the management cluster (or picks up the active one for
the VirtualMesh) and takes it through ADDING_NEW_ROOT (trust old+new, intermediates signed by the
old root), PROPAGATING_NEW_INTERMEDIATE (old+new, signed by the new root), verification,
DELETING_OLD_ROOT (new root only), verification, FINISHED. Every IssuedCertificate of the
VirtualMesh (parents annotation) in the managed clusters is re-issued at each step.

Verification: on a terminal, the built-in check's per-cluster result is shown and you choose to
continue or roll back; --verify-command CMD runs CMD (cluster names in $MESH_CERT_CLUSTERS) and
continues on exit 0; --yes continues after the built-in check (every cluster's intermediate
verifies against every cluster's root-cert.pem). A rejection or a failure rolls back to the
previous root (ROLLING_BACK, PREVIOUS_CA) and ends FAILED. Killed at any point, re-running the
same command resumes; --abort rolls back the active rotation. Progress is one line per cluster
at each step (a task list on a terminal, timestamped lines when piped); after Ctrl-C (exit 130)
the commands to resume and to abort are printed.

--dry-run runs the checks made before a rotation starts, then has the writes that start it (the
generated root Secret, the CertificateRotation) or abort it judged by the API server and its
webhook (server) or printed (client), and says which steps it would then wait for; nothing is
stored.`;
  static override examples = [
    '<%= config.bin %> rotate --virtual-mesh gloo-mesh/vm --new-root-secret gloo-mesh/root-2027',
    '<%= config.bin %> rotate --virtual-mesh gloo-mesh/vm --generate-root --yes',
    '<%= config.bin %> rotate --virtual-mesh gloo-mesh/vm --new-root-secret gloo-mesh/root-2027 --verify-command ./check-mtls.sh',
    '<%= config.bin %> rotate --virtual-mesh gloo-mesh/vm --abort',
    '<%= config.bin %> rotate --virtual-mesh gloo-mesh/vm --new-root-secret gloo-mesh/root-2027 --dry-run=server',
  ];
  static override flags = {
    ...kubeFlags,
    ...clusterFlags,
    output: outputFlags.output,
    ...dryRunFlags,
    'virtual-mesh': Flags.string({ description: 'the VirtualMesh whose root is rotated, NS/NAME', required: true }),
    'new-root-secret': Flags.string({
      description: 'the new root, a Secret of the management cluster in the Istio layout, NS/NAME',
      exclusive: ['generate-root'],
    }),
    'generate-root': Flags.boolean({
      description: 'generate the new root into a Secret <virtual-mesh>-root-<time> next to the VirtualMesh',
      default: false,
    }),
    'key-size': Flags.option({
      description: 'RSA key size of a generated root',
      options: ['2048', '3072', '4096'] as const,
      default: '4096' as const,
    })(),
    'root-ttl-days': Flags.integer({ description: 'validity of a generated root in days', default: 3650, min: 1 }),
    yes: Flags.boolean({ char: 'y', description: 'continue after the built-in check without asking', default: false }),
    'verify-command': Flags.string({
      description:
        'command whose exit 0 confirms connectivity at each verification ($MESH_CERT_CLUSTERS, $MESH_CERT_STEP)',
    }),
    abort: Flags.boolean({
      description: 'roll back the active rotation of the VirtualMesh',
      default: false,
      exclusive: ['generate-root', 'verify-command'],
    }),
    timeout: Flags.string({
      description: 'how long each step may wait for the clusters (an unreachable cluster fails the step after this)',
      default: '5m',
    }),
    'keep-previous-roots': Flags.integer({
      description:
        'after FINISHED, how many replaced roots to keep in the management cluster (older root Secrets mesh-cert created are deleted with their keys)',
      default: 1,
      min: 0,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Rotate);
    const stepTimeoutMs = parseDuration(flags.timeout);
    const { dryRun } = requestMode();
    const interactive = !flags.yes && !flags['verify-command'] && Boolean(process.stdin.isTTY);
    // A dry run stops before the first verification: nothing to confirm.
    if (!dryRun && !flags.abort && !flags.yes && !flags['verify-command'] && !process.stdin.isTTY) {
      throw notInteractive('each verification step of the rotation');
    }
    const [{ resolveClusters }, { parseRef }, output, progress, engine, { qualifiedName, resourceOf }] =
      await Promise.all([
        import('../lib/clusters.js'),
        import('../lib/refs.js'),
        import('../lib/output.js'),
        import('../lib/progress.js'),
        import('../engine/rotate-run.js'),
        import('../lib/kinds.js'),
      ]);
    const virtualMesh = parseRef(flags['virtual-mesh'], { what: '--virtual-mesh' });
    const newRootSecret = flags['new-root-secret']
      ? parseRef(flags['new-root-secret'], { what: '--new-root-secret' })
      : undefined;
    const set = await resolveClusters(flags);
    if (set.managed.length === 0)
      throw new UserError('no managed cluster selected: pass --managed-clusters a,b or --all-contexts');

    const verify = flags['verify-command']
      ? engine.commandVerifier(flags['verify-command'])
      : interactive
        ? async (ctx: Parameters<typeof engine.builtInVerifier>[0]) => {
            for (const [cluster, row] of ctx.report.perCluster) {
              progress.info(
                `  ${row.verifiedBy === row.of ? '✓' : '✗'} ${cluster}: intermediate verified by ${row.verifiedBy}/${row.of} clusters' root-cert.pem`,
              );
            }
            for (const f of ctx.report.failures) progress.info(`    ${f.error}`);
            const { select } = await import('@inquirer/prompts');
            try {
              const answer = await select(
                {
                  message: `After ${ctx.after}: is traffic between the clusters (${ctx.clusters.join(', ')}) still working?`,
                  choices: [
                    { name: 'continue', value: 'continue' },
                    { name: 'roll back to the previous root', value: 'rollback' },
                  ],
                  default: ctx.report.ok ? 'continue' : 'rollback',
                },
                { output: process.stderr },
              );
              return answer === 'continue'
                ? { ok: true as const, message: 'confirmed interactively' }
                : { ok: false as const, reason: 'rejected interactively' };
            } catch (err) {
              if ((err as Error).name === 'ExitPromptError') throw new InterruptedError();
              throw err;
            }
          }
        : engine.builtInVerifier;

    let tasks: ReturnType<typeof progress.clusterTasks> | undefined;
    const endTasks = () => {
      tasks?.stop();
      tasks = undefined;
    };
    const abortWords = ['kubectl', 'mesh-cert', 'rotate', '--virtual-mesh', flags['virtual-mesh'], '--abort'];
    for (const f of ['kubeconfig', 'context', 'mgmt-context', 'managed-clusters'] as const)
      if (flags[f] !== undefined) abortWords.push(`--${f}`, String(flags[f]));
    if (flags['all-contexts']) abortWords.push('--all-contexts');
    const stopInterrupt = progress.onInterrupt(
      () => [
        `the rotation is recorded in the management cluster; to resume it: ${progress.commandLine(['kubectl', 'mesh-cert', ...this.id!.split(':'), ...this.argv])}`,
        ...(flags.abort ? [] : [`to roll it back instead: ${progress.commandLine(abortWords)}`]),
      ],
      endTasks,
    );
    let result: Awaited<ReturnType<typeof engine.runRotate>>;
    try {
      result = await engine.runRotate({
        set,
        virtualMesh,
        newRootSecret,
        generateRoot: flags['generate-root']
          ? { keySize: Number(flags['key-size']) as 2048 | 3072 | 4096, ttlDays: flags['root-ttl-days'] }
          : undefined,
        abort: flags.abort,
        verify: async (ctx) => {
          endTasks();
          return verify(ctx);
        },
        stepTimeoutMs,
        keepPreviousRoots: flags['keep-previous-roots'],
        dryRun: dryRun !== undefined,
        onEvent: (e) => {
          if (e.type === 'rotation')
            progress.info(
              `${e.created ? (dryRun ? 'would create' : 'created') : 'resuming'} CertificateRotation ${e.namespace}/${e.name} (new root ${e.newRoot})`,
            );
          else if (e.type === 'step') {
            endTasks();
            progress.info(`${progress.mark('step')} ${rotationWords(e.state, e.rotationState)}: ${e.message}`);
          } else if (e.type === 'certificate') {
            tasks ??= progress.clusterTasks(set.managed.map((c) => c.name));
            const { cluster, namespace, name, action, detail } = e.event;
            const text = `${e.step} ${namespace}/${name}: ${action}${detail && action !== 'retry' ? ` (${detail})` : ''}`;
            if (action === 'finish') tasks.done(cluster, 'ok', text);
            else if (action === 'fail') tasks.done(cluster, 'fail', text);
            else tasks.update(cluster, text);
          } else if (e.type === 'check') {
            endTasks();
            progress.info(
              `  built-in check after ${e.after}: ${e.report.checked - e.report.failures.length}/${e.report.checked} cluster pairs verify`,
            );
          }
        },
      });
    } finally {
      endTasks();
      stopInterrupt();
    }
    if (dryRun) {
      const { printDryRun } = await import('../actions/dry-run-report.js');
      await printDryRun(dryRun, flags.output);
      const rot = result.rotation;
      const at = rot.status?.rotationState ?? 'NOT_ROTATING';
      progress.info(
        flags.abort
          ? `would then roll back CertificateRotation ${rot.metadata.namespace}/${rot.metadata.name} (ROLLING_BACK, PREVIOUS_CA), re-issuing the VirtualMesh's IssuedCertificates in ${set.managed.map((c) => c.name).join(', ')} at each step; nothing was stored`
          : `would then take CertificateRotation ${rot.metadata.namespace}/${rot.metadata.name} from ${at} through ADDING_NEW_ROOT, PROPAGATING_NEW_INTERMEDIATE, verification, DELETING_OLD_ROOT, verification to FINISHED, waiting at each step for every IssuedCertificate of VirtualMesh ${flags['virtual-mesh']} in ${set.managed.map((c) => c.name).join(', ')} to be re-issued; nothing was stored`,
      );
      return;
    }
    const r = result.rotation;
    const fmt = flags.output;
    for (const ref of result.retention?.removed ?? [])
      progress.info(`removed old root Secret ${ref} (--keep-previous-roots ${flags['keep-previous-roots']})`);
    for (const why of result.retention?.kept ?? []) progress.info(`kept old root Secret ${why}`);
    if (fmt === 'json' || fmt === 'yaml') await output.printData(fmt, { ...r, keysGenerated: result.keysGenerated });
    else if (fmt === 'name')
      output.out(qualifiedName('CertificateRotation', resourceOf('CertificateRotation').group, r.metadata.name));
    else
      output.out(
        `certificaterotation/${r.metadata.name} ${rotationWords(r.status?.state ?? 'PENDING', r.status?.rotationState)}${r.status?.error ? `: ${r.status.error}` : ''}`,
      );
    if (result.outcome === 'stopped') throw new InterruptedError();
    if (result.outcome === 'failed' && result.timedOut) {
      const { step, clusters } = result.timedOut;
      throw new TimeoutError(
        `step ${step} of rotation ${r.metadata.namespace}/${r.metadata.name} timed out after --timeout ${flags.timeout} waiting for cluster(s) ${clusters.join(', ')}; the rotation is ${r.status?.state ?? 'FAILED'}: ${r.status?.error ?? result.error}`,
      );
    }
    if (result.outcome === 'failed')
      throw new UserError(
        `rotation ${r.metadata.namespace}/${r.metadata.name} FAILED: ${r.status?.error ?? result.error}`,
      );
  }
}
