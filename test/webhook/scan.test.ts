// The byte scan that runs before JSON.parse (webhook/src/admission/scan.ts): its counts agree with
// the parsed document, it stops at the first limit crossed, and it reads request.uid wherever the
// body stops.
import { describe, expect, it } from 'vitest';
import { scanReview } from '../../webhook/src/admission/scan.js';
import { seededRandom } from '../sandbox/faults.js';

const limits = { maxValues: 1000, maxFields: 50, maxUidLength: 64 };
const scan = (text: string, l = limits) => scanReview(Buffer.from(text), l);
const envelope = (request: unknown): string =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });

function countValues(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 1;
  return 1 + (Array.isArray(v) ? v : Object.values(v)).reduce<number>((n, x) => n + countValues(x), 0);
}

describe('scanReview', () => {
  it('counts every JSON value as JSON.parse builds them, strings with brackets and escapes included', () => {
    const rnd = seededRandom(7);
    const gen = (d: number): unknown => {
      const r = rnd();
      if (d > 5 || r < 0.4) return [1, -2.5e3, 'a"[{\\\\', 'ü€😀', true, false, null, ''][Math.floor(rnd() * 8)];
      if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 5) }, () => gen(d + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 5) }, (_, i) => [`k${i}"]}`, gen(d + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const doc = gen(0);
      for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
        expect(scan(text, { ...limits, maxValues: 1e9, maxFields: 1e9 }).values, text).toBe(countValues(doc));
      }
    }
  });

  it('reads request.uid: plain, escaped, and not when too long, empty or not a string', () => {
    expect(scan(envelope({ uid: 'abc' }))).toMatchObject({ uid: 'abc', isReview: true, exceeded: undefined });
    expect(scan(envelope({ uid: 'a"b\\c\u00e9' })).uid).toBe('a"b\\c\u00e9');
    expect(scan(envelope({ kind: { uid: 'nested' }, uid: 'top' })).uid).toBe('top');
    expect(scan(envelope({ uid: 'x'.repeat(65) }))).toMatchObject({
      uid: undefined,
      uidProblem: expect.stringContaining('Too long'),
    });
    expect(scan(envelope({ uid: '' })).uidProblem).toContain('non-empty');
    expect(scan(envelope({ uid: 42 })).uidProblem).toContain('non-empty');
    expect(scan(envelope({ uid: { a: 1 } })).uidProblem).toContain('non-empty');
    expect(scan(JSON.stringify({ apiVersion: 'v1', kind: 'AdmissionReview', request: { uid: 'u' } })).isReview).toBe(
      false,
    );
    expect(scan(JSON.stringify({ uid: 'not-in-request' })).uid).toBeUndefined();
  });

  it('stops at the first limit crossed, naming where, and still reads a uid that comes later', () => {
    const fields = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, i]));
    const r = scan(envelope({ uid: 'u1', object: { spec: fields } }));
    expect(r.exceeded).toBe(
      'request.object.spec: has more than 50 fields, more than this webhook judges in one object; no object of these kinds has that many',
    );
    expect(r.uid).toBe('u1');
    const late = scan(envelope({ object: { spec: { list: [{}, { m: fields }] } }, uid: 'late' }));
    expect(late.exceeded).toMatch(/^request\.object\.spec\.list\[1\]\.m: has more than 50 fields/);
    expect(late.uid).toBe('late');
    const values = scan(envelope({ uid: 'v', object: Array.from({ length: 2000 }, () => 0) }));
    expect(values.exceeded).toMatch(/^the review holds more than 1000 JSON values/);
    expect(values.values).toBe(1001);
  });

  it('reads what there is of a body cut short, and a million brackets past a limit cost nothing', () => {
    const text = envelope({ uid: 'cut', object: { spec: { a: 1 } } });
    expect(scan(text.slice(0, text.indexOf('cut') + 4)).uid).toBe('cut');
    expect(scan(text.slice(0, text.indexOf('cut') + 2)).uidProblem).toContain('ends inside it');
    const deep = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"object":${'['.repeat(1_000_000)}`;
    const r = scan(deep);
    expect(r.exceeded).toMatch(/more than 1000 JSON values/);
    expect(r.uid).toBeUndefined();
  });
});
