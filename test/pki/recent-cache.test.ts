// The parsed-certificate and base64 caches: a few entries, found by key, with second-chance
// eviction so that values in steady use (roots) outlive a stream of one-off ones.
import { describe, expect, it } from 'vitest';
import { RecentCache } from '#schemas/x509/recent-cache.js';

describe('RecentCache', () => {
  it('finds what it keeps, by string value, and holds at most its capacity', () => {
    const c = new RecentCache<number>(4);
    for (let i = 0; i < 4; i++) c.set(`k${i}`, i);
    // Equal strings made separately are the same key.
    expect(c.get(['k', '2'].join(''))).toBe(2);
    expect(c.size).toBe(4);
    c.set('k4', 4);
    expect(c.size).toBe(4);
    expect(c.get('k4')).toBe(4);
    expect(c.get('missing')).toBeUndefined();
  });

  it('keeps a value in steady use while one-off values cycle through', () => {
    const c = new RecentCache<string>(4);
    c.set('root', 'R');
    for (let i = 0; i < 100; i++) {
      expect(c.get('root'), `after ${i} one-off entries`).toBe('R');
      c.set(`leaf-${i}`, `L${i}`);
      c.set(`intermediate-${i}`, `I${i}`);
    }
    // The one-offs go oldest first.
    expect(c.get('leaf-99')).toBe('L99');
    expect(c.get('leaf-97')).toBeUndefined();
  });

  it('evicts a value nobody asks for again, even the first one in', () => {
    const c = new RecentCache<number>(3);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('b')).toBe(2);
    c.set('d', 4); // a goes: unmarked, first after the hand
    expect(c.get('a')).toBeUndefined();
    c.set('e', 5); // b had a second chance; c goes
    expect(c.get('c')).toBeUndefined();
    expect([c.get('b'), c.get('d'), c.get('e')]).toEqual([2, 4, 5]);
  });

  it('replaces the value of a key set again instead of keeping two', () => {
    const c = new RecentCache<number>(3);
    c.set('a', 1);
    c.set('a', 2);
    expect(c.get('a')).toBe(2);
    expect(c.size).toBe(1);
  });

  it('keeps null values apart from misses', () => {
    const c = new RecentCache<Buffer | null>(2);
    c.set('not base64', null);
    expect(c.get('not base64')).toBeNull();
    expect(c.get('other')).toBeUndefined();
  });

  it('tells apart long keys of the same length that agree where it probes first', () => {
    const c = new RecentCache<number>(4);
    const base = 'x'.repeat(100);
    // Same length, same middle character, different elsewhere.
    const a = `A${base.slice(1)}`;
    const b = `B${base.slice(1)}`;
    c.set(a, 1);
    c.set(b, 2);
    expect(c.get(a)).toBe(1);
    expect(c.get(b)).toBe(2);
    expect(c.get(`C${base.slice(1)}`)).toBeUndefined();
    // A key equal in content but built separately (as JSON.parse makes them) is a hit.
    expect(c.get(['A', base.slice(1)].join(''))).toBe(1);
    // Short keys, the empty one included.
    c.set('k', 3);
    expect(c.get('k')).toBe(3);
    expect(c.get('j')).toBeUndefined();
    c.set('', 4);
    expect(c.get('')).toBe(4);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RecentCache(0)).toThrow('capacity: expected a positive integer, got 0');
    expect(() => new RecentCache(1.5)).toThrow(RangeError);
  });
});
