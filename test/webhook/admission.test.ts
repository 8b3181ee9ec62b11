// Real AdmissionReviews over HTTPS to a running webhook: every kind, every operation, status and
// main-resource writes, the deprecated-field cases, illegal transitions and the rotation rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticRotationCache } from '../../webhook/src/rotation-cache.js';
import {
  certificateRequest,
  certificateRotation,
  everyKind,
  finishedStatus,
  issuedCertificate,
  podBounceDirective,
  vmcsr,
} from './fixtures.js';
import { clone, genPki, kubectlApplyPatch, patchOf, review, startHarness, type Harness, type Pki } from './helpers.js';

let h: Harness;
let pki: Pki;
const rotations = staticRotationCache([]);

beforeAll(async () => {
  pki = genPki();
  h = await startHarness({ rotationCache: rotations });
});
afterAll(async () => {
  await h?.close();
});

const IC = 'IssuedCertificate.certificates.mesh.gloo.solo.io';

describe('every kind, every operation', () => {
  it('admits a valid object of each kind on CREATE, UPDATE and DELETE, with no patch', async () => {
    for (const { kind, object } of everyKind(pki)) {
      for (const path of ['/mutate', '/validate'] as const) {
        const created = await h.send(path, review(kind, 'CREATE', object));
        expect(created, `${kind} CREATE ${path}`).toMatchObject({ allowed: true });
        expect(created.patch, `${kind} CREATE ${path}`).toBeUndefined();
        expect(created.status).toBeUndefined();
        const updated = clone(object);
        (updated.metadata as Record<string, unknown>).labels = { team: 'mesh' };
        expect((await h.send(path, review(kind, 'UPDATE', updated, object))).allowed, `${kind} UPDATE ${path}`).toBe(
          true,
        );
        const deleted = await h.send(path, review(kind, 'DELETE', undefined, object));
        expect(deleted, `${kind} DELETE ${path}`).toMatchObject({ allowed: true });
        expect(deleted.patch).toBeUndefined();
      }
    }
  });

  it('admits a legal status write of each kind', async () => {
    for (const { kind, statusOld, statusNew } of everyKind(pki)) {
      const r = await h.send('/validate', review(kind, 'UPDATE', statusNew, statusOld, { subResource: 'status' }));
      expect(r.allowed, `${kind}: ${JSON.stringify(r.status)}`).toBe(true);
      const m = await h.send('/mutate', review(kind, 'UPDATE', statusNew, statusOld, { subResource: 'status' }));
      expect(m).toMatchObject({ allowed: true });
      expect(m.patch).toBeUndefined();
    }
  });

  it('denies an unknown field of each kind with 422 naming the field path', async () => {
    for (const { kind, object } of everyKind(pki)) {
      const bad = clone(object);
      (bad.spec as Record<string, unknown>).bogusField = 'x';
      const r = await h.send('/validate', review(kind, 'CREATE', bad));
      expect(r.allowed).toBe(false);
      expect(r.status).toMatchObject({ status: 'Failure', code: 422, reason: 'Invalid' });
      expect(r.status.message).toContain('spec.bogusField');
      expect(r.status.details.causes.map((c: { field: string }) => c.field)).toContain('spec.bogusField');
    }
  });

  it('answers CONNECT and dry-run requests like any other', async () => {
    const ic = issuedCertificate();
    expect(
      (
        await h.send(
          '/validate',
          review('IssuedCertificate', 'CONNECT', undefined, undefined, {
            name: 'cluster-1',
            namespace: 'istio-system',
          }),
        )
      ).allowed,
    ).toBe(true);
    const bad = issuedCertificate('cluster-1', {}, { state: 'FINISHED', observedGeneration: 1 });
    const old = issuedCertificate('cluster-1', {}, { state: 'PENDING', observedGeneration: 1 });
    const wet = await h.send('/validate', review('IssuedCertificate', 'UPDATE', bad, old, { subResource: 'status' }));
    const dry = await h.send(
      '/validate',
      review('IssuedCertificate', 'UPDATE', bad, old, { subResource: 'status', dryRun: true }),
    );
    expect(dry.allowed).toBe(false);
    expect(dry.status).toEqual(wet.status);
    const m = await h.send(
      '/mutate',
      review('IssuedCertificate', 'CREATE', issuedCertificate('c', { org: 'acme' }), undefined, { dryRun: true }),
    );
    expect(patchOf(m)).toEqual([{ op: 'add', path: '/spec/certOptions/orgName', value: 'acme' }]);
    expect(m.patchType).toBe('JSONPatch');
    expect((ic.spec as { certOptions: { orgName?: string } }).certOptions.orgName).toBeUndefined();
  });
});

