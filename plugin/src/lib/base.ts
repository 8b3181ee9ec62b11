// The base of every command: shared flags, errors left to main() (one sentence on stderr),
// prompts that refuse to run without a terminal, and deadlines that end in exit code 124.
import { Command } from '@oclif/core';
import { baseFlags } from './flags.js';
import { InterruptedError, TimeoutError, notInteractive } from './errors.js';

export abstract class MeshCertCommand extends Command {
  static override baseFlags = baseFlags;

  /** Errors are reported once, by main(), in the same style for every command. */
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    throw err;
  }

  /**
   * Asks a yes/no question on the terminal (prompt on stderr). With --yes it is answered yes;
   * without a terminal it is an error naming --yes.
   */
  protected async confirm(question: string, opts: { yes?: boolean; default?: boolean } = {}): Promise<boolean> {
    if (opts.yes) return true;
    if (!process.stdin.isTTY) throw notInteractive(question.replace(/\?$/, ''));
    const { confirm } = await import('@inquirer/prompts');
    try {
      return await confirm({ message: question, default: opts.default ?? false }, { output: process.stderr });
    } catch (err) {
      if ((err as Error).name === 'ExitPromptError') throw new InterruptedError();
      throw err;
    }
  }
}

/** Runs fn with a deadline; past it, rejects with a TimeoutError (exit code 124). */
export async function withDeadline<T>(ms: number, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctl.abort();
      reject(new TimeoutError(`timed out after ${formatMs(ms)} waiting for ${what}`));
    }, ms);
  });
  try {
    return await Promise.race([fn(ctl.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
