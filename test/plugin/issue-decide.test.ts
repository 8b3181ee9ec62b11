// The agent/issuer decisions and the signing plan as pure functions: every recorded state maps
// to exactly one next write, which is what makes an interrupted run resumable.
import { describe, expect, it } from 'vitest';
import { decideAgent, decideIssuer } from '../../plugin/src/engine/issuance/decide.js';
import { signingPlan } from '../../plugin/src/engine/issuance/signing-plan.js';
import { ANN_FOR_GENERATION, ANN_ROTATION_ROOTS } from '../../plugin/src/engine/resources.js';
import type { CertificateRequest, IssuedCertificate, IssuedState, Secret } from '../../plugin/src/engine/objects.js';
import { issuedSecretData, issuedSecretRef } from '../../plugin/src/engine/issuance/agent.js';
import { createCsr, createRootCa, signIntermediate } from '#schemas/x509/index.js';
import { generateKeyPairSync } from 'node:crypto';

const b64 = (s: string) => Buffer.from(s).toString('base64');
// Real material: the agent judges an issued Secret by what it would write from the signed request.
const pem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ROOT_KEY = pem();
const ROOT_PEM = createRootCa({ privateKeyPem: ROOT_KEY, subject: { O: 'test', CN: 'decide root' }, ttlDays: 30 });
const AGENT_KEY = pem();
const SIGNED = signIntermediate({
  csrPem: createCsr({ privateKeyPem: AGENT_KEY, subject: { O: 'test', OU: 'c' }, hosts: [] }),
  issuerCertPem: ROOT_PEM,
  issuerKeyPem: ROOT_KEY,
  hosts: [],
  ttlDays: 10,
});

function ic(
  state: IssuedState | undefined,
  gen = 2,
  observed = 2,
  spec: Partial<IssuedCertificate['spec']> = {},
): IssuedCertificate {
  return {
    metadata: { name: 'c', namespace: 'istio-system', generation: gen, uid: 'u1' },
    spec: {
      hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod'],
      glooMeshCa: { signingCertificateSecret: { name: 'root', namespace: 'gloo-mesh' } },
      ...spec,
    },
    status: state ? { state, observedGeneration: observed } : undefined,
  };
}
const keyFor = (gen: number): Secret => ({
  metadata: { name: 'c', annotations: { [ANN_FOR_GENERATION]: String(gen) } },
  data: { 'private-key': b64(AGENT_KEY) },
});
function cr(gen: number, status?: CertificateRequest['status'], crGen = 1): CertificateRequest {
  return {
    metadata: { name: 'c', generation: crGen, annotations: { [ANN_FOR_GENERATION]: String(gen) } },
    spec: { certificateSigningRequest: b64('csr') },
    status,
  };
}
const issued = (request: CertificateRequest): Secret => ({
  metadata: { name: 'cacerts' },
  data: issuedSecretData(request, AGENT_KEY),
});

