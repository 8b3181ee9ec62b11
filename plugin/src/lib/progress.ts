// Progress and warnings go to stderr; spinners only when stderr is a terminal, so pipes and CI
// logs get plain lines (or nothing) and stdout stays pure data.

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function isTty(): boolean {
  return Boolean(process.stderr.isTTY);
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
      succeed(t) { if (!opts.quiet) info(`✓ ${t ?? current}`); },
      fail(t) { info(`✗ ${t ?? current}`); },
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
    succeed(t) { end(`✓ ${t ?? current}`); },
    fail(t) { end(`✗ ${t ?? current}`); },
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
