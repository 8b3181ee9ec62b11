// The base of every command: shared flags, errors left to main() (one sentence on stderr), and
// deadlines that end in exit code 124.
// Parsing the flags sets the limits of every API call the command makes (lib/deadline.ts):
// --timeout of waitFlags is the command's deadline, any other --timeout (rotate: per step) and
// --request-timeout bound each single call.
import type { Interfaces } from '@oclif/core';
import { Command } from '@oclif/core';

import {
  baseFlags,
  deprecatedAliasWarnings,
  parseDuration,
  waitFlags,
  type RequestFlagValues,
  type TimeoutFlagValues,
} from './flags.js';
import { setRequestMode, type RequestMode } from './request-mode.js';
import { InterruptedError, TimeoutError, UserError, errorMessage } from './errors.js';
import { suggest } from './suggest.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, callLimits, deadlineHits, setCallLimits, type CallLimits } from './deadline.js';

// oclif's own constraints of parse() (not exported by @oclif/core's index).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type FlagOutput = { [name: string]: any };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ArgOutput = { [name: string]: any };

/**
 * The call limits of a command from its flag definitions and values, `start` being when it
 * started (epoch ms). Exported for tests.
 */
export function limitsOf(
  defs: Record<string, unknown> | undefined,
  flags: TimeoutFlagValues,
  start = Date.now(),
): CallLimits {
  const limits: CallLimits = {};
  const rt = flags['request-timeout'];
  if (rt !== undefined) {
    limits.requestTimeoutMs = parseDuration(rt, '--request-timeout');
    limits.requestTimeoutFlag = `--request-timeout ${rt}`;
  }
  const t = flags.timeout;
  if (typeof t === 'string' && defs?.timeout !== undefined) {
    const ms = parseDuration(t, '--timeout');
    if (defs.timeout === waitFlags.timeout) {
      limits.deadline = start + ms;
      limits.deadlineFlag = `--timeout ${t}`;
    } else {
      // A --timeout of one step (rotate): no single call may outlast a step.
      const per = limits.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      if (ms > 0 && (per === 0 || ms < per)) {
        limits.requestTimeoutMs = ms;
        limits.requestTimeoutFlag = `--timeout ${t}`;
      }
    }
  }
  return limits;
}

/** The request mode (--dry-run, -v, --as, --as-group) of a command's flag values. Exported for tests. */
export function requestModeOf(flags: RequestFlagValues): RequestMode {
  const mode: RequestMode = {};
  const d = flags['dry-run'];
  if (d === 'client' || d === 'server') mode.dryRun = d;
  if (flags.v !== undefined) mode.verbosity = flags.v;
  const groups = flags['as-group'] ?? [];
  if (groups.length && flags.as === undefined)
    throw new UserError('--as-group needs --as: impersonating groups requires a user to impersonate (as kubectl)');
  if (flags.as !== undefined) {
    if (flags.as === '') throw new UserError('--as expects a username, got an empty value');
    mode.impersonate = { user: flags.as, groups };
  }
  return mode;
}

export abstract class MeshCertCommand extends Command {
  static override baseFlags = baseFlags;

  /** Parses as oclif does, then sets the limits of every API call of this command. */
  protected override async parse<F extends FlagOutput, B extends FlagOutput, A extends ArgOutput>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const start = Date.now();
    let out: Interfaces.ParserOutput<F, B, A>;
    try {
      out = await super.parse(options, argv);
    } catch (err) {
      throw withFlagSuggestion(err, { ...(this.ctor.baseFlags ?? {}), ...(options?.flags ?? this.ctor.flags ?? {}) });
    }
    const defs = (options?.flags ?? this.ctor.flags) as Record<string, unknown> | undefined;
    for (const w of deprecatedAliasWarnings(argv ?? this.argv, defs ?? {})) process.stderr.write(`warning: ${w}\n`);
    setCallLimits(limitsOf(defs, out.flags as TimeoutFlagValues, start));
    setRequestMode(requestModeOf(out.flags as RequestFlagValues));
    return out;
  }

  /**
   * Errors are reported once, by main(), in the same style for every command. A command whose
   * deadline (--timeout) ran out while it failed exits 124, whatever the error, naming the call
   * and the cluster the deadline cut off.
   */
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    throw asTimeout(err);
  }
}

/**
 * oclif's "Nonexistent flag: --contxt", with the closest flags of the command named
 * ("did you mean --context?"); any other error as it is.
 */
export function withFlagSuggestion(err: unknown, flags: Record<string, unknown>): unknown {
  const e = err as Error & { flags?: string[] };
  if (!(err instanceof Error) || !/^Nonexistent flags?:/.test(e.message) || !Array.isArray(e.flags)) return err;
  const names = Object.entries(flags)
    .filter(([, f]) => !(f as { hidden?: boolean }).hidden)
    .map(([n]) => `--${n}`);
  const hints = e.flags.flatMap((typed) => {
    const bare = typed.split('=')[0]!;
    const close = suggest(bare.startsWith('--') ? bare : `--${bare.replace(/^-+/, '')}`, names).slice(0, 2);
    return close.length ? [`did you mean ${close.join(' or ')} for ${bare}?`] : [];
  });
  if (hints.length)
    e.message =
      `${e.message.split('\n')[0]} (${hints.join('; ')})\n${e.message.split('\n').slice(1).join('\n')}`.trimEnd();
  return err;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/** err, or a TimeoutError (exit 124) when the command's deadline has passed and cut a call off. */
export function asTimeout(err: unknown): unknown {
  if (err instanceof TimeoutError || err instanceof InterruptedError) return err;
  if ((err as { code?: string } | undefined)?.code === 'EEXIT') return err;
  const { deadline, deadlineFlag } = callLimits();
  const hit = deadlineHits()[0];
  if (deadline === undefined || !hit || Date.now() < deadline) return err;
  const msg = errorMessage(err);
  const why = msg.includes(hit.message) ? msg : `${msg} (${hit.message})`;
  const out = new TimeoutError(`${deadlineFlag ?? '--timeout'} ran out: ${why}`);
  if (err instanceof Error) out.cause = err;
  return out;
}
