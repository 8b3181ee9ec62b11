// verifyChain against openssl verify, case by case: the two must agree on every chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCsr,
  createRootCa,
  generateRsaKey,
  signIntermediate,
  verifyChain,
  verifyChainDetailed,
} from '#schemas/x509/index.js';
import { DAY, tamperSignature, Workdir } from './openssl.js';

const w = new Workdir();
type Key = { privateKeyPem: string; publicKeyPem: string };
let oldRootKey: Key;
let newRootKey: Key;
let midKey: Key;
let leafKey: Key;
let oldRoot: string;
let newRoot: string;
let mid: string;
let leaf: string;

function csr(key: Key, ou: string): string {
  return createCsr({
    privateKeyPem: key.privateKeyPem,
    subject: { O: 'gloo-mesh', OU: ou },
    hosts: [`spiffe://${ou}.local/ns/istio-system`],
  });
}

beforeAll(async () => {
  [oldRootKey, newRootKey, midKey, leafKey] = await Promise.all([
    generateRsaKey(2048),
    generateRsaKey(2048),
    generateRsaKey(2048),
    generateRsaKey(2048),
  ]);
  // Old and new roots share their subject, as rotations usually do: only signatures tell them apart.
  oldRoot = createRootCa({
    privateKeyPem: oldRootKey.privateKeyPem,
    subject: { O: 'gloo-mesh', CN: 'mesh-root' },
    ttlDays: 365,
  });
  newRoot = createRootCa({
    privateKeyPem: newRootKey.privateKeyPem,
    subject: { O: 'gloo-mesh', CN: 'mesh-root' },
    ttlDays: 365,
  });
  mid = signIntermediate({
    csrPem: csr(midKey, 'mid'),
    issuerCertPem: oldRoot,
    issuerKeyPem: oldRootKey.privateKeyPem,
    hosts: ['mid.example'],
    ttlDays: 60,
  });
  leaf = signIntermediate({
    csrPem: csr(leafKey, 'cluster-1'),
    issuerCertPem: mid,
    issuerKeyPem: midKey.privateKeyPem,
    hosts: ['spiffe://cluster-1.local'],
    ttlDays: 30,
  });
});
afterAll(() => w.cleanup());

/** Run both verifiers; they must agree. Returns our verdict. */
function both(opts: { certPem: string; chainPems?: string[]; rootPems: string[]; at?: Date }) {
  const ours = verifyChain(opts);
  const theirs = w.verify(opts);
  expect(ours.ok, `ours: ${ours.ok ? 'ok' : ours.error}\nopenssl: ${theirs.output}`).toBe(theirs.ok);
  return ours;
}

