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
      update(t) {
        current = t;
      },
      succeed(t) {
        if (!opts.quiet) info(`${mark('ok')} ${t ?? current}`);
      },
      fail(t) {
        info(`${mark('fail')} ${t ?? current}`);
      },
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
    update(t) {
      current = t;
    },
    succeed(t) {
      end(`${mark('ok')} ${t ?? current}`);
    },
    fail(t) {
      end(`${mark('fail')} ${t ?? current}`);
    },
    stop() {
      end();
    },
  };
}

/** Runs fn under a spinner; the spinner ends as the promise settles. */
export async function withSpinner<T>(
  text: string,
  fn: (s: Spinner) => Promise<T>,
  opts: { quiet?: boolean } = {},
): Promise<T> {
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

/** One line per cluster while work runs on several at once (issue, rotate's steps). */
export interface ClusterTasks {
  /** The cluster's line now says `text` (its work goes on). */
  update(cluster: string, text: string): void;
  /** The cluster's work ended: its line gets a mark instead of the spinner. */
  done(cluster: string, outcome: Mark, text: string): void;
  /** Ends the display (the lines stay as last drawn). */
  stop(): void;
}

interface TaskLine {
  text: string;
  outcome?: Mark;
}

/**
 * On a terminal, a task list redrawn in place: one line per cluster, a spinner while it works, a
 * mark when done (lines cut to the terminal's width, so redrawing never miscounts wrapped
 * lines). Piped, plain lines: an ISO timestamp, the cluster and what changed, once per change.
 * A small renderer of our own rather than listr2's: bundled and minified, listr2 is about 110 KB
 * (31 KB gzipped) against 1.3 KB for this, and a list of clusters needs none of its task tree.
 */
export function clusterTasks(clusters: readonly string[], stream: NodeJS.WriteStream = process.stderr): ClusterTasks {
  const lines = new Map<string, TaskLine>(clusters.map((c) => [c, { text: 'waiting' }]));
  const width = Math.max(...clusters.map((c) => c.length), 0);
  if (!stream.isTTY) {
    const said = new Map<string, string>();
    const say = (cluster: string, text: string, outcome?: Mark) => {
      const line = `${outcome ? `${mark(outcome, stream)} ` : ''}${text}`;
      if (said.get(cluster) === line) return;
      said.set(cluster, line);
      stream.write(`${new Date().toISOString()} ${cluster.padEnd(width)}  ${line}\n`);
    };
    return {
      update: (c, t) => say(c, t),
      done: (c, o, t) => say(c, t, o),
      stop() {},
    };
  }
  let frame = 0;
  let drawn = 0;
  const draw = () => {
    const cols = stream.columns || 120;
    const spin = FRAMES[frame++ % FRAMES.length]!;
    let text = drawn ? `\x1b[${drawn}A` : '';
    for (const [cluster, l] of lines) {
      const head = l.outcome ? MARKS[l.outcome] : spin;
      const plain = `${head} ${cluster.padEnd(width)}  ${l.text}`;
      const cut = plain.length > cols - 1 ? `${plain.slice(0, cols - 2)}…` : plain;
      text += `\r\x1b[2K${l.outcome ? cut.replace(head, mark(l.outcome, stream)) : cut}\n`;
    }
    drawn = lines.size;
    stream.write(text);
  };
  draw();
  const timer = setInterval(draw, 80);
  timer.unref();
  let stopped = false;
  return {
    update(c, t) {
      const l = lines.get(c) ?? { text: t };
      lines.set(c, { ...l, text: t });
    },
    done(c, o, t) {
      lines.set(c, { text: t, outcome: o });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
    },
  };
}

/** Words as a shell command line, each quoted only when it needs to be. */
export function commandLine(words: readonly string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * On Ctrl-C: `before()` (stop a task list), then the lines saying how to go on (the command that
 * resumes, the one that aborts), then exit 130. Runs ahead of the CLI's own SIGINT handler.
 */
export function onInterrupt(hint: () => string[], before?: () => void): () => void {
  const handler = () => {
    before?.();
    process.stderr.write(
      `\ninterrupted\n${hint()
        .map((l) => `${l}\n`)
        .join('')}`,
    );
    process.exit(130);
  };
  process.prependOnceListener('SIGINT', handler);
  return () => process.removeListener('SIGINT', handler);
}
