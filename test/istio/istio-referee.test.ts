// Proven with Istio's own code (issue 15): every `cacerts` Secret mesh-cert writes is loaded by the
// Istio referee (referee/main.go) through istio.io/istio's plugged-in CA loading, which signs a
// workload certificate as istiod would; crypto/x509 then checks that every cluster's workloads
// verify against every cluster's roots, at every step of a root rotation.
//
// The referee is built before the tests (`npx tsx test/istio/ensure.ts`); when it is missing every
// test here fails with that command in its message: nothing is skipped.
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { createCsr, createRootCa, generateRsaKey, signIntermediate } from '#schemas/x509/index.js';
import { driveIssuance } from '../../plugin/src/engine/issuance/drive.js';
import { rotate } from '../../plugin/src/engine/rotation/driver.js';
import { builtInVerifier, type Verifier } from '../../plugin/src/engine/rotation/verifier.js';
import type { RotateOptions } from '../../plugin/src/engine/rotation/rotate-options.js';
import type { ObjectRef } from '../../plugin/src/engine/objects.js';
import { createRoot, issuedCertificate, startWorld, type World } from '../plugin/issue-rotate.helpers.js';
import { findReferee, istioVersion } from './ensure.js';
import { failures, runReferee, type Report } from './referee.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ISTIO_FILES = ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem'];

// A missing referee fails every test (findReferee and runReferee throw "istio: the Istio referee
// ... is not built ...; run `npx tsx test/istio/ensure.ts` first"); no hook throws it, since
// vitest counts the tests of a failed hook as skipped.
it('the Istio referee is built', () => {
  expect(findReferee()).toContain(`/mesh-cert/istio/${istioVersion()}/istio-referee-`);
});

interface Ca {
  certPem: string;
  keyPem: string;
}

async function root(cn: string): Promise<Ca> {
  const { privateKeyPem } = await generateRsaKey(2048);
  return {
    certPem: createRootCa({ privateKeyPem, subject: { O: 'referee-test', CN: cn }, ttlDays: 10 }),
    keyPem: privateKeyPem,
  };
}

async function intermediate(cn: string, issuer: Ca): Promise<Ca> {
  const { privateKeyPem } = await generateRsaKey(2048);
  const csrPem = createCsr({ privateKeyPem, subject: { O: 'referee-test', CN: cn }, hosts: [] });
  return {
    certPem: signIntermediate({
      csrPem,
      issuerCertPem: issuer.certPem,
      issuerKeyPem: issuer.keyPem,
      hosts: [],
      ttlDays: 5,
    }),
    keyPem: privateKeyPem,
  };
}

/** cacerts data in the Istio layout: cert-chain.pem is the CA certificate followed by its issuer. */
function cacerts(ca: Ca, issuer: Ca, roots: Ca[], overrides: Record<string, string> = {}): Record<string, string> {
  const data: Record<string, string> = {
    'ca-cert.pem': ca.certPem,
    'ca-key.pem': ca.keyPem,
    'cert-chain.pem': ca.certPem + issuer.certPem,
    'root-cert.pem': roots.map((r) => r.certPem).join(''),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));
}

const pair = (r: Report, from: string, to: string) => r.pairs.find((p) => p.from === from && p.to === to)!;

