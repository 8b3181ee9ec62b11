// Progress and warnings go to stderr; spinners only when stderr is a terminal, so pipes and CI
// logs get plain lines (or nothing) and stdout stays pure data.

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function isTty(): boolean {
  return Boolean(process.stderr.isTTY);
}

/** The one set of marks every command prints: pass, warning, failure, a step. */
export const MARKS = { ok: '✓', warn: '‼', fail: '✗', step: '▸' } as const;
export type Mark = keyof typeof MARKS;
const COLOURS: Record<Mark, string> = { ok: '32', warn: '33', fail: '31', step: '36' };

/**
 * Colour on a terminal only: never when the stream is piped, NO_COLOR is set (any value) or
 * TERM=dumb; FORCE_COLOR (not 0) forces it.
 */
export function useColour(stream: NodeJS.WriteStream = process.stderr): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0') return true;
  if ('NO_COLOR' in process.env && process.env.NO_COLOR !== undefined) return false;
  if (process.env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

/** A mark, coloured when the stream it goes to is a terminal (useColour). */
export function mark(kind: Mark, stream: NodeJS.WriteStream = process.stderr): string {
  return useColour(stream) ? `\x1b[${COLOURS[kind]}m${MARKS[kind]}\x1b[0m` : MARKS[kind];
}

/** Text in the colour of a mark (state words in tables), when the stream is a terminal. */
export function paint(kind: Mark, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColour(stream) ? `\x1b[${COLOURS[kind]}m${text}\x1b[0m` : text;
}

export function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

/** A spinner on a TTY; on anything else, only the final line (when `quiet` is false). */
export function spinner(text: string, opts: { quiet?: boolean } = {}): Spinner {
  let current = text;
  if (!isTty()) {
    return {
      update(t) { current = t; },
      succeed(t) { if (!opts.quiet) info(`${mark('ok')} ${t ?? current}`); },
      fail(t) { info(`${mark('fail')} ${t ?? current}`); },
      stop() {},
    };
  }
  let i = 0;
  const draw = () => process.stderr.write(`\r\x1b[2K${FRAMES[i++ % FRAMES.length]} ${current}`);
  draw();
  const timer = setInterval(draw, 80);
  timer.unref();
  const end = (line?: string) => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[2K');
    if (line) info(line);
  };
  return {
    update(t) { current = t; },
    succeed(t) { end(`${mark('ok')} ${t ?? current}`); },
    fail(t) { end(`${mark('fail')} ${t ?? current}`); },
    stop() { end(); },
  };
}

/** Runs fn under a spinner; the spinner ends as the promise settles. */
export async function withSpinner<T>(text: string, fn: (s: Spinner) => Promise<T>, opts: { quiet?: boolean } = {}): Promise<T> {
  const s = spinner(text, opts);
  try {
    const v = await fn(s);
    s.succeed();
    return v;
  } catch (err) {
    s.fail();
    throw err;
  }
}
