// The trust watcher must be able to fail: each test builds certificates with openssl, writes
// cacerts Secrets into sandbox clusters and checks the gaps the watcher reports (or does not).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { apiStatus, kubeConfigFor } from '../sandbox/client.js';
import { cacerts, makeCA, makeRoot, type KeyCert } from './certs.js';
import { parseCacerts, startTrustWatcher, TrustEvaluator, type TrustWatcher } from './index.js';

let oldRoot: KeyCert, newRoot: KeyCert, otherRoot: KeyCert, mid: KeyCert;
let c1Old: KeyCert, c2Old: KeyCert, c1New: KeyCert, c2New: KeyCert, c1Deep: KeyCert;
beforeAll(() => {
  oldRoot = makeRoot('root-old');
  newRoot = makeRoot('root-new');
  otherRoot = makeRoot('root-unrelated');
  c1Old = makeCA('c1-int-old', oldRoot);
  c2Old = makeCA('c2-int-old', oldRoot);
  c1New = makeCA('c1-int-new', newRoot);
  c2New = makeCA('c2-int-new', newRoot);
  mid = makeCA('mid', oldRoot);
  c1Deep = makeCA('c1-int-deep', mid);
});

let sb: Sandbox | undefined;
let tw: TrustWatcher | undefined;
afterEach(async () => {
  await tw?.stop();
  await sb?.stop();
  tw = undefined;
  sb = undefined;
});

async function sandbox(clusters = ['c1', 'c2']): Promise<Sandbox> {
  sb = await startSandbox({ clusters, crds: false });
  for (const c of clusters) await core(c).createNamespace({ body: { metadata: { name: 'istio-system' } } });
  return sb;
}
const core = (ctx: string): CoreV1Api => kubeConfigFor(sb!.kubeconfigPath, ctx).makeApiClient(CoreV1Api);
const watch = async (contexts = ['c1', 'c2'], now?: () => Date): Promise<TrustWatcher> =>
  (tw = await startTrustWatcher({ kubeconfigPath: sb!.kubeconfigPath, contexts, now }));

/** Writes the Secret whole (create, or replace), as the issuer does. */
async function put(ctx: string, data: Record<string, string>): Promise<void> {
  const body = { metadata: { name: 'cacerts', namespace: 'istio-system' }, data };
  try {
    await core(ctx).createNamespacedSecret({ namespace: 'istio-system', body });
  } catch (e) {
    if (apiStatus(e)?.code !== 409) throw e;
    await core(ctx).replaceNamespacedSecret({ namespace: 'istio-system', name: 'cacerts', body });
  }
}
const pairs = (w: TrustWatcher): string[] => [...new Set(w.gaps.map((g) => `${g.from}->${g.to}`))].sort();