describe('the referee fails what istiod would refuse (negative controls)', () => {
  let rootA: Ca, rootB: Ca, a1: Ca, a2: Ca, b1: Ca;
  beforeAll(async () => {
    [rootA, rootB] = await Promise.all([root('root A'), root('root B')]);
    [a1, a2, b1] = await Promise.all([intermediate('a1', rootA), intermediate('a2', rootA), intermediate('b1', rootB)]);
  });

  it('passes two clusters under one root (the baseline the controls depart from)', async () => {
    const r = await runReferee({ c1: cacerts(a1, rootA, [rootA]), c2: cacerts(a2, rootA, [rootA]) });
    expect(failures(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.istio).toBe(istioVersion());
    expect(r.pairs).toHaveLength(4);
    expect(r.clusters.c1).toMatchObject({
      loaded: true,
      layout: 'istiod',
      workload: 'spiffe://cluster.local/ns/default/sa/c1',
    });
    expect(r.clusters.c1!.chain).toEqual([
      'spiffe://cluster.local/ns/default/sa/c1',
      'CN=a1,O=referee-test',
      'CN=root A,O=referee-test',
    ]);
  });

  it('fails a ca-key.pem that does not match ca-cert.pem', async () => {
    const r = await runReferee({
      c1: cacerts(a1, rootA, [rootA], { 'ca-key.pem': a2.keyPem }),
      c2: cacerts(a2, rootA, [rootA]),
    });
    expect(r.ok).toBe(false);
    expect(r.clusters.c1!.loaded).toBe(false);
    expect(r.clusters.c1!.error).toMatch(/failed to create CA KeyCertBundle \(the cert does not match the key/);
    expect(pair(r, 'c1', 'c2')).toMatchObject({
      ok: false,
      error: 'c1 did not load, so it has no workload certificate',
    });
    expect(pair(r, 'c2', 'c1')).toMatchObject({ ok: false, error: 'c1 did not load, so it has no roots' });
    expect(pair(r, 'c2', 'c2').ok).toBe(true);
  });

  it('fails a root-cert.pem that does not anchor ca-cert.pem', async () => {
    const r = await runReferee({ c1: cacerts(a1, rootA, [rootB]) });
    expect(r.ok).toBe(false);
    expect(r.clusters.c1!.error).toMatch(/cannot verify the cert with the provided root chain and cert pool/);
  });

  it('fails an incomplete bundle, as istiod does', async () => {
    const data = cacerts(a1, rootA, [rootA]);
    delete data['cert-chain.pem'];
    const r = await runReferee({ c1: data });
    expect(r.clusters.c1!.error).toMatch(/incomplete signing CA bundle detected \(missing cert-chain\.pem\)/);
  });

  it('fails the pairs across two roots that do not trust each other (a trust gap)', async () => {
    const r = await runReferee({ c1: cacerts(a1, rootA, [rootA]), c2: cacerts(b1, rootB, [rootB]) });
    expect(r.ok).toBe(false);
    expect(r.clusters.c1!.loaded && r.clusters.c2!.loaded).toBe(true);
    expect(pair(r, 'c1', 'c1').ok && pair(r, 'c2', 'c2').ok).toBe(true);
    expect(pair(r, 'c1', 'c2').error).toMatch(/x509: certificate signed by unknown authority/);
    expect(pair(r, 'c2', 'c1').error).toMatch(/x509: certificate signed by unknown authority/);
    // both roots in both bundles (the rotation's middle steps) close the gap
    const both = await runReferee({ c1: cacerts(a1, rootA, [rootA, rootB]), c2: cacerts(b1, rootB, [rootB, rootA]) });
    expect(failures(both)).toEqual([]);
  });

  it('shows that a stale tls.crt wins over the *.pem keys (what cacerts written whole prevents)', async () => {
    const data = {
      ...cacerts(a1, rootA, [rootA]),
      'tls.crt': b64(b1.certPem),
      'tls.key': b64(b1.keyPem),
      'ca.crt': b64(rootB.certPem),
    };
    const r = await runReferee({ c1: data });
    expect(r.clusters.c1).toMatchObject({ loaded: true, layout: 'tls' });
    expect(r.clusters.c1!.chain).toContain('CN=b1,O=referee-test');
    expect(r.clusters.c1!.warnings).toContain(
      'ca-cert.pem is ignored: istiod loads tls.crt, tls.key and ca.crt in preference',
    );
  });
});

describe("mesh-cert's cacerts through istiod's plugged-in CA, at every rotation step", () => {
  const CLUSTERS = ['c1', 'c2', 'c3'];
  const OLD = { namespace: 'gloo-mesh', name: 'old-root' };
  let w: World;

  let missing: unknown;
  beforeAll(async () => {
    try {
      findReferee(); // before starting anything; thrown again by each test
    } catch (e) {
      missing = e;
      return;
    }
    w = await startWorld(CLUSTERS);
    await createRoot(w.mgmt, OLD, 'old root');
  });
  afterAll(async () => {
    await w?.stop();
  });

  /** A VirtualMesh with one IssuedCertificate per managed cluster, issued by the old root. */
  async function mesh(vmName: string): Promise<{ vm: ObjectRef; out: ObjectRef }> {
    const vm = { namespace: 'gloo-mesh', name: vmName };
    const out = { namespace: 'istio-system', name: `${vmName}-cacerts` };
    await Promise.all(
      w.managed.map(async (c) => {
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate(vmName, 'istio-system', { signing: OLD, vm, issuedSecret: out }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: vmName },
          { mgmt: w.mgmt, deadline: Date.now() + 30_000 },
        );
        expect(r.outcome, r.error).toBe('finished');
      }),
    );
    return { vm, out };
  }

  /** Every cluster's cacerts, as the clusters hold them now, through the referee: all load, all pairs verify. */
  async function referee(
    out: ObjectRef,
    when: string,
  ): Promise<Report & { secrets: Record<string, Record<string, string>> }> {
    const secrets: Record<string, Record<string, string>> = {};
    for (const c of w.managed) {
      const s = await c.getSecret(out.namespace, out.name);
      expect(s?.data, `${when}: ${c.name} has no Secret ${out.namespace}/${out.name}`).toBeDefined();
      // written whole: the four Istio keys only, so nothing shadows them (tls.crt would win)
      expect(Object.keys(s!.data!).sort(), `${when}: ${c.name}'s cacerts keys`).toEqual(ISTIO_FILES);
      secrets[c.name] = s!.data!;
    }
    const r = await runReferee(secrets);
    expect(failures(r), `${when}: the Istio referee (istio.io/istio ${r.istio})`).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.pairs).toHaveLength(CLUSTERS.length ** 2);
    for (const c of CLUSTERS) {
      expect(r.clusters[c], `${when}: ${c}`).toMatchObject({ loaded: true, layout: 'istiod' });
      expect(r.clusters[c]!.warnings, `${when}: ${c}`).toBeUndefined();
    }
    return { ...r, secrets };
  }

  const rootsOf = (r: Report) =>
    Object.fromEntries(CLUSTERS.map((c) => [c, r.clusters[c]!.roots!.map((s) => /CN=([^,]+)/.exec(s)?.[1]).sort()]));
  const signerOf = (r: Report, c: string) => /CN=([^,]+)/.exec(r.clusters[c]!.caIssuer ?? '')?.[1];

  function base(vm: ObjectRef, extra: Partial<RotateOptions> = {}): RotateOptions {
    return {
      mgmt: w.mgmt,
      clusters: w.managed,
      virtualMesh: vm,
      verify: builtInVerifier,
      stepTimeoutMs: 30_000,
      ...extra,
    };
  }

  it('loads, signs and verifies across all clusters before, during (after each step) and after a full root rotation', async () => {
    if (missing) throw missing;
    const { vm, out } = await mesh('vm-istio');
    const before = await referee(out, 'after issuance');
    for (const c of CLUSTERS) expect(rootsOf(before)[c]).toEqual(['old root']);
    const newRoot = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'new-root-istio' }, 'new root');
    const seen: string[] = [];
    let last = before;
    let gapShown = false;
    let outcome = 'stopped';
    for (let i = 0; i < 20 && outcome === 'stopped'; i++) {
      const r = await rotate(base(vm, { newRootSecret: newRoot.ref, stopAfterWrites: 1 }));
      outcome = r.outcome;
      const step = `${r.rotation.status?.state}/${r.rotation.status?.rotationState ?? 'NOT_ROTATING'}`;
      seen.push(step);
      last = await referee(out, `after ${step}`);
      seen.push(`roots ${[...new Set(Object.values(rootsOf(last)).map((x) => x.join('+')))].join(' | ')}`);
      if (!gapShown && signerOf(last, 'c3') === 'new root') {
        // control on real data: had c1 never been given the new root (ADDING_NEW_ROOT skipped), c3's
        // first intermediate from the new root would be a trust gap, and the referee says so
        const gap = await runReferee({ c1: before.secrets.c1!, c3: last.secrets.c3! });
        expect(gap.ok).toBe(false);
        expect(gap.clusters.c1!.loaded && gap.clusters.c3!.loaded).toBe(true);
        expect(pair(gap, 'c3', 'c1').error).toMatch(/x509: certificate signed by unknown authority/);
        expect(pair(gap, 'c1', 'c3').ok).toBe(true);
        gapShown = true;
      }
    }
    expect(gapShown).toBe(true);
    expect(outcome, seen.join('\n')).toBe('finished');
    // each rotation step of the contract (schemas/src/state-machines.ts) was refereed on its own
    for (const step of ['ADDING_NEW_ROOT', 'PROPAGATING_NEW_INTERMEDIATE', 'DELETING_OLD_ROOT', 'FINISHED']) {
      expect(
        seen.filter((s) => s.endsWith(`/${step}`)),
        seen.join('\n'),
      ).toHaveLength(1);
    }
    // the steps in between made every cluster's istiod trust both roots at once
    expect(seen).toContain('roots new root+old root');
    for (const c of CLUSTERS) {
      expect(rootsOf(last)[c]).toEqual(['new root']);
      expect(signerOf(last, c)).toBe('new root');
    }
  }, 240_000);

  it('loads, signs and verifies at every step of a rotation rolled back after PROPAGATING_NEW_INTERMEDIATE', async () => {
    if (missing) throw missing;
    const { vm, out } = await mesh('vm-istio-rb');
    await referee(out, 'after issuance');
    const newRoot = await createRoot(w.mgmt, { namespace: 'gloo-mesh', name: 'new-root-istio-rb' }, 'new root rb');
    const reject: Verifier = async (ctx) =>
      ctx.after === 'PROPAGATING_NEW_INTERMEDIATE'
        ? { ok: false, reason: 'traffic failed' }
        : { ok: true, message: 'ok' };
    const seen: string[] = [];
    let r;
    let last: Report | undefined;
    do {
      r = await rotate(base(vm, { newRootSecret: newRoot.ref, verify: reject, stopAfterWrites: 1 }));
      const step = `${r.rotation.status?.state}/${r.rotation.status?.rotationState}`;
      seen.push(step);
      last = await referee(out, `rollback, after ${step}`);
    } while (r.outcome === 'stopped' && seen.length < 20);
    expect(r.outcome, seen.join('\n')).toBe('failed');
    expect(
      seen.some((s) => s.endsWith('ROLLING_BACK')),
      seen.join('\n'),
    ).toBe(true);
    for (const c of CLUSTERS) {
      expect(rootsOf(last!)[c]).toEqual(['old root']);
      expect(signerOf(last!, c)).toBe('old root');
    }
  }, 240_000);
});
