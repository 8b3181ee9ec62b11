import { Args } from '@oclif/core';
import { MeshCertCommand } from '../lib/base.js';
import { UserError } from '../lib/errors.js';

// kubectl (1.26+) completes a plugin's arguments by running `kubectl_complete-<plugin>` from PATH
// with the words typed so far; ours forwards them to the hidden __complete command.
const SCRIPT = `#!/usr/bin/env sh
# kubectl completion for the mesh-cert plugin. Install: save this file as
# kubectl_complete-mesh_cert somewhere on PATH and make it executable.
exec kubectl-mesh_cert __complete "$@"
`;

export default class Completion extends MeshCertCommand {
  static override summary = 'Print the kubectl completion script for this plugin.';
  static override description = `kubectl completes plugin arguments by running kubectl_complete-mesh_cert from PATH.
Save the output under that name on PATH and make it executable.`;
  static override examples = [
    '<%= config.bin %> completion kubectl > ~/.local/bin/kubectl_complete-mesh_cert && chmod +x ~/.local/bin/kubectl_complete-mesh_cert',
  ];
  static override args = {
    shell: Args.string({ description: 'the completion host: kubectl', required: true, options: ['kubectl'] }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Completion);
    if (args.shell !== 'kubectl') throw new UserError(`completion supports "kubectl", got "${args.shell}"`);
    process.stdout.write(SCRIPT);
  }
}
