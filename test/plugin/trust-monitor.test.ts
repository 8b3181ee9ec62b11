// The engine's trust monitor during a re-issue step (issue 13): when one cluster's cacerts Secret
// changes it re-verifies only what that change can affect (that cluster's intermediate against
// every bundle held, every intermediate against that cluster's bundle), with verdicts cached for
// the step, and still reports exactly the gap a full check of every pair after every write would
// (the first one, its pair, its error text and the write after which it was seen).
// With real certificates (node:crypto keys, pki signing) and clusters faked as far as
// readIssued goes (getSecret).
import { beforeAll, describe, expect, it } from 'vitest';
import { createCsr, createRootCa, generateRsaKey, signIntermediate } from '#schemas/x509/index.js';
import {
  checkKeyed,
  checkTrust,
  keyed,
  readIssued,
  TrustVerdicts,
  type IssuedMaterial,
  type TrustFailure,
} from '../../plugin/src/engine/rotation/trust-check.js';
import { TrustMonitor } from '../../plugin/src/engine/rotation/trust-monitor.js';
import type { MeshCertificate } from '../../plugin/src/engine/rotation/targets.js';
import type { ClusterApi } from '../../plugin/src/engine/cluster-api.js';
import type { IssuedCertificate } from '../../plugin/src/engine/objects.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

let oldRoot: string;
let newRoot: string;
let oldKey: string;
let newKey: string;
let interKey: string;
const interCache = new Map<string, string>();

/** The intermediate of `cluster` under a root (one key for all: only the certificates differ). */
function intermediate(cluster: string, under: 'old' | 'new'): string {
  const k = `${cluster}/${under}`;
  let pem = interCache.get(k);
  if (!pem) {
    const [root, key] = under === 'old' ? [oldRoot, oldKey] : [newRoot, newKey];
    pem = signIntermediate({
      csrPem: createCsr({ privateKeyPem: interKey, subject: { O: 'mesh', OU: `${cluster}-${under}` }, hosts: [] }),
      issuerCertPem: root,
      issuerKeyPem: key,
      hosts: [],
      ttlDays: 5,
    });
    interCache.set(k, pem);
  }
  return pem;
}

beforeAll(async () => {
  const [k1, k2, k3] = await Promise.all([generateRsaKey(2048), generateRsaKey(2048), generateRsaKey(2048)]);
  oldKey = k1.privateKeyPem;
  newKey = k2.privateKeyPem;
  interKey = k3.privateKeyPem;
  oldRoot = createRootCa({ privateKeyPem: oldKey, subject: { CN: 'old root' }, ttlDays: 10 });
  newRoot = createRootCa({ privateKeyPem: newKey, subject: { CN: 'new root' }, ttlDays: 10 });
});

/**
 * A rotation's states of one cluster's Secret: the intermediate's root and the bundle, in order.
 * 0 before, 1 adding the new root, 2 re-issued under the new root, 3 old root removed; 4 and 5
 * are wrong moves (the new root dropped, an intermediate whose root it does not hold).
 */
const STATES: { under: 'old' | 'new'; roots: ('old' | 'new')[] }[] = [
  { under: 'old', roots: ['old'] },
  { under: 'old', roots: ['old', 'new'] },
  { under: 'new', roots: ['new', 'old'] },
  { under: 'new', roots: ['new'] },
  { under: 'new', roots: ['old'] },
  { under: 'old', roots: ['new', 'old'] },
];

