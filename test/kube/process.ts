// Child processes that cannot outlive the launcher. On Linux each one is started through
// util-linux's `setpriv --pdeathsig KILL`, which sets PR_SET_PDEATHSIG and then execs the
// binary: the kernel kills it the moment the Node process that spawned it dies, even by SIGKILL,
// with no watchdog process to go wrong. (The "parent" is the spawning thread: spawn from the
// main thread, which Node's child_process does, and vitest's forks pool keeps.)
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** How children are tied to the launcher's life, for the README and error messages. */
export const DEATH_TIE = SETPRIV
  ? `${SETPRIV} --pdeathsig KILL`
  : 'none (setpriv not found: a SIGKILLed launcher leaves its children running)';

export interface Child {
  name: string;
  pid: number;
  logFile: string;
  /** resolves with the exit code (or signal) once the process has exited */
  exited: Promise<string>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The command that runs `bin args` tied to this process's life: setpriv execs it with
 * PR_SET_PDEATHSIG, so it dies with this process even when this one is SIGKILLed (its pid stays
 * the program's). Without setpriv (or off Linux), the command itself.
 */
export function deathTied(bin: string, args: string[]): [string, string[]] {
  return SETPRIV && process.platform === 'linux' ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
}

export function startChild(
  name: string,
  bin: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Child {
  const [cmd, argv] = deathTied(bin, args);
  const log = createWriteStream(logFile, { flags: 'a' });
  const proc: ChildProcess = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  let done = false;
  const exited = new Promise<string>((resolve) => {
    proc.on('error', (e) => {
      done = true;
      log.end();
      resolve(`spawn error: ${e.message}`);
    });
    proc.on('exit', (code, signal) => {
      done = true;
      resolve(signal ? `signal ${signal}` : `exit code ${code}`);
    });
  });
  // close the log only once both pipes are drained, so the tail is complete when we read it
  proc.on('close', () => log.end());
  if (proc.pid === undefined) throw new Error(`kube: could not start ${name} (${bin})`);
  return {
    name,
    pid: proc.pid,
    logFile,
    exited,
    hasExited: () => done,
    async stop(graceMs = 5000) {
      if (done) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!done) proc.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last lines of a log, for error messages. */
export async function logTail(file: string, lines = 25): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join('\n');
}

/** Whether a process id runs: signal 0 probes without signalling; a zombie (dead, not yet reaped) does not count. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^[ZX]$/.test(
      readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ')[0],
    );
  } catch {
    return process.platform !== 'linux';
  }
}
