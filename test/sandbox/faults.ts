// Fault injection: a chosen fraction of matching requests is delayed and/or answered with a
// 409, 500 or 429 Status instead of being served.
import type { ApiError } from './errors.js';
import { conflict, internal, tooManyRequests } from './errors.js';

export interface Fault {
  status?: 409 | 500 | 429;
  delayMs?: number;
  fraction: number;
  match?: { method?: string; pathIncludes?: string };
}

export interface FaultDecision {
  delayMs: number;
  error?: ApiError;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded generator, so a run's faults can be replayed */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultOptions {
  /**
   * Seed of the generator that picks which requests fail. Default 1: the same sequence of
   * requests meets the same faults on every run; pass another seed (or Date.now()) to vary.
   */
  seed?: number;
}

export class FaultInjector {
  private faults: Fault[] = [];
  /** how many requests each fault (by index) hit since the last setFaults */
  readonly hits: number[] = [];
  private random: () => number;

  /** `random` replaces the seeded generator (tests of the injector itself) */
  constructor(private readonly fixedRandom?: () => number) {
    this.random = fixedRandom ?? seededRandom(1);
  }

  set(faults: Fault[], opts: FaultOptions = {}): void {
    if (!this.fixedRandom) this.random = seededRandom(opts.seed ?? 1);
    for (const f of faults) {
      if (!(f.fraction >= 0 && f.fraction <= 1))
        throw new Error(`fault fraction must be between 0 and 1, got ${f.fraction}`);
      if (f.status !== undefined && ![409, 500, 429].includes(f.status))
        throw new Error(`fault status must be 409, 500 or 429, got ${f.status}`);
    }
    this.faults = faults.map((f) => ({ ...f }));
    this.hits.length = 0;
    this.hits.push(...faults.map(() => 0));
  }

  clear(): void {
    this.set([]);
  }

  /** Applies the delay of every firing fault; the first firing status fault answers the request. */
  async apply(method: string, path: string): Promise<ApiError | undefined> {
    let error: ApiError | undefined;
    let delay = 0;
    this.faults.forEach((f, i) => {
      if (f.match?.method && f.match.method.toUpperCase() !== method.toUpperCase()) return;
      if (f.match?.pathIncludes && !path.includes(f.match.pathIncludes)) return;
      if (this.random() >= f.fraction) return;
      this.hits[i]++;
      delay = Math.max(delay, f.delayMs ?? 0);
      if (f.status && !error) error = faultError(f.status, path);
    });
    if (delay) await sleep(delay);
    return error;
  }
}

function faultError(status: 409 | 500 | 429, path: string): ApiError {
  if (status === 429) return tooManyRequests(1);
  if (status === 500) return internal('injected fault (sandbox)');
  // name the resource as kube would: the plural (and group) and name from the path
  const segs = path.split('?')[0].split('/').filter(Boolean);
  const isCore = segs[0] === 'api';
  const rest = segs.slice(isCore ? 2 : 3);
  const group = isCore ? '' : (segs[1] ?? '');
  const [plural, name] = rest[0] === 'namespaces' && rest.length >= 3 ? [rest[2], rest[3]] : [rest[0], rest[1]];
  return conflict({ group, plural: plural ?? 'unknown' }, name ?? '');
}
