// How the running command talks to every API server, beyond the call limits of deadline.ts:
// kubectl's --dry-run (client: writes not sent; server: every write sent with dryRun=All, so the
// CRD rules and admission webhooks judge it and nothing is stored), -v=N (request lines on stderr
// at 6 and above) and --as / --as-group (impersonation headers on every request).
// MeshCertCommand.parse() sets it; every K8s client made afterwards follows it. The writes a dry
// run judged (or, client-side, would have sent) are recorded here for the command to print.
// Light on purpose: command modules import it.

export type DryRun = 'client' | 'server';

export interface Impersonation {
  /** Impersonate-User. */
  user?: string;
  /** Impersonate-Group, one header line each. */
  groups: string[];
}

export interface RequestMode {
  dryRun?: DryRun;
  /** kubectl's -v: 6 and above logs each request (method, URL, status, duration; never a body). */
  verbosity?: number;
  impersonate?: Impersonation;
}

/** kubectl logs requests from this -v level on. */
export const REQUEST_LOG_VERBOSITY = 6;

/** One write of a dry run: what it would change, and the object (as the server answered it, client-side as it would be sent). */
export interface PlannedWrite {
  cluster: string;
  operation: 'create' | 'replace' | 'patch' | 'delete';
  /** 'status' for a write of the status subresource. */
  subresource?: 'status';
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** Undefined for a delete. */
  object?: Record<string, unknown>;
}

let mode: RequestMode = {};
const writes: PlannedWrite[] = [];

export function requestMode(): RequestMode {
  return mode;
}

export function setRequestMode(m: RequestMode): void {
  mode = { ...m };
  writes.length = 0;
}

/** Called by the K8s client for every write of a dry run. */
export function recordWrite(w: PlannedWrite): void {
  writes.push(w);
}

/** The writes the dry run judged (server) or would have sent (client), first first. */
export function plannedWrites(): readonly PlannedWrite[] {
  return writes;
}

/** "--dry-run=server" / "--dry-run=client", as messages name the mode. */
export function dryRunFlag(d: DryRun): string {
  return `--dry-run=${d}`;
}
