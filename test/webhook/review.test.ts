// The response body is written field by field for speed; it must stay byte for byte what
// JSON.stringify makes of the same response, whatever strings a decision carries.
import { describe, expect, it } from 'vitest';
import { admissionReviewJson, reviewResponse } from '../../webhook/src/admission/review.js';
import type { Decision, Status } from '../../webhook/src/admission/types.js';

const AWKWARD = [
  '',
  'plain',
  'quote " and \\ backslash',
  'line\nbreak\ttab\u0000nul\u001f',
  'émoji 🙂 and 中文',
  'lone \ud800 surrogate',
  '</script>',
  'x'.repeat(2000),
];

function pick<T>(xs: readonly T[], i: number): T {
  return xs[i % xs.length]!;
}

function status(i: number): Status {
  const s: Status = {
    status: 'Failure',
    code: pick([400, 403, 422, 500, 503], i),
    reason: pick(['Invalid', 'Forbidden', 'BadRequest'], i),
    message: pick(AWKWARD, i),
  };
  if (i % 2 === 0) {
    s.details = {
      group: 'certificates.mesh.gloo.solo.io',
      kind: 'IssuedCertificate',
      name: pick(AWKWARD, i + 1),
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.org', message: pick(AWKWARD, i + 2) }],
    };
  }
  return s;
}

/** Every combination of the optional fields, with awkward strings in each. */
function decisions(): Decision[] {
  const out: Decision[] = [];
  for (let mask = 0; mask < 16; mask++) {
    for (let i = 0; i < AWKWARD.length; i++) {
      const d: Decision = { allowed: mask % 2 === 0 };
      if (mask & 1) d.status = status(i);
      if (mask & 2) d.patch = Buffer.from(pick(AWKWARD, i)).toString('base64');
      if (mask & 4) d.patchType = 'JSONPatch';
      if (mask & 8) d.warnings = AWKWARD.slice(0, (i % 3) + 1).map((w) => `spec.org: deprecated; ${w}`);
      out.push(d);
    }
  }
  return out;
}

describe('admissionReviewJson', () => {
  it('is byte for byte JSON.stringify of the same response', () => {
    const all = decisions();
    expect(all.length).toBe(16 * AWKWARD.length);
    for (const [i, d] of all.entries()) {
      const uid = pick(AWKWARD, i);
      const review = reviewResponse(uid, d);
      const text = admissionReviewJson(review);
      expect(text, JSON.stringify(d).slice(0, 200)).toBe(JSON.stringify(review));
      expect(JSON.parse(text)).toEqual(review);
    }
  });
});