describe('decideAgent', () => {
  it('starts a fresh certificate by generating a key, then requesting, then marking REQUESTED', () => {
    expect(decideAgent({ ic: ic(undefined, 1, 0) }).type).toBe('generate-key');
    expect(decideAgent({ ic: ic('PENDING', 2), keySecret: keyFor(2) }).type).toBe('request');
    expect(decideAgent({ ic: ic('PENDING', 2), keySecret: keyFor(2), request: cr(2) }).type).toBe('mark-requested');
  });

  it('never generates a new key when the key for this generation exists (resume after a kill)', () => {
    expect(decideAgent({ ic: ic('PENDING', 2), keySecret: keyFor(2), request: cr(1) }).type).toBe('request');
    expect(decideAgent({ ic: ic('FAILED', 2), keySecret: keyFor(2), request: cr(2) }).type).toBe('mark-requested');
    // a key of an older generation is not reused
    expect(decideAgent({ ic: ic('PENDING', 3, 3), keySecret: keyFor(2), request: cr(2) }).type).toBe('generate-key');
  });

  it('waits for the issuer, then writes the issued Secret, then ISSUED, then FINISHED', () => {
    const base = { ic: ic('REQUESTED'), keySecret: keyFor(2) };
    expect(decideAgent({ ...base, request: cr(2) }).type).toBe('await-signature');
    // a stale FINISHED answer (for the previous CSR) is not an answer
    expect(
      decideAgent({
        ...base,
        request: cr(2, { state: 'FINISHED', observedGeneration: 1, signedCertificate: b64(SIGNED) }, 2),
      }).type,
    ).toBe('await-signature');
    const done = cr(2, {
      state: 'FINISHED',
      observedGeneration: 1,
      signedCertificate: b64(SIGNED),
      signingRootCa: b64(ROOT_PEM),
    });
    expect(decideAgent({ ...base, request: done }).type).toBe('write-issued-secret');
    expect(decideAgent({ ...base, request: done, issuedSecret: issued(done) }).type).toBe('mark-issued');
    expect(
      decideAgent({ ic: ic('ISSUED'), keySecret: keyFor(2), request: done, issuedSecret: issued(done) }).type,
    ).toBe('finish');
    expect(
      decideAgent({
        ic: ic('ISSUED', 2, 2, { podBounceDirective: { name: 'p', namespace: 'istio-system' } }),
        keySecret: keyFor(2),
        request: done,
        issuedSecret: issued(done),
      }).type,
    ).toBe('bounce-and-finish');
    expect(decideAgent({ ic: ic('FINISHED') }).type).toBe('done');
    // a Secret holding the signed certificate but also a key Istio would prefer is written again
    const stale = issued(done);
    stale.data = { ...stale.data, 'tls.crt': b64(SIGNED) };
    expect(decideAgent({ ...base, request: done, issuedSecret: stale }).type).toBe('write-issued-secret');
  });

  it('fails with the issuer error when the request failed', () => {
    const a = decideAgent({
      ic: ic('REQUESTED'),
      keySecret: keyFor(2),
      request: cr(2, { state: 'FAILED', observedGeneration: 1, error: 'signing Secret gloo-mesh/root not found' }),
    });
    expect(a).toEqual({
      type: 'fail',
      error: 'CertificateRequest: signing Secret gloo-mesh/root not found',
      retry: false,
    });
  });

  it('restarts a finished certificate whose spec changed (new generation)', () => {
    expect(decideAgent({ ic: ic('FINISHED', 3, 2) }).type).toBe('restart');
    expect(decideAgent({ ic: ic('REQUESTED', 3, 2) }).type).toBe('restart');
    // PENDING/FAILED go straight on with a key for the new generation
    expect(decideAgent({ ic: ic('FAILED', 3, 2), keySecret: keyFor(2) }).type).toBe('generate-key');
  });

  it('repairs a lost key by failing with retry (FAILED -> new key), never by reusing a CSR without its key', () => {
    const a = decideAgent({ ic: ic('REQUESTED'), request: cr(2) });
    expect(a.type).toBe('fail');
    expect(a.type === 'fail' && a.retry).toBe(true);
  });

  it('refuses Vault (agentCa)', () => {
    const a = decideAgent({ ic: ic('PENDING', 1, 1, { agentCa: { vault: {} } }) });
    expect(a.type === 'fail' && a.error).toMatch(/spec\.agentCa/);
  });
});

describe('decideIssuer', () => {
  it('signs a request not answered for its current CSR, including a failed one', () => {
    expect(decideIssuer(cr(2)).type).toBe('sign');
    expect(decideIssuer(cr(2, { state: 'FINISHED', observedGeneration: 1 }, 2)).type).toBe('sign');
    expect(decideIssuer(cr(2, { state: 'FAILED', observedGeneration: 1, error: 'x' })).type).toBe('sign');
    expect(decideIssuer(cr(2, { state: 'FINISHED', observedGeneration: 1 })).type).toBe('none');
    expect(decideIssuer(undefined).type).toBe('none');
  });
});

