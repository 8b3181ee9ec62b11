// "Did you mean": the closest of a few names to a mistyped one (commands, flags).

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/**
 * The candidates closest to word: within a quarter of its length in edits (at least 2), or that
 * word is the start of; only those at the smallest distance, sorted.
 */
export function suggest(word: string, candidates: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(word.length / 4));
  const scored = candidates
    .map((c) => ({
      c,
      d: Math.min(distance(word, c), c.startsWith(word) && word.replace(/^-+/, '').length >= 2 ? 1 : Infinity),
    }))
    .filter((x) => x.d <= limit);
  const best = Math.min(...scored.map((x) => x.d));
  return scored
    .filter((x) => x.d === best)
    .map((x) => x.c)
    .sort();
}
