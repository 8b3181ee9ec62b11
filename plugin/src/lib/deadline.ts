// How long one API call may take: the command's deadline (`--timeout` of commands that bound
// the whole run) and a per-request timeout (`--request-timeout`, default 30s, as kubectl's flag),
// so that no call, even one whose connection never answers or stalls mid-response, runs for ever.
// MeshCertCommand.parse() sets the limits of the running command; clusters.ts hands them to every
// cluster's K8s client. Light on purpose: command modules import it.
import type { DeadlineError } from './errors.js';

/** A single call's bound when nothing else is given (kubectl has none; a hung socket is worse). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** setTimeout's limit: a longer bound is no bound (24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

export interface CallLimits {
  /** Epoch milliseconds by which every call must have finished (the command's --timeout). */
  deadline?: number;
  /** How messages name the deadline, e.g. `--timeout 5s`. */
  deadlineFlag?: string;
  /** The bound of one call in milliseconds; 0: none. Default DEFAULT_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /** How messages name the per-request bound, e.g. `--request-timeout 30s`. */
  requestTimeoutFlag?: string;
  /** Aborts every call in flight (and refuses new ones) when it fires. */
  signal?: AbortSignal;
}

let current: CallLimits = {};
const hits: DeadlineError[] = [];

/** The limits of the running command (set once it has parsed its flags). */
export function callLimits(): CallLimits {
  return current;
}

export function setCallLimits(limits: CallLimits): void {
  current = { ...limits };
  hits.length = 0;
}

/** Called by the K8s client when the command's deadline cut a call off. */
export function noteDeadlineHit(err: DeadlineError): void {
  if (hits.length < 100) hits.push(err);
}

/** The calls the command's deadline cut off, first first. */
export function deadlineHits(): readonly DeadlineError[] {
  return hits;
}

/** The effective per-request timeout of limits, in ms (0: none). */
export function requestTimeoutOf(limits: CallLimits): number {
  const ms = limits.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return ms > 0 && ms < MAX_TIMER_MS ? ms : 0;
}

/** The earlier of two deadlines (undefined: none). */
export function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