describe('illegal transitions', () => {
  const icStatus = (from: Record<string, unknown>, to: Record<string, unknown>) =>
    review(
      'IssuedCertificate',
      'UPDATE',
      issuedCertificate('cluster-1', {}, to),
      issuedCertificate('cluster-1', {}, from),
      { subResource: 'status' },
    );

  it('names the state field, the move and the allowed targets like the apiserver', async () => {
    const r = await h.send(
      '/validate',
      icStatus({ state: 'PENDING', observedGeneration: 1 }, { state: 'FINISHED', observedGeneration: 1 }),
    );
    expect(r.allowed).toBe(false);
    expect(r.status).toMatchObject({
      code: 422,
      reason: 'Invalid',
      details: { group: 'certificates.mesh.gloo.solo.io', kind: 'IssuedCertificate', name: 'cluster-1' },
    });
    expect(r.status.message).toBe(
      `${IC} "cluster-1" is invalid: status.state: Invalid value: "FINISHED": IssuedCertificate cannot move from PENDING to FINISHED; allowed: REQUESTED, FAILED`,
    );
  });

  it('lists every offending field in one message', async () => {
    const r = await h.send(
      '/validate',
      icStatus({ state: 'ISSUED', observedGeneration: 1 }, { state: 'FAILED', observedGeneration: 5 }),
    );
    expect(r.allowed).toBe(false);
    expect(r.status.message.startsWith(`${IC} "cluster-1" is invalid: [`)).toBe(true);
    expect(r.status.message).toContain('status.error: Required value');
    expect(r.status.message).toContain('status.observedGeneration');
    expect(r.status.details.causes.length).toBeGreaterThanOrEqual(2);
  });

  it('denies observedGeneration going backwards', async () => {
    const r = await h.send(
      '/validate',
      icStatus({ state: 'REQUESTED', observedGeneration: 1 }, { state: 'REQUESTED', observedGeneration: 0 }),
    );
    expect(r.allowed).toBe(false);
    expect(r.status.message).toContain('status.observedGeneration');
  });

  it('admits the writes of Gloo Mesh agent: FAILED -> REQUESTED, and any -> PENDING (or straight to REQUESTED) on a new generation', async () => {
    expect(
      (
        await h.send(
          '/validate',
          icStatus(
            { state: 'FAILED', error: 'x', observedGeneration: 1 },
            { state: 'REQUESTED', observedGeneration: 1 },
          ),
        )
      ).allowed,
    ).toBe(true);
    const old = issuedCertificate('cluster-1', {}, { state: 'FINISHED', observedGeneration: 1 }, 2);
    for (const state of ['PENDING', 'REQUESTED']) {
      const next = issuedCertificate('cluster-1', {}, { state, observedGeneration: 2 }, 2);
      expect(
        (await h.send('/validate', review('IssuedCertificate', 'UPDATE', next, old, { subResource: 'status' })))
          .allowed,
        state,
      ).toBe(true);
    }
    // observedGeneration never exceeds metadata.generation, and without an advance FINISHED -> REQUESTED is illegal
    const ahead = issuedCertificate('cluster-1', {}, { state: 'REQUESTED', observedGeneration: 3 }, 2);
    expect(
      (await h.send('/validate', review('IssuedCertificate', 'UPDATE', ahead, old, { subResource: 'status' }))).status
        .message,
    ).toContain('must not exceed metadata.generation (2)');
    const same = issuedCertificate('cluster-1', {}, { state: 'REQUESTED', observedGeneration: 1 }, 2);
    expect(
      (await h.send('/validate', review('IssuedCertificate', 'UPDATE', same, old, { subResource: 'status' }))).allowed,
    ).toBe(false);
  });

  it('checks a FINISHED CertificateRequest: chain to signingRootCa and the CSR key', async () => {
    const old = certificateRequest(pki, 'cluster-1', { state: 'PENDING', observedGeneration: 1 });
    const finish = (over: Record<string, unknown>) =>
      review('CertificateRequest', 'UPDATE', certificateRequest(pki, 'cluster-1', finishedStatus(pki, over)), old, {
        subResource: 'status',
      });
    expect((await h.send('/validate', finish({}))).allowed).toBe(true);
    expect((await h.send('/validate', finish({ certChain: pki.b64(pki.signedPem + pki.rootPem) }))).allowed).toBe(true);
    const wrongKey = await h.send('/validate', finish({ signedCertificate: pki.b64(pki.wrongKeyPem) }));
    expect(wrongKey.allowed).toBe(false);
    expect(wrongKey.status.message).toContain('status.signedCertificate');
    const otherRoot = await h.send('/validate', finish({ signedCertificate: pki.b64(pki.otherRootSignedPem) }));
    expect(otherRoot.allowed).toBe(false);
    expect(otherRoot.status.message).toMatch(
      /status\.signedCertificate: Invalid value: .*does not chain to status\.signingRootCa/,
    );
    const missing = await h.send('/validate', finish({ signingRootCa: undefined }));
    expect(missing.status.message).toContain('status.signingRootCa: Required value');
    const garbage = await h.send('/validate', finish({ signedCertificate: 'not%base64!!' }));
    expect(garbage.allowed).toBe(false);
    expect(garbage.status.message).toContain('status.signedCertificate');
  });

  it('answers 403 Forbidden for leaving a final state', async () => {
    const old = certificateRotation('rotate-1', 'virtual-mesh', { state: 'FINISHED', observedGeneration: 1 });
    const next = certificateRotation('rotate-1', 'virtual-mesh', { state: 'ROTATING', observedGeneration: 1 });
    const r = await h.send('/validate', review('CertificateRotation', 'UPDATE', next, old, { subResource: 'status' }));
    expect(r.allowed).toBe(false);
    expect(r.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(r.status.message).toMatch(
      /^CertificateRotation\.certificates\.mesh\.gloo\.solo\.io "rotate-1" is forbidden: status\.state/,
    );
    const approved = vmcsr(pki, 'x', { thirdPartyApproval: { approvalStatus: 'APPROVED' } });
    const denied = vmcsr(pki, 'x', { thirdPartyApproval: { approvalStatus: 'DENIED' } });
    const v = await h.send(
      '/validate',
      review('VirtualMeshCertificateSigningRequest', 'UPDATE', denied, approved, { subResource: 'status' }),
    );
    expect(v.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(v.status.message).toContain('status.thirdPartyApproval.approvalStatus');
  });

  it('denies changing an immutable field once a rotation left PENDING', async () => {
    const old = certificateRotation('rotate-1', 'virtual-mesh', { state: 'ROTATING', observedGeneration: 1 });
    const next = clone(old);
    (next.spec as Record<string, unknown>).virtualMesh = { name: 'other-mesh', namespace: 'gloo-mesh' };
    const r = await h.send('/validate', review('CertificateRotation', 'UPDATE', next, old));
    expect(r.allowed).toBe(false);
    expect(r.status.message).toContain('spec.virtualMesh');
  });

  it('judges only status on a status write: an old spec problem does not block the status writer', async () => {
    const old = issuedCertificate('cluster-1', { hosts: [''] }, { state: 'PENDING', observedGeneration: 1 });
    const next = issuedCertificate('cluster-1', { hosts: [''] }, { state: 'REQUESTED', observedGeneration: 1 });
    expect(
      (await h.send('/validate', review('IssuedCertificate', 'UPDATE', next, old, { subResource: 'status' }))).allowed,
    ).toBe(true);
    const main = await h.send('/validate', review('IssuedCertificate', 'UPDATE', next, old));
    expect(main.allowed).toBe(false);
    expect(main.status.message).toContain('spec.hosts[0]');
  });
});

describe('deprecated fields', () => {
  async function mutateThenValidate(obj: Record<string, unknown>, op: 'CREATE' | 'UPDATE' = 'CREATE') {
    const m = await h.send(
      '/mutate',
      review('IssuedCertificate', op, obj, op === 'UPDATE' ? issuedCertificate() : undefined),
    );
    const patch = patchOf(m);
    const mutated = patch ? (kubectlApplyPatch(obj, patch) as Record<string, unknown>) : obj;
    const v = await h.send(
      '/validate',
      review('IssuedCertificate', op, mutated, op === 'UPDATE' ? issuedCertificate() : undefined),
    );
    return { m, patch, mutated, v };
  }

  it('old only: copies spec.org onto spec.certOptions.orgName, keeps the old field, warns once', async () => {
    const { m, mutated, v } = await mutateThenValidate(issuedCertificate('c', { org: 'acme' }));
    expect(m.allowed).toBe(true);
    expect(m.patchType).toBe('JSONPatch');
    expect(m.warnings).toHaveLength(1);
    expect(m.warnings[0]).toContain('spec.org');
    expect(m.warnings[0]).toContain('spec.certOptions.orgName');
    expect((mutated.spec as { certOptions: { orgName: string; ttlDays: number } }).certOptions).toMatchObject({
      orgName: 'acme',
      ttlDays: 365,
    });
    expect((mutated.spec as { org: string }).org).toBe('acme');
    expect(v.allowed).toBe(true);
    expect(v.warnings?.join('\n')).toContain('spec.org');
    // idempotent: the mutated object needs no further patch
    const again = await h.send('/mutate', review('IssuedCertificate', 'CREATE', mutated));
    expect(again.patch).toBeUndefined();
  });

  it('old only without certOptions: the patch creates the parent, and applies', async () => {
    const obj = issuedCertificate('c', { org: 'acme' });
    delete (obj.spec as Record<string, unknown>).certOptions;
    const { patch, mutated, v } = await mutateThenValidate(obj);
    expect(patch).toEqual([{ op: 'add', path: '/spec/certOptions', value: { orgName: 'acme' } }]);
    expect((mutated.spec as { certOptions: unknown }).certOptions).toEqual({ orgName: 'acme' });
    expect(v.allowed).toBe(true);
  });

  it('old only: signingCertificateSecret moves to glooMeshCa, both deprecated fields in one patch', async () => {
    const ref = { name: 'root-ca', namespace: 'gloo-mesh' };
    const { m, mutated, v } = await mutateThenValidate(
      issuedCertificate('c', { org: 'acme', signingCertificateSecret: ref }),
      'UPDATE',
    );
    expect(m.warnings).toHaveLength(2);
    expect(m.warnings.join('\n')).toContain('spec.glooMeshCa.signingCertificateSecret');
    expect((mutated.spec as { glooMeshCa: unknown }).glooMeshCa).toEqual({ signingCertificateSecret: ref });
    expect((mutated.spec as { signingCertificateSecret: unknown }).signingCertificateSecret).toEqual(ref);
    expect(v.allowed).toBe(true);
    expect((await h.send('/mutate', review('IssuedCertificate', 'CREATE', mutated))).patch).toBeUndefined();
  });

  it('new only: no patch and no warning', async () => {
    const { m, v } = await mutateThenValidate(
      issuedCertificate('c', {
        certOptions: { orgName: 'acme' },
        glooMeshCa: { signingCertificateSecret: { name: 'r' } },
      }),
    );
    expect(m.patch).toBeUndefined();
    expect(m.warnings).toBeUndefined();
    expect(v.allowed).toBe(true);
    expect(v.warnings).toBeUndefined();
  });

  it('both equal: no patch; validate admits it with a deprecation warning', async () => {
    const { m, v } = await mutateThenValidate(
      issuedCertificate('c', { org: 'acme', certOptions: { orgName: 'acme' } }),
    );
    expect(m.patch).toBeUndefined();
    expect(v.allowed).toBe(true);
    expect(v.warnings).toHaveLength(1);
    expect(v.warnings[0]).toContain('spec.org is deprecated');
  });

  it('both different (org: Istio next to a VirtualMesh orgName, as Gloo Mesh writes): no patch; admitted, the replacement wins, with a warning naming both', async () => {
    const { m, v } = await mutateThenValidate(
      issuedCertificate('c', { org: 'Istio', certOptions: { orgName: 'acme' } }),
    );
    expect(m.allowed).toBe(true);
    expect(m.patch).toBeUndefined();
    expect(v.allowed, v.status?.message).toBe(true);
    expect(v.warnings).toEqual([
      'spec.org is deprecated and differs from spec.certOptions.orgName ("Istio" vs "acme"): spec.certOptions.orgName is the one read',
    ]);
    const s = await mutateThenValidate(
      issuedCertificate('c', {
        signingCertificateSecret: { name: 'a' },
        glooMeshCa: { signingCertificateSecret: { name: 'b' } },
      }),
    );
    expect(s.m.patch).toBeUndefined();
    expect(s.v.allowed).toBe(true);
    expect(s.v.warnings.join('\n')).toContain(
      'spec.signingCertificateSecret is deprecated and differs from spec.glooMeshCa.signingCertificateSecret',
    );
  });

  it('never maps onto glooMeshCa when agentCa is set (the patch would break the oneof); admitted with a warning', async () => {
    const { m, v } = await mutateThenValidate(
      issuedCertificate('c', {
        signingCertificateSecret: { name: 'a' },
        agentCa: {
          vault: {
            server: 'https://vault:8200',
            caPath: 'pki/root/sign-intermediate',
            csrPath: 'pki_int/intermediate/generate/exported',
            tokenSecretRef: { name: 'vault-token' },
          },
        },
      }),
    );
    expect(m.patch).toBeUndefined();
    expect(v.allowed, v.status?.message).toBe(true);
    expect(v.warnings.join('\n')).toContain(
      'spec.signingCertificateSecret is deprecated and cannot be copied to spec.glooMeshCa.signingCertificateSecret while spec.agentCa is set',
    );
  });

  it('never patches an object a Gloo Mesh controller owns (any value of its label), only warns', async () => {
    const ref = { name: 'virtual-mesh.gloo-mesh', namespace: 'gloo-mesh' };
    const label = 'owner.networking.mesh.gloo.solo.io';
    {
      for (const value of ['gloo-mesh', '']) {
        const owned = issuedCertificate('c', { org: 'Istio', signingCertificateSecret: ref });
        delete (owned.spec as Record<string, unknown>).certOptions;
        (owned.metadata as Record<string, unknown>).labels = { [label]: value };
        for (const op of ['CREATE', 'UPDATE'] as const) {
          const m = await h.send(
            '/mutate',
            review('IssuedCertificate', op, owned, op === 'UPDATE' ? owned : undefined),
          );
          expect(m.allowed).toBe(true);
          expect(m.patch, `${op} ${label}=${value}`).toBeUndefined();
          expect(m.warnings).toEqual([
            `spec.org is deprecated: not copied to spec.certOptions.orgName, since a Gloo Mesh controller owns this IssuedCertificate (label ${label}) and writes only spec.org`,
            `spec.signingCertificateSecret is deprecated: not copied to spec.glooMeshCa.signingCertificateSecret, since a Gloo Mesh controller owns this IssuedCertificate (label ${label}) and writes only spec.signingCertificateSecret`,
          ]);
          const v = await h.send(
            '/validate',
            review('IssuedCertificate', op, owned, op === 'UPDATE' ? owned : undefined),
          );
          expect(v.allowed).toBe(true);
          expect(v.warnings).toHaveLength(2);
        }
      }
    }
    // The agent's label on an IssuedCertificate is not the translator's: that one is patched.
    const other = issuedCertificate('c', { org: 'Istio' });
    (other.metadata as Record<string, unknown>).labels = { 'agent.certificates.mesh.gloo.solo.io': 'gloo-mesh' };
    expect(patchOf(await h.send('/mutate', review('IssuedCertificate', 'CREATE', other)))).toEqual([
      { op: 'add', path: '/spec/certOptions/orgName', value: 'Istio' },
    ]);
  });

  it('never patches a status write or a DELETE', async () => {
    const old = issuedCertificate('c', { org: 'acme' }, { state: 'PENDING' });
    const next = issuedCertificate('c', { org: 'acme' }, { state: 'REQUESTED' });
    expect(
      (await h.send('/mutate', review('IssuedCertificate', 'UPDATE', next, old, { subResource: 'status' }))).patch,
    ).toBeUndefined();
    expect((await h.send('/mutate', review('IssuedCertificate', 'DELETE', undefined, old))).patch).toBeUndefined();
  });

  it('accepts the zephyr certConfig.org as is', async () => {
    const obj = vmcsr(pki);
    const m = await h.send('/mutate', review('VirtualMeshCertificateSigningRequest', 'CREATE', obj));
    expect(m.patch).toBeUndefined();
    expect((await h.send('/validate', review('VirtualMeshCertificateSigningRequest', 'CREATE', obj))).allowed).toBe(
      true,
    );
  });
});

describe('rule zero: values the protos allow are admitted, out-of-policy ones with a warning', () => {
  const withOptions = (certOptions: Record<string, unknown>) => issuedCertificate('c', { certOptions });

  it('rsaKeySizeBytes, ttlDays and the grace ratio: any value, a warning outside policy', async () => {
    const cases: [Record<string, unknown>, string | undefined][] = [
      [{ rsaKeySizeBytes: 8192 }, undefined],
      [{ rsaKeySizeBytes: 0 }, undefined],
      [{ rsaKeySizeBytes: 1024 }, 'spec.certOptions.rsaKeySizeBytes: 1024 is below 2048'],
      [{ ttlDays: 36500 }, undefined],
      [{ ttlDays: 40000 }, 'spec.certOptions.ttlDays: 40000 is above 36500'],
      [{ secretRotationGracePeriodRatio: 1.5 }, 'spec.certOptions.secretRotationGracePeriodRatio: 1.5 is above 1'],
      [{ orgName: 'o'.repeat(65) }, 'spec.certOptions.orgName: the value has 65 characters, more than 64'],
    ];
    for (const [options, warning] of cases) {
      const r = await h.send('/validate', review('IssuedCertificate', 'CREATE', withOptions(options)));
      expect(r.allowed, JSON.stringify(options)).toBe(true);
      if (warning) expect(r.warnings, JSON.stringify(options)).toEqual([expect.stringContaining(warning)]);
      else expect(r.warnings, JSON.stringify(options)).toBeUndefined();
    }
    // a status write judges only status: no warning about spec values there
    const old = issuedCertificate('c', { certOptions: { rsaKeySizeBytes: 1024 } }, { state: 'PENDING' });
    const next = issuedCertificate(
      'c',
      { certOptions: { rsaKeySizeBytes: 1024 } },
      { state: 'REQUESTED', observedGeneration: 1 },
    );
    expect(
      (await h.send('/validate', review('IssuedCertificate', 'UPDATE', next, old, { subResource: 'status' }))).warnings,
    ).toBeUndefined();
  });

  it('a Vault kubernetesAuth without role, and the NOT_APPLICABLE rotation state', async () => {
    const ic = issuedCertificate(
      'c',
      {
        agentCa: {
          vault: {
            server: 'https://vault:8200',
            kubernetesAuth: { serviceAccountRef: { name: 'istiod', namespace: 'istio-system' } },
          },
        },
        rotationState: 'NOT_APPLICABLE',
      },
      { observedRotationState: 'NOT_APPLICABLE' },
    );
    const r = await h.send('/validate', review('IssuedCertificate', 'CREATE', ic));
    expect(r.allowed, r.status?.message).toBe(true);
    const asNumber = issuedCertificate('c', { rotationState: 0 });
    expect((await h.send('/validate', review('IssuedCertificate', 'CREATE', asNumber))).status.message).toContain(
      'spec.rotationState: Unsupported value: 0',
    );
  });

  it('a PodBounceDirective with 150 selectors, and 1500 bounced pods', async () => {
    const pbd = podBounceDirective();
    const selector = (pbd.spec as { podsToBounce: unknown[] }).podsToBounce[1];
    (pbd.spec as { podsToBounce: unknown[] }).podsToBounce = Array.from({ length: 150 }, () => selector);
    expect((await h.send('/validate', review('PodBounceDirective', 'CREATE', pbd))).allowed).toBe(true);
    const bounced = {
      ...pbd,
      status: {
        podsBounced: Array.from({ length: 150 }, (_, i) => ({
          bouncedPods: Array.from({ length: 10 }, (_, j) => `p-${i}-${j}`),
        })),
      },
    };
    const r = await h.send(
      '/validate',
      review('PodBounceDirective', 'UPDATE', bounced, pbd, { subResource: 'status' }),
    );
    expect(r.allowed, r.status?.message).toBe(true);
  });

  it('a VMCSR response written while approval is PENDING (as zephyr signs), never once DENIED', async () => {
    const response = { caCertificate: pki.b64(pki.signedPem), rootCertificate: pki.b64(pki.rootPem) };
    for (const approval of [undefined, { approvalStatus: 'PENDING' }]) {
      const old = vmcsr(pki, 'x', approval ? { thirdPartyApproval: approval } : undefined);
      const next = vmcsr(pki, 'x', {
        ...(approval ? { thirdPartyApproval: approval } : {}),
        response,
        computedStatus: { state: 'ACCEPTED' },
      });
      const r = await h.send(
        '/validate',
        review('VirtualMeshCertificateSigningRequest', 'UPDATE', next, old, { subResource: 'status' }),
      );
      expect(r.allowed, `${JSON.stringify(approval)}: ${r.status?.message}`).toBe(true);
    }
    const denied = vmcsr(pki, 'x', { thirdPartyApproval: { approvalStatus: 'DENIED' } });
    const answered = vmcsr(pki, 'x', { thirdPartyApproval: { approvalStatus: 'DENIED' }, response });
    const r = await h.send(
      '/validate',
      review('VirtualMeshCertificateSigningRequest', 'UPDATE', answered, denied, { subResource: 'status' }),
    );
    expect(r.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(r.status.message).toContain(
      'status.response: Forbidden: may not be set once status.thirdPartyApproval.approvalStatus is DENIED',
    );
    // the response must still be for csrData's key
    const wrong = vmcsr(pki, 'x', { response: { caCertificate: pki.b64(pki.wrongKeyPem) } });
    expect(
      (
        await h.send(
          '/validate',
          review('VirtualMeshCertificateSigningRequest', 'UPDATE', wrong, vmcsr(pki, 'x'), { subResource: 'status' }),
        )
      ).status.message,
    ).toContain('status.response.caCertificate: Invalid value: its public key is not the one in spec.csrData');
  });

  it('a CertificateRequest spec write (a new CSR) that leaves a stale FINISHED status', async () => {
    const old = certificateRequest(pki, 'cluster-1', finishedStatus(pki, {}, 1), 1);
    const next = certificateRequest(pki, 'cluster-1', finishedStatus(pki, {}, 1), 2);
    (next.spec as Record<string, unknown>).certificateSigningRequest = pki.b64(genPki().csrPem);
    const r = await h.send('/validate', review('CertificateRequest', 'UPDATE', next, old));
    expect(r.allowed, r.status?.message).toBe(true);
  });
});

describe('one active CertificateRotation per VirtualMesh', () => {
  it('denies a second active rotation of the same VirtualMesh, from the cache', async () => {
    rotations.set([
      certificateRotation('rotate-1', 'virtual-mesh', { state: 'ROTATING' }),
      certificateRotation('old', 'virtual-mesh', { state: 'FINISHED' }),
    ]);
    const r = await h.send(
      '/validate',
      review('CertificateRotation', 'CREATE', certificateRotation('rotate-2', 'virtual-mesh')),
    );
    expect(r.allowed).toBe(false);
    expect(r.status.code).toBe(403);
    expect(r.status.message).toContain('spec.virtualMesh');
    expect(r.status.message).toContain('gloo-mesh/rotate-1');
    // another mesh, and the active rotation itself, are fine
    expect(
      (await h.send('/validate', review('CertificateRotation', 'CREATE', certificateRotation('rotate-3', 'mesh-b'))))
        .allowed,
    ).toBe(true);
    const self = certificateRotation('rotate-1', 'virtual-mesh', { state: 'ROTATING' });
    const selfNext = certificateRotation('rotate-1', 'virtual-mesh', { state: 'VERIFYING' });
    expect(
      (await h.send('/validate', review('CertificateRotation', 'UPDATE', selfNext, self, { subResource: 'status' })))
        .allowed,
    ).toBe(true);
    // once the first one finishes, a new one is admitted
    rotations.set([certificateRotation('rotate-1', 'virtual-mesh', { state: 'FINISHED' })]);
    expect(
      (
        await h.send(
          '/validate',
          review('CertificateRotation', 'CREATE', certificateRotation('rotate-2', 'virtual-mesh')),
        )
      ).allowed,
    ).toBe(true);
    rotations.set([]);
  });
});

describe('malformed requests inside a review', () => {
  it('denies with code 400 and echoes the uid', async () => {
    const base = review('IssuedCertificate', 'CREATE', issuedCertificate());
    const cases: [string, (r: Record<string, unknown>) => void][] = [
      ['request.operation', (r) => (r.operation = 'PATCH')],
      ['request.kind', (r) => (r.kind = { group: 'apps', version: 'v1', kind: 'Deployment' })],
      ['request.kind', (r) => (r.kind = 'IssuedCertificate')],
      ['request.object', (r) => (r.object = 'not an object')],
      ['request.object', (r) => (r.object = { ...issuedCertificate(), kind: 'CertificateRequest' })],
      ['request.subResource', (r) => (r.subResource = 'scale')],
      ['request.dryRun', (r) => (r.dryRun = 'yes')],
    ];
    for (const [field, mutate] of cases) {
      const bad = clone(base);
      mutate(bad.request);
      for (const path of ['/mutate', '/validate'] as const) {
        const r = await h.send(path, bad);
        expect(r.allowed, field).toBe(false);
        expect(r.status.code, field).toBe(400);
        expect(r.status.message, field).toContain(field);
      }
    }
    const deep = clone(base);
    let nest: unknown = 'leaf';
    for (let i = 0; i < 1000; i++) nest = [nest];
    (deep.request.object as { metadata: Record<string, unknown> }).metadata.extra = nest;
    for (const path of ['/mutate', '/validate'] as const) {
      const r = await h.send(path, deep);
      expect(r.status).toMatchObject({ code: 400 });
      expect(r.status.message).toContain('nested deeper than 100 levels');
    }
    // The same depth in spec, in oldObject, or in another request field is refused too.
    for (const place of ['spec', 'oldObject', 'userInfo'] as const) {
      const d = clone(base);
      if (place === 'spec') (d.request.object as { spec: Record<string, unknown> }).spec.extra = nest;
      else if (place === 'oldObject') d.request.oldObject = { ...(d.request.object as object), extra: nest };
      else d.request.userInfo = { extra: nest };
      const r = await h.send('/validate', d);
      expect(r.status?.message, place).toContain('nested deeper than 100 levels');
    }
    const upd = review('IssuedCertificate', 'UPDATE', issuedCertificate(), undefined);
    const r = await h.send('/validate', upd);
    expect(r.status.message).toContain('request.oldObject');
  });

  it('draws the depth line at 100 levels below the request, in object and oldObject alike', async () => {
    // request > object > metadata > x is level 3, so k arrays in x reach level k + 2.
    const nest = (k: number): unknown => {
      let v: unknown = 'leaf';
      for (let i = 0; i < k; i++) v = [v];
      return v;
    };
    for (const where of ['object', 'oldObject'] as const) {
      for (const [k, denied] of [
        [97, false],
        [98, true],
      ] as const) {
        const ic = issuedCertificate();
        const old = issuedCertificate();
        ((where === 'object' ? ic : old).metadata as Record<string, unknown>).x = nest(k);
        const r = await h.send('/validate', review('IssuedCertificate', 'UPDATE', ic, old));
        expect(r.allowed, `${where} with ${k} arrays`).toBe(!denied);
        if (denied) expect(r.status.message).toContain('nested deeper than 100 levels');
      }
    }
  });

  it('leaves the depth of metadata.managedFields to the apiserver: nothing reads it, even when patching', async () => {
    // managedFields is the apiserver's (its JSON decoder allows 10000 levels). 8000 levels would
    // overflow structuredClone or JSON.stringify if anything walked them; nothing may.
    const levels = 8000;
    const ic = issuedCertificate('cluster-1', { org: 'legacy-org' });
    const old = issuedCertificate();
    for (const o of [ic, old])
      (o.metadata as Record<string, unknown>).managedFields = [
        { manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: 'DEEP' },
      ];
    const body = review('IssuedCertificate', 'UPDATE', ic, old);
    const text = JSON.stringify(body).replaceAll('"DEEP"', `${'{"f:x":'.repeat(levels)}{}${'}'.repeat(levels)}`);
    for (const path of ['/mutate', '/validate'] as const) {
      const res = await h.raw(path, text, { 'content-type': 'application/json' });
      expect(res.status, res.text.slice(0, 300)).toBe(200);
      const r = res.json.response;
      expect(r.uid).toBe(body.request.uid);
      expect(r.allowed, res.text.slice(0, 300)).toBe(true);
      expect(r.warnings.join('\n')).toContain('spec.org is deprecated');
      if (path === '/mutate')
        expect(patchOf(r)).toEqual([{ op: 'add', path: '/spec/certOptions/orgName', value: 'legacy-org' }]);
    }
    // The same depth anywhere else in metadata is still refused.
    const elsewhere = text.replace('"managedFields":', '"ownerReferences":');
    const res = await h.raw('/validate', elsewhere, { 'content-type': 'application/json' });
    expect(res.json.response.status.message).toContain('nested deeper than 100 levels');
  });
});
