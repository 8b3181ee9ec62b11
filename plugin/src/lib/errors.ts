// Error classes that carry their exit code, and the one place that turns any error into the
// single sentence a user sees on stderr.

/** An error the user can act on: printed as one sentence, exit code 1 unless given. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** `--wait`/`--timeout` ran out: exit 124, as timeout(1) does. */
export class TimeoutError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 124 });
    this.name = 'TimeoutError';
  }
}

/**
 * An API call cut off by the command's deadline (`--timeout`), or not sent because the deadline
 * had passed: exit 124. Names the call and the cluster that did not answer.
 */
export class DeadlineError extends TimeoutError {
  readonly cluster: string;
  /** The call, as messages name it: `get IssuedCertificate istio-system/istiod-ca`. */
  readonly call: string;
  /** Epoch milliseconds: the deadline that ran out. */
  readonly deadline: number;
  /**
   * opts.notSent: the deadline had passed before the call; opts.after: the earlier call on that
   * cluster that the deadline cut off (named first: it is the one that did not answer).
   */
  constructor(
    call: string,
    cluster: string,
    deadline: number,
    limit: string,
    opts: { notSent?: boolean; after?: string } = {},
  ) {
    super(
      !opts.notSent
        ? `${call} on cluster "${cluster}" did not answer within ${limit}`
        : opts.after
          ? `${opts.after} on cluster "${cluster}" did not answer within ${limit}; ${call} was not sent`
          : `${call} on cluster "${cluster}" was not sent: ${limit} had run out`,
    );
    this.name = 'DeadlineError';
    this.cluster = cluster;
    this.call = call;
    this.deadline = deadline;
  }
}

/** Ctrl-C: exit 130 (128 + SIGINT). */
export class InterruptedError extends UserError {
  constructor(message = 'interrupted') {
    super(message, { exitCode: 130 });
    this.name = 'InterruptedError';
  }
}

/** A cluster that could not be reached (connection refused, TLS, DNS...). */
export class UnreachableError extends UserError {
  readonly cluster: string;
  constructor(cluster: string, detail: string) {
    super(`cluster "${cluster}" is unreachable: ${detail}`);
    this.name = 'UnreachableError';
    this.cluster = cluster;
  }
}

/**
 * One API call that got no (complete) answer within the per-request timeout
 * (`--request-timeout`, default 30s): the cluster counts as unreachable, which retry loops may
 * retry until their own deadline, as with a refused connection.
 */
export class RequestTimeoutError extends UnreachableError {
  readonly call: string;
  constructor(call: string, cluster: string, limit: string) {
    super(cluster, `${call} did not answer within ${limit}`);
    this.name = 'RequestTimeoutError';
    this.call = call;
  }
}

/** An answer from the API server other than 2xx. */
export class ApiError extends UserError {
  readonly status: number;
  readonly reason: string | undefined;
  /** A 429's Retry-After, when the server sent one. */
  retryAfterMs?: number;
  /** The API server's own message (Status.message), without the call and cluster. */
  serverMessage?: string;
  constructor(message: string, status: number, reason?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
  }
}

/**
 * A custom resource the cluster does not serve: its CRD is not installed (404 for the resource
 * type, not for an object). Says which command installs it. Still a 404 (isNotFound): a reader
 * that treats an unknown kind as "nothing there" keeps doing so.
 */
export class CrdMissingError extends ApiError {
  readonly crd: string;
  readonly cluster: string;
  constructor(call: string, cluster: string, crd: string) {
    const ours = /\.(certificates\.mesh\.gloo\.solo\.io|security\.zephyr\.solo\.io)$/.test(crd);
    super(
      `CRD ${crd} is not installed on cluster "${cluster}" (${call}: the server could not find the requested resource): ` +
        (ours
          ? `install mesh-cert's CRDs there: \`kubectl --context ${cluster} apply -k manifests/\` (CRDs and webhook; the CRDs alone: \`kubectl --context ${cluster} apply -f manifests/crds/\`), or \`helm upgrade --install mesh-cert manifests/helm/mesh-cert --kube-context ${cluster}\``
          : 'it belongs to Gloo Mesh: install Gloo Mesh (or its CRDs) on that cluster'),
      404,
      'NotFound',
    );
    this.name = 'CrdMissingError';
    this.crd = crd;
    this.cluster = cluster;
  }
}

/**
 * The API server could not connect to an admission webhook (connection refused, no endpoints):
 * every write of the kinds it guards fails until it is back. Keeps the server's message (with
 * "failed calling webhook") at the end.
 */
export class WebhookUnreachableError extends ApiError {
  readonly webhook: string;
  readonly cluster: string;
  /**
   * No write of a custom resource had been admitted on this cluster yet in this run: the webhook
   * is down, not restarting, and retrying for a whole --timeout would only hide it. Once writes
   * were admitted, an outage is ridden out like any 5xx (a webhook restarting mid-rotation).
   */
  failFast = true;
  constructor(call: string, cluster: string, webhook: string, serverMessage: string) {
    super(
      `${call} on cluster "${cluster}" was refused because the API server cannot reach the admission webhook "${webhook}": ` +
        `check it with \`kubectl mesh-cert check --context ${cluster}\` (is the webhook's Deployment running and its Service backed by ready pods?) (${serverMessage})`,
      500,
      'InternalError',
    );
    this.name = 'WebhookUnreachableError';
    this.webhook = webhook;
    this.cluster = cluster;
    this.serverMessage = serverMessage;
  }
}

/** A prompt was needed but stdin is not a terminal. */
export function notInteractive(question: string): UserError {
  return new UserError(
    `${question} needs confirmation, but stdin is not a terminal: pass --yes to proceed without asking`,
  );
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** One sentence: the first line of the message, without oclif's "See more help" tails. */
export function oneSentence(err: unknown): string {
  const msg = errorMessage(err).trim();
  const lines = msg
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See more help with/i.test(l));
  return lines.join(' ').replace(/\s+/g, ' ') || 'unknown error';
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UserError) return err.exitCode;
  const e = err as { oclif?: { exit?: number }; code?: string } | undefined;
  if (e?.code === 'EEXIT' && typeof e.oclif?.exit === 'number') return e.oclif.exit;
  return 1;
}

/** Prints the error the way every command does: `error: <sentence>`, stack only when verbose. */
export function reportError(err: unknown, verbose: boolean): number {
  const code = exitCodeOf(err);
  const e = err as { code?: string } | undefined;
  if (e?.code === 'EEXIT') return code; // this.exit(n): nothing to say
  process.stderr.write(`error: ${oneSentence(err)}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return code;
}
