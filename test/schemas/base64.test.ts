// `format: byte` as Kubernetes reads it: standard, padded base64 without line breaks. isBase64
// decodes instead of matching a regular expression (speed); it must accept exactly the grammar.
import { describe, expect, it } from 'vitest';
import { isBase64 } from '../../schemas/src/index.js';
import { seededRandom } from '../sandbox/faults.js';

const GRAMMAR = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

describe('isBase64', () => {
  it('accepts what the base64 grammar accepts and nothing else', () => {
    const random = seededRandom(20261123);
    // Mostly the alphabet, with padding, URL-safe characters, whitespace and others mixed in.
    const common = 'Ab9+/';
    const odd = ['=', '-', '_', ' ', '\n', '\r', '!', '.', 'é', '\u0000', '%'];
    let accepted = 0;
    for (let i = 0; i < 200_000; i++) {
      const n = Math.floor(random() * 14);
      let s = '';
      for (let j = 0; j < n; j++) s += random() < 0.75 ? common[Math.floor(random() * common.length)] : odd[Math.floor(random() * odd.length)];
      const expected = GRAMMAR.test(s);
      if (isBase64(s) !== expected) expect.fail(`isBase64(${JSON.stringify(s)}) should be ${expected}`);
      if (expected) accepted++;
    }
    // The draw must exercise both answers, or the comparison above proves little.
    expect(accepted).toBeGreaterThan(1000);
  });

  it('answers the same when asked again (its memo of recent strings)', () => {
    for (const s of ['QUJD', 'QUJ-', 'QQ==', 'QQ=A', '']) {
      const first = isBase64(s);
      expect(isBase64(s), s).toBe(first);
      expect(first, s).toBe(GRAMMAR.test(s) && s.length % 4 === 0);
    }
  });
});
