import { Args, Flags } from '@oclif/core';
import { MeshCertCommand } from '../../lib/base.js';
import { kubeFlags, outputFlags } from '../../lib/flags.js';
import { UserError } from '../../lib/errors.js';

export default class RootCreate extends MeshCertCommand {
  static override summary = 'Create a root CA (or import one) into a Secret of the management cluster, in the Istio cacerts layout.';
  static override description = `Generates a self-signed root CA (RSA, node:crypto) and writes ca-cert.pem, ca-key.pem,
root-cert.pem and cert-chain.pem into the Secret NAMESPACE/NAME of the management cluster
(--mgmt-context, else --context, else the current context). With --from-files, imports an
existing root, or an intermediate with its chain, from a directory or a comma list of files; the
material is verified (chain to a self-signed root, key matches the certificate) before it is
written. An existing Secret is never overwritten without --force.`;
  static override examples = [
    '<%= config.bin %> root create gloo-mesh/root-ca --org acme --ttl-days 3650',
    '<%= config.bin %> root create gloo-mesh/root-ca-2026 --key-size 2048 --mgmt-context mgmt',
    '<%= config.bin %> root create gloo-mesh/imported --from-files ./certs/',
    '<%= config.bin %> root create gloo-mesh/imported --from-files ca-cert.pem,ca-key.pem,root-cert.pem',
  ];
  static override args = { secret: Args.string({ description: 'the Secret to write, as NAMESPACE/NAME', required: true }) };
  static override flags = {
    ...kubeFlags,
    'mgmt-context': Flags.string({ description: 'context of the management cluster (default: --context, else the current context)' }),
    output: outputFlags.output,
    org: Flags.string({ description: 'organization (O) of the root certificate', default: 'gloo-mesh' }),
    'common-name': Flags.string({ description: 'common name (CN) of the root certificate (default: "<org> root CA")' }),
    'ttl-days': Flags.integer({ description: 'validity of the root certificate in days', default: 3650, min: 1, max: 36500 }),
    'key-size': Flags.option({ description: 'RSA key size in bits', options: ['2048', '3072', '4096'] as const, default: '4096' as const })(),
    'from-files': Flags.string({ description: 'import instead of generating: a directory, or a comma list of PEM files', exclusive: ['common-name'] }),
    force: Flags.boolean({ description: 'overwrite the Secret if it exists', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RootCreate);
    if (flags['from-files'] && (flags.org !== 'gloo-mesh' || flags['ttl-days'] !== 3650 || flags['key-size'] !== '4096')) {
      throw new UserError('--from-files imports existing material: --org, --ttl-days and --key-size apply only to a generated root');
    }
    const [{ resolveCluster }, { parseRef }, material, output, progress, { briefOf }] = await Promise.all([
      import('../../lib/clusters.js'),
      import('../../lib/refs.js'),
      import('../../actions/root-material.js'),
      import('../../lib/output.js'),
      import('../../lib/progress.js'),
      import('../../lib/certs.js'),
    ]);
    const ref = parseRef(args.secret, { what: 'SECRET' });
    const { cluster } = await resolveCluster(flags);
    const k8s = await cluster.client();

    // Refuse before the (slow) key generation if the Secret exists.
    const existing = await k8s.findSecret(ref.namespace, ref.name);
    if (existing && !flags.force) {
      throw new UserError(`Secret ${ref.namespace}/${ref.name} already exists on cluster "${cluster.name}": pass --force to overwrite it`);
    }

    const m = flags['from-files']
      ? material.importFiles(flags['from-files'])
      : await progress.withSpinner(`generating a ${flags['key-size']}-bit RSA root key`, () =>
          material.generateRoot({
            org: flags.org,
            commonName: flags['common-name'] ?? `${flags.org} root CA`,
            ttlDays: flags['ttl-days'],
            keyBits: Number(flags['key-size']) as 2048 | 3072 | 4096,
          }), { quiet: true });
    for (const w of material.verifyMaterial(m)) progress.warn(w);

    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: ref.name,
        namespace: ref.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'mesh-cert' },
        ...(existing?.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      type: 'Opaque',
      data: material.secretData(m),
    };
    await k8s.ensureNamespace(ref.namespace);
    let action: 'created' | 'replaced';
    if (existing) {
      await k8s.replaceSecret(ref.namespace, ref.name, body);
      action = 'replaced';
    } else {
      await k8s.createSecret(ref.namespace, body);
      action = 'created';
    }
    const ca = briefOf(m.caCertPem)!;
    const root = briefOf(m.rootPems[0])!;
    const result = {
      cluster: cluster.name,
      secret: { namespace: ref.namespace, name: ref.name },
      action,
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
        ].join('\n'),
      );
    }
  }
}
