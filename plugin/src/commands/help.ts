import { Args, loadHelpClass } from '@oclif/core';
import { MeshCertCommand } from '../lib/base.js';

export default class HelpCommand extends MeshCertCommand {
  static override summary = 'Show the help of kubectl mesh-cert or of one command.';
  static override description = 'The same text as `kubectl mesh-cert COMMAND --help`.';
  static override examples = ['<%= config.bin %> help status', '<%= config.bin %> help root create'];
  static override strict = false;
  static override args = {
    command: Args.string({
      description: 'the command (words of a topic command separated by spaces)',
      required: false,
    }),
  };

  async run(): Promise<void> {
    const { argv } = await this.parse(HelpCommand);
    const Help = await loadHelpClass(this.config);
    const help = new Help(this.config, (this.config.pjson.oclif as { helpOptions?: object }).helpOptions ?? {});
    await help.showHelp((argv as string[]).filter((a) => a !== '--help'));
  }
}