describe('verifyChain agrees with openssl verify', () => {
  it('accepts leaf -> intermediate -> root and returns the path', () => {
    const r = both({ certPem: leaf, chainPems: [mid], rootPems: [oldRoot] });
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.path.map((c) => c.subjectText)).toEqual([
        'O=gloo-mesh, OU=cluster-1',
        'O=gloo-mesh, OU=mid',
        'O=gloo-mesh, CN=mesh-root',
      ]);
  });

  it('accepts a root given as the certificate itself, and the root repeated in the chain', () => {
    expect(both({ certPem: oldRoot, rootPems: [oldRoot] }).ok).toBe(true);
    expect(both({ certPem: leaf, chainPems: [mid, oldRoot], rootPems: [oldRoot] }).ok).toBe(true);
  });

  it('rejects a wrong root with the same name, saying which certificate failed', () => {
    const r = both({ certPem: leaf, chainPems: [mid], rootPems: [newRoot] });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatch(
        /^certificate "O=gloo-mesh, OU=mid" \(chainPems\[0\]\): its signature does not verify with the key of "O=gloo-mesh, CN=mesh-root" \(rootPems\[0\]\)/,
      );
  });

  it('rejects a missing intermediate', () => {
    const r = both({ certPem: leaf, rootPems: [oldRoot] });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toBe(
        'certificate "O=gloo-mesh, OU=cluster-1" (certPem): its issuer "O=gloo-mesh, OU=mid" is neither in the chain nor among the trusted roots',
      );
  });

  it('accepts a bundle of old and new roots (rotation), whichever signed the chain', () => {
    expect(both({ certPem: leaf, chainPems: [mid], rootPems: [newRoot, oldRoot] }).ok).toBe(true);
    const underNew = signIntermediate({
      csrPem: csr(leafKey, 'cluster-2'),
      issuerCertPem: newRoot,
      issuerKeyPem: newRootKey.privateKeyPem,
      hosts: ['c2.example'],
      ttlDays: 30,
    });
    const r = both({ certPem: underNew, rootPems: [oldRoot, newRoot] });
    expect(r.ok).toBe(true);
    expect(verifyChainDetailed({ certPem: underNew, rootPems: [oldRoot, newRoot] })).toMatchObject({
      ok: true,
      rootIndex: 1,
    });
    expect(both({ certPem: underNew, rootPems: [oldRoot] }).ok).toBe(false);
  });

  it('rejects an expired intermediate and one not yet valid, and accepts them at a time inside their validity', () => {
    const past = new Date(Date.now() - 100 * DAY);
    const expired = signIntermediate({
      csrPem: csr(leafKey, 'expired'),
      issuerCertPem: oldRoot,
      issuerKeyPem: oldRootKey.privateKeyPem,
      hosts: ['x.example'],
      ttlDays: 10,
      now: past,
    });
    const r = both({ certPem: expired, rootPems: [oldRoot] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^certificate "O=gloo-mesh, OU=expired" \(certPem\): expired at /);

    const future = signIntermediate({
      csrPem: csr(leafKey, 'future'),
      issuerCertPem: oldRoot,
      issuerKeyPem: oldRootKey.privateKeyPem,
      hosts: ['x.example'],
      ttlDays: 10,
      now: new Date(Date.now() + 5 * DAY),
    });
    const f = both({ certPem: future, rootPems: [oldRoot] });
    expect(f.ok).toBe(false);
    if (!f.ok) expect(f.error).toMatch(/not valid before/);
    // At a moment inside both validity periods (the root started now - 5 min).
    expect(both({ certPem: future, rootPems: [oldRoot], at: new Date(Date.now() + 6 * DAY) }).ok).toBe(true);
    // An expired intermediate in the middle of the chain.
    const expiredMid = signIntermediate({
      csrPem: csr(midKey, 'mid'),
      issuerCertPem: oldRoot,
      issuerKeyPem: oldRootKey.privateKeyPem,
      hosts: ['mid.example'],
      ttlDays: 1,
      now: past,
    });
    const underExpired = signIntermediate({
      csrPem: csr(leafKey, 'c3'),
      issuerCertPem: mid,
      issuerKeyPem: midKey.privateKeyPem,
      hosts: ['c3.example'],
      ttlDays: 1,
    });
    // underExpired was signed by mid's key; with the expired copy of mid in the chain it still chains by key.
    const m = both({ certPem: underExpired, chainPems: [expiredMid], rootPems: [oldRoot] });
    expect(m.ok).toBe(false);
    if (!m.ok) expect(m.error).toMatch(/^certificate "O=gloo-mesh, OU=mid" \(chainPems\[0\]\): expired at/);
  });

  it('rejects a tampered signature', () => {
    const r = both({ certPem: tamperSignature(leaf), chainPems: [mid], rootPems: [oldRoot] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/"O=gloo-mesh, OU=cluster-1" \(certPem\): its signature does not verify/);
    const t = both({ certPem: leaf, chainPems: [tamperSignature(mid)], rootPems: [oldRoot] });
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.error).toMatch(/"O=gloo-mesh, OU=mid" \(chainPems\[0\]\): its signature does not verify/);
  });

  it('rejects a certificate issued by a non-CA certificate (made and signed by openssl)', () => {
    const ext = w.file(
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyCertSign\nsubjectKeyIdentifier=hash\n',
      'noca.ext',
    );
    const notCa = w.ok([
      'x509',
      '-req',
      '-in',
      w.file(csr(midKey, 'not-a-ca')),
      '-CA',
      w.file(oldRoot),
      '-CAkey',
      w.file(oldRootKey.privateKeyPem),
      '-set_serial',
      '11',
      '-days',
      '5',
      '-extfile',
      ext,
    ]);
    const child = w.ok([
      'x509',
      '-req',
      '-in',
      w.file(csr(leafKey, 'child')),
      '-CA',
      w.file(notCa),
      '-CAkey',
      w.file(midKey.privateKeyPem),
      '-set_serial',
      '12',
      '-days',
      '5',
    ]);
    expect(both({ certPem: notCa, rootPems: [oldRoot] }).ok).toBe(true);
    const r = both({ certPem: child, chainPems: [notCa], rootPems: [oldRoot] });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatch(
        /^certificate "O=gloo-mesh, OU=not-a-ca" \(chainPems\[0\]\): is not a CA \(basicConstraints CA:TRUE missing\) but issued "O=gloo-mesh, OU=child"/,
      );
  });

  it('enforces a path length constraint (openssl-made root with pathlen:0)', () => {
    w.ok([
      'req',
      '-x509',
      '-new',
      '-key',
      w.file(oldRootKey.privateKeyPem),
      '-subj',
      '/O=acme/CN=pathlen0',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'p0.pem',
    ]);
    const p0 = w.read('p0.pem');
    const ext = w.file('basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n', 'ca.ext');
    const sub = w.ok([
      'x509',
      '-req',
      '-in',
      w.file(csr(midKey, 'sub')),
      '-CA',
      w.file(p0),
      '-CAkey',
      w.file(oldRootKey.privateKeyPem),
      '-set_serial',
      '21',
      '-days',
      '5',
      '-extfile',
      ext,
    ]);
    const subsub = w.ok([
      'x509',
      '-req',
      '-in',
      w.file(csr(leafKey, 'subsub')),
      '-CA',
      w.file(sub),
      '-CAkey',
      w.file(midKey.privateKeyPem),
      '-set_serial',
      '22',
      '-days',
      '5',
      '-extfile',
      ext,
    ]);
    expect(both({ certPem: sub, rootPems: [p0] }).ok).toBe(true);
    const r = both({ certPem: subsub, chainPems: [sub], rootPems: [p0] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/path length constraint 0 exceeded/);
  });

  it('rejects a self-signed certificate that is not among the roots', () => {
    const r = both({ certPem: newRoot, rootPems: [oldRoot] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/self-signed and not among the trusted roots|signature does not verify/);
  });

  it('reports input that does not parse, by position', () => {
    expect(verifyChain({ certPem: leaf, chainPems: ['garbage'], rootPems: [oldRoot] })).toEqual({
      ok: false,
      error: 'chainPems[0]: no PEM CERTIFICATE block found',
    });
    expect(verifyChain({ certPem: leaf, chainPems: [mid], rootPems: [] })).toEqual({
      ok: false,
      error: 'rootPems: no trusted root certificate given',
    });
  });
});
