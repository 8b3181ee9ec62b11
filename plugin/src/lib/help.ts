// The help of `kubectl mesh-cert` (registered in build.mjs as oclif's helpClass, and its
// command_not_found hook). Help text is wrapped once, by oclif, at the terminal's width: the
// descriptions in the command files are hard-wrapped for the source, so their paragraphs are
// joined first (a second wrap at another width is what made the help ragged). Usage reads as
// kubectl's does (`kubectl mesh-cert rotate --virtual-mesh <value> [flags]`) instead of
// oclif's docopts listing of every flag.
import type { Command } from '@oclif/core';
import { CommandHelp, Help, type Config, type Hook, type Interfaces } from '@oclif/core';
import { UserError } from './errors.js';
import { suggest } from './suggest.js';

/** The width help is wrapped at: the terminal's (stdout, else stderr), else $COLUMNS, else 80. */
export function helpWidth(): number {
  const fromEnv = Number.parseInt(process.env.OCLIF_COLUMNS ?? process.env.COLUMNS ?? '', 10);
  if (fromEnv > 0) return Math.max(40, fromEnv);
  const tty = process.stdout.isTTY ? process.stdout.columns : process.stderr.isTTY ? process.stderr.columns : undefined;
  return tty && tty > 0 ? Math.max(40, tty) : 80;
}

/**
 * Joins the lines of each paragraph of a hard-wrapped text; blank lines, and lines that start a
 * list item or are indented (examples, tables), keep their breaks.
 */
export function unwrap(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const prev = out.length ? out[out.length - 1] : undefined;
    const keep =
      line.trim() === '' ||
      prev === undefined ||
      prev.trim() === '' ||
      /^\s/.test(line) ||
      /^[-*•] /.test(line) ||
      /^\s/.test(prev);
    if (keep) out.push(line);
    else out[out.length - 1] = `${prev.trimEnd()} ${line.trim()}`;
  }
  return out.join('\n');
}

type Cmd = Command.Loadable;

/** kubectl-style usage: the arguments, the required flags, then [flags]. */
export function usageOf(
  cmd: {
    id: string;
    args?: Record<string, { name?: string; required?: boolean; hidden?: boolean }>;
    flags?: Record<string, { required?: boolean; type?: string; hidden?: boolean; char?: string }>;
  },
  separator = ' ',
): string {
  const args = Object.entries(cmd.args ?? {})
    .filter(([, a]) => !a.hidden)
    .map(([name, a]) => (a.required ? (a.name ?? name).toUpperCase() : `[${(a.name ?? name).toUpperCase()}]`));
  const required = Object.entries(cmd.flags ?? {})
    .filter(([, f]) => f.required && !f.hidden)
    .map(([name, f]) => (f.type === 'boolean' ? `--${name}` : `--${name} <value>`));
  const hasOptional = Object.values(cmd.flags ?? {}).some((f) => !f.required && !f.hidden);
  return [cmd.id.split(':').join(separator), ...args, ...required, ...(hasOptional ? ['[flags]'] : [])].join(' ');
}

class MeshCertCommandHelp extends CommandHelp {
  constructor(command: Cmd, config: Config, opts: Interfaces.HelpOptions) {
    super(
      { ...command, description: command.description ? unwrap(command.description) : command.description } as Cmd,
      config,
      opts,
    );
  }

  protected override defaultUsage(): string {
    return usageOf(this.command as never, this.config.topicSeparator ?? ' ');
  }
}

export default class MeshCertHelp extends Help {
  override CommandHelpClass = MeshCertCommandHelp as never;

  constructor(config: Interfaces.Config, opts: Partial<Interfaces.HelpOptions> = {}) {
    super(config, { maxWidth: helpWidth(), ...opts });
  }
}
export { MeshCertHelp };

/** oclif's command_not_found hook: the error names the closest commands, as kubectl does. */
export const commandNotFound: Hook<'command_not_found'> = async function (opts) {
  const typed = opts.id.split(':').join(' ');
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.split(':').join(' '));
  const close = suggest(typed, ids);
  const hint = close.length
    ? `; did you mean ${close
        .slice(0, 3)
        .map((c) => `"${c}"`)
        .join(' or ')}?`
    : '';
  throw new UserError(
    `unknown command "${typed}" for "kubectl mesh-cert"${hint} (kubectl mesh-cert --help lists the commands)`,
  );
};
