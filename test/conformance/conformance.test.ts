// The differential suite: every case of cases/ against the sandbox and a real kube-apiserver
// (test/kube), one cluster each with manifests/crds installed, compared step by step. A case
// matches, or the sandbox refuses it plainly (501 NotImplemented "the sandbox does not serve
// …"); any other difference fails its test. The last test requires at least 90% matches; the
// table and score are printed at the end. Needs the test/kube binaries (`npx tsx
// test/kube/ensure.ts`, done by `npm test`); it compares the two, so it runs whatever
// MESH_CERT_BACKENDS says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT_MS } from '../backend/index.js';
import { CASES } from './cases/index.js';
import { runCase, score, table, type CaseResult } from './harness.js';
import { prepare, release, type Side } from './suite.js';
import { startKubeTarget, startSandboxTarget } from './targets.js';

describe('the sandbox held to kube-apiserver', () => {
  let sb: Side | undefined;
  let kube: Side | undefined;
  const results: CaseResult[] = [];

  beforeAll(async () => {
    [sb, kube] = await Promise.all([startSandboxTarget().then(prepare), startKubeTarget().then(prepare)]);
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    if (results.length) console.log(`\n${table(results)}\n`);
    await Promise.all([release(sb), release(kube)]);
  }, 60_000);

  for (const c of CASES) {
    it(
      `${c.area}: ${c.id}: ${c.title}`,
      async () => {
        const r = await runCase(c, sb!, kube!);
        results.push(r);
        expect(r.verdict, `silent divergence at ${r.detail}`).not.toBe('diverges');
      },
      (c.timeoutMs ?? 60_000) + 60_000,
    );
  }

  it('matches in at least 90% of the cases, refuses the rest plainly', () => {
    const s = score(results);
    expect(results.length).toBe(CASES.length);
    expect(s.diverges).toBe(0);
    expect(s.pct).toBeGreaterThanOrEqual(90);
  });
});
