// The built-in verification of `rotate --yes`: every cluster's intermediate against every
// cluster's root-cert.pem, with real certificates (node:crypto keys, pki signing).
import { beforeAll, describe, expect, it } from 'vitest';
import { createCsr, createRootCa, generateRsaKey, signIntermediate } from '#schemas/x509/index.js';
import { checkTrust, type IssuedMaterial } from '../../plugin/src/engine/rotation/trust-check.js';
import { builtInVerifier } from '../../plugin/src/engine/rotation/verifier.js';
import type { CertificateRotation } from '../../plugin/src/engine/objects.js';

let oldRoot: string;
let newRoot: string;
let underOld: string;
let underNew: string;

beforeAll(async () => {
  const [k1, k2, k3, k4] = await Promise.all([
    generateRsaKey(2048),
    generateRsaKey(2048),
    generateRsaKey(2048),
    generateRsaKey(2048),
  ]);
  oldRoot = createRootCa({ privateKeyPem: k1.privateKeyPem, subject: { CN: 'old' }, ttlDays: 10 });
  newRoot = createRootCa({ privateKeyPem: k2.privateKeyPem, subject: { CN: 'new' }, ttlDays: 10 });
  const sign = (key: string, rootPem: string, rootKey: string) =>
    signIntermediate({
      csrPem: createCsr({ privateKeyPem: key, subject: { OU: 'x' }, hosts: [] }),
      issuerCertPem: rootPem,
      issuerKeyPem: rootKey,
      hosts: [],
      ttlDays: 5,
    });
  underOld = sign(k3.privateKeyPem, oldRoot, k1.privateKeyPem);
  underNew = sign(k4.privateKeyPem, newRoot, k2.privateKeyPem);
});

const m = (cluster: string, caCertPem: string, rootPems: string[]): IssuedMaterial => ({
  cluster,
  secret: 'istio-system/cacerts',
  caCertPem,
  chainPems: [],
  rootPems,
});

describe('checkTrust', () => {
  it('passes when every cluster trusts every intermediate (both roots during the rotation)', () => {
    const r = checkTrust([
      m('c1', underOld, [oldRoot, newRoot]),
      m('c2', underNew, [newRoot, oldRoot]),
      m('c3', underNew, [newRoot, oldRoot]),
    ]);
    expect(r.ok).toBe(true);
    expect(r.checked).toBe(9);
    expect([...r.perCluster.values()]).toEqual([
      { verifiedBy: 3, of: 3 },
      { verifiedBy: 3, of: 3 },
      { verifiedBy: 3, of: 3 },
    ]);
  });

  it('names the pair that does not verify: the gap a naive rollback would open', async () => {
    // c1 already trusts only the new root; c2 went back to an intermediate signed by the old root
    const r = checkTrust([m('c1', underNew, [newRoot]), m('c2', underOld, [oldRoot, newRoot])]);
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => `${f.from}->${f.to}`)).toEqual(['c2->c1']);
    expect(r.failures[0]!.error).toContain(
      'cluster "c2"\'s intermediate (istio-system/cacerts) does not verify against cluster "c1"\'s root-cert.pem',
    );
    const decision = await builtInVerifier({
      rotation: {} as CertificateRotation,
      after: 'DELETING_OLD_ROOT',
      clusters: ['c1', 'c2'],
      report: r,
    });
    expect(decision).toEqual({ ok: false, reason: r.failures[0]!.error });
  });
});