/** Clusters holding one cacerts Secret each, as readIssued reads them. */
class FakeMesh {
  readonly state = new Map<string, number | undefined>();
  readonly certs: MeshCertificate[];
  constructor(
    readonly names: string[],
    initial: number | ((name: string) => number | undefined) = 0,
  ) {
    for (const n of names) this.state.set(n, typeof initial === 'number' ? initial : initial(n));
    this.certs = names.map((name) => ({
      cluster: {
        name,
        getSecret: async (ns: string, secret: string) => this.secret(name, ns, secret),
      } as unknown as ClusterApi,
      ic: {
        apiVersion: 'x',
        kind: 'IssuedCertificate',
        metadata: { name: `ic-${name}`, namespace: 'istio-system' },
        spec: { issuedCertificateSecret: { namespace: 'istio-system', name: 'cacerts' } },
      } as unknown as IssuedCertificate,
    }));
  }
  private secret(name: string, ns: string, secret: string) {
    const s = this.state.get(name);
    if (s === undefined || ns !== 'istio-system' || secret !== 'cacerts') return undefined;
    const st = STATES[s]!;
    const ca = intermediate(name, st.under);
    const signer = st.under === 'old' ? oldRoot : newRoot;
    const roots = st.roots.map((r) => (r === 'old' ? oldRoot : newRoot));
    return {
      metadata: { name: secret, namespace: ns },
      data: { 'ca-cert.pem': b64(ca), 'cert-chain.pem': b64(ca + signer), 'root-cert.pem': b64(roots.join('')) },
    };
  }
  cert(name: string): MeshCertificate {
    return this.certs[this.names.indexOf(name)]!;
  }
}

/** The monitor as it was: every pair checked (checkTrust) after every write. */
class ReferenceMonitor {
  private readonly material = new Map<string, IssuedMaterial>();
  gap?: TrustFailure & { after: string };
  checks = 0;
  static async start(certs: MeshCertificate[]): Promise<ReferenceMonitor> {
    const m = new ReferenceMonitor();
    const read = await Promise.all(
      certs.map((c) =>
        readIssued([c]).then(
          (r) => r[0],
          () => undefined,
        ),
      ),
    );
    for (const r of read) if (r) m.material.set(`${r.cluster}\u0000${r.secret}`, r);
    m.check('the step began');
    return m;
  }
  async changed(cert: MeshCertificate, what: string): Promise<void> {
    const [r] = await readIssued([cert]);
    this.material.set(`${r!.cluster}\u0000${r!.secret}`, r!);
    this.check(what);
  }
  private check(after: string): void {
    this.checks++;
    if (this.gap) return;
    const f = checkTrust([...this.material.values()]).failures[0];
    if (f) this.gap = { ...f, after };
  }
}

