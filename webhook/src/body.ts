// Reading a review's body under two budgets shared by all requests: how many bodies are being
// received at once, and how many bytes they hold together. A request that arrives past either is
// not buffered: only its first bytes are read (enough for the apiserver's request.uid, which it
// writes first), and it gets a quick "too many requests" answer instead of waiting its turn
// until the apiserver's timeoutSeconds. A body is also refused past MAX_BODY_BYTES, by its
// Content-Length before a byte is read, or as soon as it grows past it.
import type { IncomingMessage } from 'node:http';
import { MAX_BODY_BYTES } from './admission/limits.js';

/** Bytes read of an overflowing request, to find its uid in. */
export const OVERLOAD_PREFIX_BYTES = 4096;

export type BodyOutcome =
  /** The whole body; `release()` gives its bytes back to the budget once it is judged. */
  | { kind: 'body'; buf: Buffer; release(): void }
  /** Past a budget: the body's first bytes only. */
  | { kind: 'overload'; prefix: Buffer; why: string }
  | { kind: 'too-large'; declared?: number };

export class InFlight {
  count = 0;
  bytes = 0;
  /** Requests turned away since start, for the metric. */
  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  describe(): string {
    return `${this.count} reviews holding ${(this.bytes / 1048576).toFixed(1)} MiB are being received, the most this webhook takes at once (${this.maxCount} reviews, ${(this.maxBytes / 1048576).toFixed(0)} MiB)`;
  }
}

export class BodyError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * Reads `req`'s body. `uidFound(prefix)` says whether the bytes read so far of an overflowing
 * request hold enough to answer it (its uid, or proof there is none); it is read up to
 * OVERLOAD_PREFIX_BYTES, the end of the body, or `overloadWaitMs`.
 */
export function readBody(
  req: IncomingMessage,
  inflight: InFlight,
  uidFound: (prefix: Buffer) => boolean,
  overloadWaitMs = 1000,
): Promise<BodyOutcome> {
  const header = req.headers['content-length'];
  // Node's HTTP parser has refused a malformed Content-Length already; be safe all the same
  const parsed = header === undefined ? NaN : Number(header);
  const declared = Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : undefined;
  if (declared !== undefined && declared > MAX_BODY_BYTES) return Promise.resolve({ kind: 'too-large', declared });

  return new Promise<BodyOutcome>((resolve, reject) => {
    let chunks: Buffer[] = [];
    // With a Content-Length (the apiserver always sends one), the body is copied into one buffer
    // of that size as it arrives: the chunks are let go at once, so a body is held once, not
    // twice (chunks, then their concatenation).
    let whole: Buffer | undefined;
    let received = 0;
    let reserved = 0;
    let counted = false;
    let settled = false;
    let overloadWhy: string | undefined;
    let timer: NodeJS.Timeout | undefined;

    const releaseNow = (): void => {
      if (!counted) return;
      counted = false;
      inflight.count--;
      inflight.bytes -= reserved;
      reserved = 0;
    };
    const finish = (outcome: BodyOutcome | Error): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
      if (outcome instanceof Error) {
        releaseNow();
        reject(outcome);
      } else {
        if (outcome.kind !== 'body') releaseNow();
        // Whatever is not read of a refused body is not wanted: stop reading it (the answer
        // closes the connection).
        if (outcome.kind !== 'body') req.pause();
        resolve(outcome);
      }
    };
    const overload = (why: string): void => {
      overloadWhy = why;
      releaseNow();
      // keep only the first bytes
      const prefix = Buffer.from(
        (whole ? whole.subarray(0, received) : Buffer.concat(chunks)).subarray(0, OVERLOAD_PREFIX_BYTES),
      );
      whole = undefined;
      chunks = [prefix];
      received = prefix.length;
      if (prefix.length >= OVERLOAD_PREFIX_BYTES || uidFound(prefix)) {
        finish({ kind: 'overload', prefix, why });
        return;
      }
      timer = setTimeout(() => finish({ kind: 'overload', prefix: Buffer.concat(chunks), why }), overloadWaitMs);
      timer.unref();
    };

    const onData = (chunk: Buffer): void => {
      if (overloadWhy !== undefined) {
        const room = OVERLOAD_PREFIX_BYTES - received;
        const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
        chunks.push(piece);
        received += piece.length;
        const prefix = Buffer.concat(chunks);
        chunks = [prefix];
        if (received >= OVERLOAD_PREFIX_BYTES || uidFound(prefix))
          finish({ kind: 'overload', prefix, why: overloadWhy });
        return;
      }
      if (received + chunk.length > MAX_BODY_BYTES) {
        finish({ kind: 'too-large' });
        return;
      }
      if (whole !== undefined && received + chunk.length <= whole.length) chunk.copy(whole, received);
      else {
        if (whole !== undefined) {
          // longer than it said (Node's parser does not let that happen): fall back to chunks
          chunks = [whole.subarray(0, received)];
          whole = undefined;
        }
        chunks.push(chunk);
      }
      received += chunk.length;
      if (received > reserved) {
        // a body without Content-Length, or longer than it said: count what arrives
        const extra = received - reserved;
        if (inflight.bytes + extra > inflight.maxBytes) {
          overload(inflight.describe());
          return;
        }
        inflight.bytes += extra;
        reserved = received;
      }
    };
    const onEnd = (): void => {
      if (overloadWhy !== undefined) {
        finish({ kind: 'overload', prefix: Buffer.concat(chunks), why: overloadWhy });
        return;
      }
      const buf =
        whole !== undefined
          ? whole.subarray(0, received)
          : chunks.length === 1
            ? chunks[0]!
            : Buffer.concat(chunks, received);
      chunks = [];
      whole = undefined;
      finish({ kind: 'body', buf, release: releaseNow });
    };
    const onError = (err: Error): void =>
      finish(new BodyError(`reading the request body failed: ${err.message}`, 'BODY_READ_ERROR'));
    const onAborted = (): void =>
      finish(new BodyError('the client closed the connection before sending the whole body', 'BODY_ABORTED'));
    const onClose = (): void => {
      if (!req.complete) onAborted();
    };

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);

    if (inflight.count >= inflight.maxCount || inflight.bytes + (declared ?? 0) > inflight.maxBytes) {
      overload(inflight.describe());
      return;
    }
    counted = true;
    inflight.count++;
    reserved = declared ?? 0;
    inflight.bytes += reserved;
    if (declared !== undefined && declared > 0) whole = Buffer.allocUnsafe(declared);
  });
}
