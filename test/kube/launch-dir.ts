// The launch's temporary folder, named after the launcher's pid so that one left behind by a
// SIGKILLed launcher (its children die with it, its folder cannot) is removed by the next launch.
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from './process.js';

const PREFIX = 'mesh-cert-kube-';

export async function makeLaunchDir(): Promise<string> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1])))
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
  return mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
}

export function removeNow(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* best effort at exit */
  }
}
