// The certificate controller's log lines, in the shape of the server's (pino: level number, time,
// fields, msg) on stdout, so one collector reads both. The controller never passes key material;
// fields named like it are dropped all the same.
import type { ControllerLog } from './controller.js';

const LEVELS: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};
const SECRET_FIELD = /key|cert|pem|token/i;

export function controllerLog(level: string, out: NodeJS.WritableStream = process.stdout): ControllerLog {
  const min = LEVELS[level] ?? 30;
  const write = (n: number, fields: object, msg: string): void => {
    if (n < min) return;
    const safe = Object.fromEntries(Object.entries(fields).filter(([k]) => !SECRET_FIELD.test(k) || k === 'changes'));
    out.write(
      `${JSON.stringify({ level: n, time: Date.now(), pid: process.pid, component: 'cert-controller', ...safe, msg })}\n`,
    );
  };
  return { info: (f, m) => write(30, f, m), warn: (f, m) => write(40, f, m) };
}
