// Small helpers for reading plain JSON objects by path, shared by the rule evaluators.
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** Proto3 semantics: absent, null, "", and {} all mean "not set". */
export function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** Structural equality of JSON values, key order ignored; keys holding undefined count as absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  // Loops, not every()/filter(): this compares spec and status on every update review, and
  // allocating there showed up as GC under load.
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for-in over plain JSON objects (nothing enumerable inherited): no key arrays to allocate.
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    const v = x[k];
    if (v === undefined) continue;
    keys++;
    if (!Object.hasOwn(y, k) || !jsonEqual(v, y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) keys--;
  return keys === 0;
}

export function numberOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** An RFC 6901 JSON pointer of `segments` (`~` and `/` escaped), as JSON patch paths are written. */
export function jsonPointer(segments: readonly string[]): string {
  return segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
