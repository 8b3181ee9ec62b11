import { MeshCertCommand } from '../lib/base.js';

export default class Complete extends MeshCertCommand {
  static override hidden = true;
  static override strict = false;
  static override summary = "Answer kubectl's plugin completion protocol (used by kubectl_complete-mesh_cert).";

  async run(): Promise<void> {
    // main() puts "--" first so that oclif never reads the user's words as its own flags.
    const words = this.argv[0] === '--' ? this.argv.slice(1) : this.argv;
    const [{ complete, formatCompletion }, { loadKubeconfig, contextNames, pickContext, namespaceOf }] =
      await Promise.all([import('../report/complete.js'), import('../lib/kubeconfig.js')]);
    const commands = this.config.commands.map((c) => ({
      id: c.id,
      summary: c.summary,
      hidden: c.hidden,
      flags: c.flags,
      args: c.args,
    }));
    const kubeconfigOf = (flags: Map<string, string>) => loadKubeconfig(flags.get('kubeconfig'));
    const clientFor = async (flags: Map<string, string>) => {
      const kc = await kubeconfigOf(flags);
      const ctx = pickContext(kc, flags.get('context') ?? flags.get('mgmt-context'));
      const { kubeConfigFor } = await import('../lib/kubeconfig.js');
      const { K8s } = await import('../lib/k8s.js');
      return {
        k8s: await K8s.forKubeConfig(ctx.name, await kubeConfigFor(kc, ctx.name)),
        namespace: flags.get('namespace') ?? namespaceOf(kc, ctx.name),
      };
    };
    const result = await complete(commands, words, {
      contexts: async () => contextNames(await loadKubeconfig(undefined)),
      namespaces: async (p) => (await clientFor(p.flags)).k8s.listNamespaces(),
      objects: async (p, kind, allNamespaces) => {
        const { k8s, namespace } = await clientFor(p.flags);
        const ns = allNamespaces ? undefined : namespace;
        if (kind === 'Secret') {
          return (await k8s.listSecrets(ns)).map((s) => ({
            namespace: s.metadata.namespace ?? '',
            name: s.metadata.name,
          }));
        }
        const { resourceOf } = await import('../lib/kinds.js');
        return (await k8s.list(resourceOf(kind), ns)).map((o) => ({
          namespace: o.metadata.namespace ?? '',
          name: o.metadata.name,
        }));
      },
    });
    process.stdout.write(formatCompletion(result));
  }
}
