// `format: byte` as Kubernetes reads it: standard, padded base64 without line breaks. isBase64
// decodes instead of matching a regular expression (speed); it must accept exactly the grammar.
import { describe, expect, it } from 'vitest';
import { isBase64 } from '#schemas/src/index.js';
import { pemBlocksOfField } from '#schemas/src/pem-fields.js';
import { seededRandom } from '../sandbox/faults.js';

const GRAMMAR = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

describe('isBase64', () => {
  it('accepts what the base64 grammar accepts and nothing else', () => {
    const random = seededRandom(20261123);
    // Mostly the alphabet, with padding, URL-safe characters, whitespace and others mixed in.
    const common = 'Ab9+/';
    // U+0141, U+012B, U+013D, U+202F and U+205F: Node's decoder reads their low bytes as A, +, =, / and _.
    const odd = [
      '=',
      '-',
      '_',
      ' ',
      '\n',
      '\r',
      '!',
      '.',
      'é',
      '\u0000',
      '%',
      '\u0141',
      '\u012b',
      '\u013d',
      '\u202f',
      '\u205f',
    ];
    let accepted = 0;
    for (let i = 0; i < 200_000; i++) {
      const n = Math.floor(random() * 14);
      let s = '';
      for (let j = 0; j < n; j++)
        s += random() < 0.75 ? common[Math.floor(random() * common.length)] : odd[Math.floor(random() * odd.length)];
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

describe('PEM block bodies', () => {
  // pemBlocks removes line feeds first and falls back to removing all whitespace: the result must
  // be what the general rule alone gives, whatever whitespace and stray characters a body holds.
  const reference = (body: string): Buffer | undefined => {
    const b64 = body.replace(/\s+/g, '');
    if (b64 === '' || !GRAMMAR.test(b64)) return undefined;
    const der = Buffer.from(b64, 'base64');
    return der[0] === 0x30 ? der : undefined;
  };

  it('decode as removing every whitespace character would, and refuse the rest', () => {
    const random = seededRandom(20261124);
    // U+202F and U+205F are whitespace to \s, and Node's decoder would read them as / and _.
    const extras = [
      '\n',
      '\r\n',
      ' ',
      '\t',
      '\v',
      '\f',
      '\u00a0',
      '\u2028',
      '\u202f',
      '\u205f',
      '\u0141',
      '!',
      '-',
      '_',
      '.',
    ];
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const der = Buffer.from([
        0x30,
        ...Array.from({ length: 1 + Math.floor(random() * 90) }, () => Math.floor(random() * 256)),
      ]);
      let body = der.toString('base64').replace(/(.{64})/g, '$1\n');
      // Some bodies stay as a PEM writer leaves them; the others get a stray character added
      // somewhere, or put in place of one.
      if (random() < 0.7) {
        const at = Math.floor(random() * body.length);
        const replace = random() < 0.5 ? 1 : 0;
        body = body.slice(0, at) + extras[Math.floor(random() * extras.length)] + body.slice(at + replace);
      }
      body += random() < 0.5 ? '\n' : '\r\n';
      const field = Buffer.from(`-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`).toString('base64');
      const got = pemBlocksOfField(field);
      const want = reference(body);
      if (want) {
        decoded++;
        expect(got && 'blocks' in got ? got.blocks[0]!.der.equals(want) : got, JSON.stringify(body)).toBe(true);
      } else {
        refused++;
        expect(got && 'error' in got, JSON.stringify(body)).toBe(true);
      }
    }
    expect(decoded).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(300);
  });
});
