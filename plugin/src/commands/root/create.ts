import { Args, Flags } from '@oclif/core';
import { MeshCertCommand } from '../../lib/base.js';
import { clusterFlags, dryRunFlags, kubeFlags, outputFlags } from '../../lib/flags.js';
import { requestMode } from '../../lib/request-mode.js';
import { ApiError, UserError, errorMessage } from '../../lib/errors.js';

export default class RootCreate extends MeshCertCommand {
  static override summary =
    'Create a root CA (or import one) into a Secret of the management cluster, in the Istio cacerts layout.';
  static override description = `Generates a self-signed root CA (RSA, node:crypto) and writes ca-cert.pem, ca-key.pem,
root-cert.pem and cert-chain.pem into the Secret NAMESPACE/NAME of the management cluster
(--mgmt-context, else --context, else the current context). With --from-files, imports an
existing root, or an intermediate with its chain, from a directory or a comma list of files; the
material is verified (chain to a self-signed root, key matches the certificate) before it is
written. An existing Secret is never overwritten without --force, and --force refuses a Secret
that is in use: named as the signing Secret of an IssuedCertificate (in the management cluster or
a managed one: --managed-clusters a,b, --all-contexts, default every context) or as a rotation's root
(annotation mesh-cert.solo.io/rotation-roots), as the new root of a CertificateRotation, or as
the root of a VirtualMesh; a root in use is replaced by "rotate", never overwritten. Before
overwriting, the previous Secret is copied to <name>-backup-<UTC time> in the same namespace
(labelled app.kubernetes.io/managed-by=mesh-cert, mesh-cert.solo.io/backup-of=<name>).
--dry-run=server sends every write (namespace, backup, Secret) with dryRun=All, nothing stored;
--dry-run=client sends none; both print the writes (private keys never shown).`;
  static override examples = [
    '<%= config.bin %> root create gloo-mesh/root-ca --org acme --ttl-days 3650',
    '<%= config.bin %> root create gloo-mesh/root-ca-2026 --key-size 2048 --mgmt-context mgmt',
    '<%= config.bin %> root create gloo-mesh/imported --from-files ./certs/',
    '<%= config.bin %> root create gloo-mesh/imported --from-files ca-cert.pem,ca-key.pem,root-cert.pem',
    '<%= config.bin %> root create gloo-mesh/root-ca-2027 --dry-run=server -o yaml',
  ];
  static override args = {
    secret: Args.string({ description: 'the Secret to write, as NAMESPACE/NAME', required: true }),
  };
  static override flags = {
    ...kubeFlags,
    'mgmt-context': Flags.string({
      description: 'context of the management cluster (default: --context, else the current context)',
    }),
    'managed-clusters': Flags.string({
      description:
        'with --force: the managed clusters whose IssuedCertificates may use the Secret, as context names a,b (default: every context); old name --cluster (deprecated)',
      exclusive: ['all-contexts'],
      aliases: ['cluster'],
    }),
    'all-contexts': clusterFlags['all-contexts'],
    output: outputFlags.output,
    ...dryRunFlags,
    org: Flags.string({ description: 'organization (O) of the root certificate', default: 'gloo-mesh' }),
    'common-name': Flags.string({ description: 'common name (CN) of the root certificate (default: "<org> root CA")' }),
    'ttl-days': Flags.integer({
      description: 'validity of the root certificate in days',
      default: 3650,
      min: 1,
      max: 36500,
    }),
    'key-size': Flags.option({
      description: 'RSA key size in bits',
      options: ['2048', '3072', '4096'] as const,
      default: '4096' as const,
    })(),
    'from-files': Flags.string({
      description: 'import instead of generating: a directory, or a comma list of PEM files',
      exclusive: ['common-name'],
    }),
    force: Flags.boolean({
      description: 'overwrite the Secret if it exists and nothing uses it (a copy is kept first)',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RootCreate);
    if (
      flags['from-files'] &&
      (flags.org !== 'gloo-mesh' || flags['ttl-days'] !== 3650 || flags['key-size'] !== '4096')
    ) {
      throw new UserError(
        '--from-files imports existing material: --org, --ttl-days and --key-size apply only to a generated root',
      );
    }
    const [{ resolveClusters }, { parseRef }, material, output, progress, { briefOf }] = await Promise.all([
      import('../../lib/clusters.js'),
      import('../../lib/refs.js'),
      import('../../actions/root-material.js'),
      import('../../lib/output.js'),
      import('../../lib/progress.js'),
      import('../../lib/certs.js'),
    ]);
    const ref = parseRef(args.secret, { what: 'SECRET' });
    const set = await resolveClusters(flags);
    const cluster = set.mgmt;
    const k8s = await cluster.client();
    const where = `Secret ${ref.namespace}/${ref.name} on cluster "${cluster.name}"`;

    // Refuse before the (slow) key generation if the Secret exists.
    const existing = await k8s.findSecret(ref.namespace, ref.name);
    if (existing && !flags.force) {
      throw new UserError(
        `Secret ${ref.namespace}/${ref.name} already exists on cluster "${cluster.name}": pass --force to overwrite it`,
      );
    }
    if (existing) {
      if (existing.immutable)
        throw new UserError(`--force: ${where} is immutable and cannot be overwritten; nothing was changed`);
      const { uses, failed } = await progress.withSpinner(
        `checking what uses ${ref.namespace}/${ref.name}`,
        () => material.findSecretUses(cluster, set.managed, ref),
        { quiet: true },
      );
      if (uses.length) {
        throw new UserError(
          `--force: refusing to overwrite ${where}: it is in use by ${uses.map(material.describeUse).join('; ')}; ` +
            `create the new root in another Secret and move to it with \`kubectl mesh-cert rotate --new-root-secret NS/NAME\`; nothing was changed`,
        );
      }
      if (failed.length) {
        throw new UserError(
          `--force: refusing to overwrite ${where}: cannot tell whether it is in use: ${failed.map((f) => `cluster "${f.cluster}": ${errorMessage(f.error)}`).join('; ')}; ` +
            `name the managed clusters to check with --managed-clusters a,b; nothing was changed`,
        );
      }
    }

    const m = flags['from-files']
      ? material.importFiles(flags['from-files'])
      : await progress.withSpinner(
          `generating a ${flags['key-size']}-bit RSA root key`,
          () =>
            material.generateRoot({
              org: flags.org,
              commonName: flags['common-name'] ?? `${flags.org} root CA`,
              ttlDays: flags['ttl-days'],
              keyBits: Number(flags['key-size']) as 2048 | 3072 | 4096,
            }),
          { quiet: true },
        );
    for (const w of material.verifyMaterial(m)) progress.warn(w);

    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: ref.name,
        namespace: ref.namespace,
        labels: { [material.LABEL_MANAGED_BY]: material.MANAGED_BY },
        ...(existing?.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      type: 'Opaque',
      data: material.secretData(m),
    };
    await k8s.ensureNamespace(ref.namespace);
    let action: 'created' | 'replaced';
    let backup: { namespace: string; name: string } | undefined;
    if (existing) {
      // A copy first: its data is the old root and its key, whoever made the Secret.
      const now = new Date();
      for (let attempt = 0; !backup; attempt++) {
        const copy = material.backupSecret(existing, now, attempt);
        try {
          await k8s.createSecret(ref.namespace, copy);
          backup = { namespace: ref.namespace, name: copy.metadata.name };
        } catch (err) {
          if (err instanceof ApiError && err.status === 409 && attempt < 5) continue;
          throw new UserError(
            `--force: could not keep a copy of ${where} before overwriting it (${errorMessage(err)}); nothing was changed`,
            { cause: err },
          );
        }
      }
      try {
        await k8s.replaceSecret(ref.namespace, ref.name, body);
      } catch (err) {
        if (err instanceof ApiError) {
          // A definite answer: nothing was written, so the copy is not needed.
          let removed = false;
          try {
            await k8s.deleteSecret(backup.namespace, backup.name);
            removed = true;
          } catch {
            /* kept: harmless, and named below */
          }
          const why =
            err.status === 409
              ? `it changed after it was read (${errorMessage(err)}); re-run to check it again`
              : errorMessage(err);
          throw new UserError(
            `could not overwrite ${where}: ${why}; nothing was changed${removed ? '' : ` (the copy ${backup.namespace}/${backup.name} is left behind)`}`,
            { cause: err },
          );
        }
        // No answer: the write may have happened; the copy holds the previous data either way.
        throw new UserError(
          `overwriting ${where} got no answer (${errorMessage(err)}); it may or may not have been replaced: the previous data is kept in Secret ${backup.namespace}/${backup.name}`,
          { cause: err },
        );
      }
      action = 'replaced';
      const foreign = material.createdByMeshCert(existing)
        ? ''
        : ` (not created by mesh-cert: no ${material.LABEL_MANAGED_BY}=${material.MANAGED_BY} label)`;
      progress.info(
        `${requestMode().dryRun ? 'would keep' : 'kept'} a copy of the previous Secret ${ref.namespace}/${ref.name}${foreign} in Secret ${backup.namespace}/${backup.name}`,
      );
    } else {
      try {
        await k8s.createSecret(ref.namespace, body);
      } catch (err) {
        // A server dry run stores no namespace, so a Secret in a new one cannot be judged.
        if (requestMode().dryRun === 'server' && err instanceof ApiError && err.status === 404) {
          throw new UserError(
            `--dry-run=server: namespace ${ref.namespace} does not exist on cluster "${cluster.name}" yet (it would be created first), and the API server cannot judge a Secret in a namespace it does not have: create the namespace, or use --dry-run=client`,
            { cause: err },
          );
        }
        throw err;
      }
      action = 'created';
    }
    const ca = briefOf(m.caCertPem)!;
    const root = briefOf(m.rootPems[0])!;
    const { dryRun } = requestMode();
    if (dryRun) {
      const { printDryRun, dryRunSuffix } = await import('../../actions/dry-run-report.js');
      progress.info(
        `secret/${ref.name} would be ${action} in namespace ${ref.namespace} on cluster ${cluster.name} ${dryRunSuffix(dryRun)}: CA ${ca.subject}, root sha256 ${root.fingerprint}`,
      );
      await printDryRun(dryRun, flags.output);
      return;
    }
    const result = {
      cluster: cluster.name,
      secret: { namespace: ref.namespace, name: ref.name },
      action,
      ...(backup ? { backup, previousCreatedByMeshCert: material.createdByMeshCert(existing!) } : {}),
      imported: Boolean(flags['from-files']),
      caCertificate: { subject: ca.subject, notAfter: ca.notAfter, fingerprintSha256: ca.fingerprint },
      root: { subject: root.subject, notAfter: root.notAfter, fingerprintSha256: root.fingerprint },
      chainLength: m.chainPems.length,
      roots: m.rootPems.length,
    };
    const fmt = flags.output;
    if (fmt === 'json' || fmt === 'yaml') await output.printData(fmt, result);
    else if (fmt === 'name') output.out(`secret/${ref.name}`);
    else {
      output.out(
        [
          `secret/${ref.name} ${action} in namespace ${ref.namespace} on cluster ${cluster.name}`,
          `  CA:     ${ca.subject}  (not after ${ca.notAfter})`,
          `  root:   ${root.subject}  sha256 ${root.fingerprint}`,
          `  chain:  ${m.chainPems.length} certificate(s), ${m.rootPems.length} trusted root(s)`,
          ...(backup
            ? [
                `  backup: the previous Secret (its key included) is kept in secret/${backup.name} in namespace ${backup.namespace}`,
              ]
            : []),
        ].join('\n'),
      );
    }
  }
}
