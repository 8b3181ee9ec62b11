import { Flags } from '@oclif/core';
import { MeshCertCommand } from '../lib/base.js';
import { clusterFlags, currentRootFlags, kubeFlags, outputFlags } from '../lib/flags.js';

export default class Check extends MeshCertCommand {
  static override summary = "Preflight checks: CRDs, webhook, roots and every cluster's cacerts.";
  static override description = `In the style of \`linkerd check\`, on the management cluster and every managed cluster:
the CRDs of the five kinds are installed, whose they are (mesh-cert's or Gloo Mesh's), and whether
what the API server serves agrees with the schemas/ contract (manifests/crds, built into this
client); webhook configurations route the mesh-cert kinds with a caBundle (>= 60 days left); each
webhook's own serving certificate chains to that caBundle, names the host the API server calls and
has >= 30 days left (read by a TLS handshake for a webhook registered by URL, from the Secret its
Deployment mounts for one registered by Service; each line says which); a dry-run write the webhook must deny is denied; signing roots and
intermediates are valid for >= 60 days; each managed cluster's cacerts chains to the current root
and holds no key Istio 1.15+ loads in preference (tls.crt, tls.key, ca.crt); the clusters of each
VirtualMesh trust the same roots, with intermediates anchored at one root, outside an active
rotation (read from the cacerts Secrets themselves); no cluster trusts a root that no signing
Secret in use holds; IssuedCertificates Gloo Mesh owns are reported as observed. Prints pass (✓),
warn (‼) and fail (✗) lines (coloured on a terminal; not when piped or with NO_COLOR), with a
hint under each that did not pass. Exit codes: 0 all passed, 1 a check failed, 3 warnings only.`;
  static override examples = [
    '<%= config.bin %> check',
    '<%= config.bin %> check --mgmt-context mgmt --managed-clusters cluster-1,cluster-2 -o json',
  ];
  static override flags = {
    ...kubeFlags,
    ...clusterFlags,
    output: outputFlags.output,
    cacerts: Flags.string({
      description: "the Secret each managed cluster's mesh reads its CA from",
      default: 'istio-system/cacerts',
    }),
    'root-secret': currentRootFlags['root-secret'],
    'dry-run-namespace': Flags.string({ description: 'namespace of the dry-run write', default: 'default' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Check);
    const [{ resolveClusters }, { parseRef }, check, { renderChecks }, output] = await Promise.all([
      import('../lib/clusters.js'),
      import('../lib/refs.js'),
      import('../report/check.js'),
      import('../report/check-render.js'),
      import('../lib/output.js'),
    ]);
    const set = await resolveClusters(flags);
    // The CRDs are compared with the copy built into this client (report/version.ts clientCrds):
    // the single binary and the npm package have no manifests/ beside them.
    const lines = await check.runChecks(set, {
      cacerts: parseRef(flags.cacerts, { what: '--cacerts' }),
      rootSecret: flags['root-secret'] ? parseRef(flags['root-secret'], { what: '--root-secret' }) : undefined,
      dryRunNamespace: flags['dry-run-namespace'],
    });
    const failed = lines.some((l) => l.result === 'fail');
    const warned = lines.some((l) => l.result === 'warn');
    const fmt = flags.output;
    const result = { kind: 'CheckResult', success: !failed, checks: lines };
    if (fmt === 'json' || fmt === 'yaml') {
      await output.printData(fmt, result);
    } else if (!output.printTemplate(fmt, lines, { noHeaders: false })) output.out(renderChecks(lines));
    if (failed) this.exit(1);
    // warnings only: a code of its own (EXIT_WARNINGS, as linkerd check separates them)
    if (warned) this.exit(3);
  }
}