describe('trust watcher on sandbox clusters', () => {
  it('(1) two clusters with one root and intermediates signed by it: 0 gaps', async () => {
    await sandbox();
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot]));
    const w = await watch();
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot]));
    await w.waitForQuiet(100);
    expect(w.events).toBe(2); // c1's initial list, c2's ADDED
    expect(w.snapshots).toBe(2);
    expect(w.assertNoGaps).not.toThrow();
    const r = await w.stop();
    expect(r).toMatchObject({ gaps: [], open: [], events: 2, snapshots: 3, relists: 0 });
  });

  it("(2) B's root-cert.pem replaced by an unrelated root: a gap naming A->B, none B->A", async () => {
    await sandbox();
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot]));
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot]));
    const w = await watch();
    await put('c2', cacerts(c2Old, [oldRoot], [otherRoot]));
    await w.waitForQuiet(100);
    // c2 trusts neither c1's intermediate nor its own; c1 still trusts c2's
    expect(pairs(w)).toEqual(['c1->c2', 'c2->c2']);
    const g = w.gaps.find((x) => x.from === 'c1')!;
    expect(g.event).toMatch(/^c2 MODIFIED istio-system\/cacerts rv \d+$/);
    expect(g.reason).toBe(
      'c2 cannot verify c1\'s workloads: ca-cert "c1-int-old" -> "root-old" (self-signed) is not one of the roots ["root-unrelated"]',
    );
    expect(g.time).toBeInstanceOf(Date);
    expect(() => w.assertNoGaps()).toThrow(/saw 2 gap\(s\)[\s\S]*c1 -> c2 {2}\[c2 MODIFIED[\s\S]*\(still open\)/);
  });

  it('(3) ca-key.pem that does not match ca-cert.pem: a gap', async () => {
    await sandbox();
    const w = await watch();
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot], { key: c2Old.key }));
    await w.waitForQuiet(100);
    expect(w.gaps).toMatchObject([
      { from: 'c1', to: 'c1', reason: 'ca-key.pem does not match the public key of ca-cert.pem ("c1-int-old")' },
    ]);
  });

  it('(4) a root rotation in the safe order: 0 gaps', async () => {
    await sandbox();
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot]));
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot]));
    const w = await watch();
    for (const c of ['c1', 'c2']) await put(c, cacerts(c === 'c1' ? c1Old : c2Old, [oldRoot], [oldRoot, newRoot])); // ADDING_NEW_ROOT
    for (const c of ['c1', 'c2']) await put(c, cacerts(c === 'c1' ? c1New : c2New, [newRoot], [oldRoot, newRoot])); // PROPAGATING_NEW_INTERMEDIATE
    for (const c of ['c1', 'c2']) await put(c, cacerts(c === 'c1' ? c1New : c2New, [newRoot], [newRoot])); // DELETING_OLD_ROOT
    await w.waitForQuiet(100);
    expect(w.events).toBe(8);
    w.assertNoGaps();
  });

  it('(4) the unsafe order (an intermediate signed by the new root before the other cluster trusts it): a gap', async () => {
    await sandbox();
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot]));
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot]));
    const w = await watch();
    await put('c1', cacerts(c1New, [newRoot], [oldRoot, newRoot]));
    await w.waitForQuiet(100);
    expect(w.gaps).toMatchObject([{ from: 'c1', to: 'c2', event: expect.stringMatching(/^c1 MODIFIED/) }]);
    // the late fix closes the gap but does not erase it
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot, newRoot]));
    await w.waitForQuiet(100);
    const r = await w.stop();
    expect(r.open).toEqual([]);
    expect(r.gaps).toHaveLength(1);
    expect(r.gaps[0].until!.getTime()).toBeGreaterThanOrEqual(r.gaps[0].time.getTime());
  });

  it('(5) survives a dropped connection (the copy is unknown until it lists afresh) and 410 Gone', async () => {
    await sandbox();
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot]));
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot]));
    const w = await watch();
    const c2 = sb!.internals.get('c2')!;

    // a restart: the stream ends and the watcher reconnects (had a reconnect failed, the copy would
    // be unknown, never paired, until it listed afresh)
    await c2.stop();
    await c2.start();
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot, newRoot]));
    await w.waitForQuiet(100);
    expect(w.report()).toMatchObject({ events: 3, relists: 0, gaps: [] });
    expect(w.report().reconnects).toBeGreaterThanOrEqual(1);

    // while c2 is down its Secret changes and its history is compacted: the watcher lists afresh
    // when c2 is back and sees the change (a 410 on resuming would have made it list too)
    await c2.stop();
    await c2.api.update(
      c2.api.lookup('', 'v1', 'secrets')!,
      'istio-system',
      'cacerts',
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'cacerts', namespace: 'istio-system' },
        data: cacerts(c2Old, [oldRoot], [otherRoot]),
      },
      { dryRun: false, subResource: '' },
    );
    c2.api.store.compact();
    await c2.start();
    await w.waitForQuiet(100);
    expect(w.report().relists + w.report().resyncs).toBeGreaterThanOrEqual(1);
    expect(pairs(w)).toEqual(['c1->c2', 'c2->c2']);
    expect(w.gaps[0].event).toMatch(/^c2 RELISTED/);

    // and it keeps watching after the relist
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot]));
    await w.waitForQuiet(100);
    expect(w.report().open).toEqual([]);
  });

  it('an absent Secret is no gap until seen; deleting it after is; Istio-preferred tls.* keys are', async () => {
    await sandbox(['c1', 'c2', 'c3']);
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot]));
    const w = await watch(['c1', 'c2', 'c3']);
    await put('c2', cacerts(c2Old, [oldRoot], [oldRoot]));
    await w.waitForQuiet(100);
    expect(w.gaps).toEqual([]); // c3 never had one
    await core('c2').deleteNamespacedSecret({ namespace: 'istio-system', name: 'cacerts' });
    await w.waitForQuiet(100);
    expect(w.gaps).toMatchObject([
      {
        from: 'c2',
        to: 'c2',
        reason: 'istio-system/cacerts was deleted after it had been seen',
        event: expect.stringMatching(/^c2 DELETED/),
      },
    ]);
    await put('c3', cacerts(c2Old, [oldRoot], [oldRoot], { extra: { 'tls.crt': c2Old.cert, 'ca.crt': oldRoot.cert } }));
    await w.waitForQuiet(100);
    expect(w.gaps[1]).toMatchObject({
      from: 'c3',
      to: 'c3',
      reason: 'cacerts also holds tls.crt, ca.crt, which Istio 1.15+ loads in preference to the Istio keys',
    });
  });

  it('checks validity at the given now', async () => {
    await sandbox();
    await put('c1', cacerts(c1Old, [oldRoot], [oldRoot]));
    const w = await watch(['c1'], () => new Date(Date.now() + 40 * 86_400_000)); // the certificates last 30 days
    await w.waitForQuiet(50);
    expect(w.gaps).toMatchObject([
      {
        from: 'c1',
        to: 'c1',
        reason: expect.stringMatching(/^c1 cannot verify c1's workloads: ca-cert "c1-int-old" expired at /),
      },
    ]);
  });
});