describe('signingPlan', () => {
  const roots = { old: { name: 'old', namespace: 'gloo-mesh' }, new: { name: 'new', namespace: 'gloo-mesh' } };
  const rotating = (rotationState: NonNullable<IssuedCertificate['spec']['rotationState']>) => {
    const o = ic('FINISHED', 2, 2, { rotationState });
    o.metadata.annotations = { [ANN_ROTATION_ROOTS]: JSON.stringify(roots) };
    return o;
  };
  it('outside a rotation signs and trusts the certificate’s own signing Secret (deprecated field as fallback)', () => {
    expect(signingPlan(ic('PENDING'))).toEqual({
      signer: { name: 'root', namespace: 'gloo-mesh' },
      trust: [{ name: 'root', namespace: 'gloo-mesh' }],
      bridgeRootPems: [],
    });
    const dep = ic('PENDING', 1, 1, {
      glooMeshCa: undefined,
      signingCertificateSecret: { name: 'legacy', namespace: 'x' },
    });
    expect(signingPlan(dep)).toEqual({
      signer: { name: 'legacy', namespace: 'x' },
      trust: [{ name: 'legacy', namespace: 'x' }],
      bridgeRootPems: [],
    });
    expect(signingPlan(ic('PENDING', 1, 1, { glooMeshCa: undefined }))).toHaveProperty('error');
  });
  it('follows the multi-root table', () => {
    expect(signingPlan(rotating('ADDING_NEW_ROOT'))).toEqual({
      signer: roots.old,
      trust: [roots.old, roots.new],
      bridgeRootPems: [],
    });
    expect(signingPlan(rotating('PROPAGATING_NEW_INTERMEDIATE'))).toEqual({
      signer: roots.new,
      trust: [roots.new, roots.old],
      bridgeRootPems: [],
    });
    expect(signingPlan(rotating('DELETING_OLD_ROOT'))).toEqual({
      signer: roots.new,
      trust: [roots.new],
      bridgeRootPems: [],
    });
    expect(signingPlan(rotating('ROLLING_BACK'))).toEqual({
      signer: roots.old,
      trust: [roots.old, roots.new],
      bridgeRootPems: [],
    });
    expect(signingPlan(rotating('PREVIOUS_CA'))).toEqual({ signer: roots.old, trust: [roots.old], bridgeRootPems: [] });
  });
  it('names the missing annotation when a rotation step has no recorded roots', () => {
    const o = ic('PENDING', 1, 1, { rotationState: 'ADDING_NEW_ROOT' });
    expect(signingPlan(o)).toEqual({ error: expect.stringContaining(ANN_ROTATION_ROOTS) });
  });

  it("reads a signing Secret named without a namespace in the IssuedCertificate's own, and NOT_APPLICABLE as NOT_ROTATING", () => {
    const bare = ic('PENDING', 1, 1, {
      glooMeshCa: { signingCertificateSecret: { name: 'root' } },
      rotationState: 'NOT_APPLICABLE',
    });
    expect(signingPlan(bare)).toEqual({
      signer: { name: 'root', namespace: 'istio-system' },
      trust: [{ name: 'root', namespace: 'istio-system' }],
      bridgeRootPems: [],
    });
  });
});

describe('issuedSecretRef', () => {
  it('is the Secret the IssuedCertificate names, in its own namespace when it names none, else istio-system/cacerts', () => {
    expect(issuedSecretRef(ic('PENDING', 1, 1, { issuedCertificateSecret: { name: 'mine' } }))).toEqual({
      name: 'mine',
      namespace: 'istio-system',
    });
    expect(
      issuedSecretRef(ic('PENDING', 1, 1, { issuedCertificateSecret: { name: 'mine', namespace: 'other' } })),
    ).toEqual({ name: 'mine', namespace: 'other' });
    expect(issuedSecretRef(ic('PENDING'))).toEqual({ name: 'cacerts', namespace: 'istio-system' });
  });
});