/** mulberry32: seeded, so a failing walk can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('TrustMonitor', () => {
  it('reports the same first gap as checking every pair after every write, over random rotation walks', async () => {
    const names = ['c1', 'c2', 'c3', 'c4', 'c5'];
    let gaps = 0;
    for (let seed = 1; seed <= 14; seed++) {
      const rand = rng(seed);
      // One cluster's Secret is missing when the step begins in some walks.
      const mesh = new FakeMesh(names, (n) => (seed % 3 === 0 && n === 'c3' ? undefined : 0));
      const mon = await TrustMonitor.start(mesh.certs);
      const ref = await ReferenceMonitor.start(mesh.certs);
      for (let i = 0; i < 30; i++) {
        const name = names[Math.floor(rand() * names.length)]!;
        const cur = mesh.state.get(name) ?? 0;
        // Mostly the rotation's next state, once every cluster reached this one (the engine's
        // steps); sometimes the same again; now and then a wrong move.
        const phase = Math.min(...names.map((n) => mesh.state.get(n) ?? 0)) + 1;
        const r = rand();
        const next = r < 0.04 ? 4 + Math.floor(rand() * 2) : r < 0.14 ? cur : Math.min(cur < phase ? cur + 1 : cur, 3);
        mesh.state.set(name, next);
        const what = `write ${i} (${name} -> ${next})`;
        await mon.changed(mesh.cert(name), what);
        await ref.changed(mesh.cert(name), what);
        expect(mon.gap, `seed ${seed}, ${what}`).toEqual(ref.gap);
        expect(mon.checks).toBe(ref.checks);
      }
      expect(mon.held.map((h) => h.cluster).sort()).toEqual(names.filter((n) => mesh.state.get(n) !== undefined));
      if (ref.gap) gaps++;
    }
    // The walks saw gaps and clean steps both.
    expect(gaps).toBeGreaterThan(0);
    expect(gaps).toBeLessThan(14);
  });

  it('keeps the first gap, with the error text of checkTrust and the write it followed', async () => {
    const mesh = new FakeMesh(['a', 'b', 'c'], 1);
    const mon = await TrustMonitor.start(mesh.certs);
    expect(mon.gap).toBeUndefined();
    mesh.state.set('b', 3); // b trusts only the new root while a and c still hold intermediates of the old
    await mon.changed(mesh.cert('b'), 'cluster "b" was re-issued');
    expect(mon.gap).toEqual({
      from: 'a',
      to: 'b',
      error: expect.stringContaining(
        'cluster "a"\'s intermediate (istio-system/cacerts) does not verify against cluster "b"\'s root-cert.pem: ',
      ),
      after: 'cluster "b" was re-issued',
    });
    const first = mon.gap;
    expect(checkTrust(mon.held).failures[0]).toEqual({ from: first!.from, to: first!.to, error: first!.error });
    // Mended afterwards: the gap was seen and stays.
    mesh.state.set('b', 1);
    await mon.changed(mesh.cert('b'), 'cluster "b" was re-issued again');
    expect(mon.gap).toBe(first);
    expect(mon.checks).toBe(3);
  });

  it('verifies each intermediate once per distinct bundle over a whole step: linear in the clusters, not cubic', async () => {
    const n = 40;
    const names = Array.from({ length: n }, (_, i) => `c${String(i + 1).padStart(3, '0')}`);
    const mesh = new FakeMesh(names, 1);
    const mon = await TrustMonitor.start(mesh.certs);
    // n intermediates, one bundle.
    expect(mon.verifications).toBe(n);
    for (const name of names) {
      mesh.state.set(name, 2);
      await mon.changed(mesh.cert(name), `cluster "${name}" was re-issued`);
    }
    expect(mon.gap).toBeUndefined();
    expect(mon.checks).toBe(n + 1);
    // The first write brings the second bundle: every intermediate against it (n). Every write
    // brings a new intermediate: against both bundles (2n). Writing the same again costs nothing.
    expect(mon.verifications).toBeLessThanOrEqual(n + n + 2 * n);
    const before = mon.verifications;
    for (const name of names) await mon.changed(mesh.cert(name), 'again');
    expect(mon.verifications).toBe(before);
    // A full check of every pair after every write would have taken n^2 verdicts per write.
    expect(mon.verifications).toBeLessThan(n * n);
  });
});

describe('checkTrust', () => {
  it('keys each material once and verifies each intermediate once per distinct bundle', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const mesh = new FakeMesh(names, (n) => (Number(n.slice(1)) % 2 ? 1 : 2));
    const material = await readIssued(mesh.certs);
    const verdicts = new TrustVerdicts();
    const report = checkKeyed(material.map(keyed), verdicts);
    expect(report).toEqual(checkTrust(material));
    expect(report.ok).toBe(true);
    expect(report.checked).toBe(30 * 30);
    // 30 intermediates x 2 bundles ([old, new] and [new, old]).
    expect(verdicts.verifications).toBe(60);
  });

  it('treats PEMs that differ only in whitespace as the same bundle and intermediate', async () => {
    const mesh = new FakeMesh(['x', 'y'], 1);
    const [x, y] = await readIssued(mesh.certs);
    const spaced: IssuedMaterial = {
      ...y!,
      caCertPem: y!.caCertPem.replace(/\n/g, '\r\n'),
      rootPems: y!.rootPems.map((p) => `  ${p}\n\n`),
    };
    expect(keyed(spaced).bundle).toBe(keyed(y!).bundle);
    expect(keyed(spaced).intermediate).toBe(keyed(y!).intermediate);
    expect(keyed(x!).intermediate).not.toBe(keyed(y!).intermediate);
    expect(checkTrust([x!, spaced]).ok).toBe(true);
  });
});