describe('trust check (no cluster)', () => {
  const at = (): Date => new Date();
  const one = (data: Record<string, string>, roots?: Record<string, string>): string[] => {
    const cas = new Map([['a', parseCacerts(data)], ...(roots ? [['b', parseCacerts(roots)] as const] : [])]);
    return new TrustEvaluator().evaluate(cas, at()).map((f) => `${f.from}->${f.to}: ${f.reason}`);
  };

  it('walks a longer chain through cert-chain.pem, and fails when a link is missing from it', () => {
    expect(one(cacerts(c1Deep, [mid, oldRoot], [oldRoot]))).toEqual([]);
    expect(one(cacerts(c1Deep, [oldRoot], [oldRoot]))).toEqual([
      'a->a: a cannot verify a\'s workloads: ca-cert "c1-int-deep" (issuer "O=trust-watcher-test, CN=mid") chains to none of the roots ["root-old"]',
    ]);
  });

  it('needs the ca-cert in cert-chain.pem, CA certificates, parsable keys', () => {
    const d = cacerts(c1Old, [oldRoot], [oldRoot]);
    expect(one({ ...d, 'cert-chain.pem': Buffer.from(oldRoot.cert).toString('base64') })).toEqual([
      'a->a: a cannot verify a\'s workloads: ca-cert "c1-int-old" is not in cert-chain.pem, so peers receive no path to a root',
    ]);
    const leaf = makeCA('not-a-ca', oldRoot, { ca: false });
    expect(one(cacerts(leaf, [oldRoot], [oldRoot]))).toEqual([
      'a->a: a cannot verify a\'s workloads: ca-cert "not-a-ca" is not a CA certificate',
    ]);
    const { 'ca-key.pem': _k, ...noKey } = d;
    expect(one({ ...noKey, 'root-cert.pem': Buffer.from('junk').toString('base64') })).toEqual([
      'a->a: root-cert.pem holds no PEM certificate',
      'a->a: cacerts has no ca-key.pem',
      'a->a: a cannot verify a\'s workloads: ca-cert "c1-int-old" -> "root-old" (self-signed) is not one of the roots []',
    ]);
  });

  it('a signature that does not verify is no chain, even with matching names', () => {
    const impostor = makeRoot('root-old'); // same subject, another key
    expect(one(cacerts(c1Old, [impostor], [impostor]))[0]).toMatch(
      /"c1-int-old" \(issuer "O=trust-watcher-test, CN=root-old"\) chains to none of the roots \["root-old"\]$/,
    );
    // names and key identifiers right, signature damaged (its last byte)
    const der = Buffer.from(new X509Certificate(c1Old.cert).raw);
    der[der.length - 1] ^= 0xff;
    const forged = {
      ...c1Old,
      cert: `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`,
    };
    expect(new X509Certificate(forged.cert).checkIssued(new X509Certificate(oldRoot.cert))).toBe(true);
    expect(one(cacerts(forged, [oldRoot], [oldRoot]))).toEqual([
      'a->a: a cannot verify a\'s workloads: ca-cert "c1-int-old" (issuer "O=trust-watcher-test, CN=root-old") chains to none of the roots ["root-old"]',
    ]);
  });

  it('100 clusters: a snapshot per change stays cheap', () => {
    const ints = Array.from({ length: 100 }, (_, i) => makeCA(`int-${i}`, oldRoot));
    const ev = new TrustEvaluator();
    const cas = new Map(ints.map((c, i) => [`c${i}`, parseCacerts(cacerts(c, [oldRoot], [oldRoot, newRoot]))]));
    const t0 = performance.now();
    // a rotation step: each change re-evaluates all 10,000 pairs
    for (let i = 0; i < 100; i++) {
      cas.set(`c${i}`, parseCacerts(cacerts(ints[i], [oldRoot], [newRoot, oldRoot])));
      expect(ev.evaluate(cas, at())).toEqual([]);
    }
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(3000);
    console.log(`100 snapshots of 100 clusters: ${ms.toFixed(0)} ms`);
  });
});
