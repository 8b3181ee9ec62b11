// The ownership table (objects Gloo Mesh's controllers own) and the policy table (values the
// protos allow but mesh-cert advises against): data, read by generic code.
import { describe, expect, it } from 'vitest';
import {
  GLOO_MESH_OWNER_LABELS,
  KINDS,
  POLICY,
  glooMeshOwnerLabel,
  ownedByGlooMesh,
  policyWarnings,
} from '#schemas/src/index.js';

const obj = (kind: string, labels?: unknown, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'x/v1',
  kind,
  metadata: labels === undefined ? { name: 'n' } : { name: 'n', labels },
  spec,
});

describe('GLOO_MESH_OWNER_LABELS', () => {
  it('lists the owner labels of Gloo Mesh: the translator owns IssuedCertificates and PodBounceDirectives, the agent CertificateRequests', () => {
    expect(GLOO_MESH_OWNER_LABELS).toEqual({
      IssuedCertificate: ['owner.networking.mesh.gloo.solo.io'],
      PodBounceDirective: ['owner.networking.mesh.gloo.solo.io'],
      CertificateRequest: ['agent.certificates.mesh.gloo.solo.io'],
    });
    for (const kind of Object.keys(GLOO_MESH_OWNER_LABELS)) expect(KINDS.map((k) => k.kind)).toContain(kind);
  });

  it('owns an object by the presence of the label, whatever its value', () => {
    for (const value of ['gloo-mesh', 'istio-system', '']) {
      expect(
        ownedByGlooMesh('IssuedCertificate', obj('IssuedCertificate', { 'owner.networking.mesh.gloo.solo.io': value })),
      ).toBe(true);
      expect(
        ownedByGlooMesh(
          'PodBounceDirective',
          obj('PodBounceDirective', { 'owner.networking.mesh.gloo.solo.io': value }),
        ),
      ).toBe(true);
      expect(
        ownedByGlooMesh(
          'CertificateRequest',
          obj('CertificateRequest', { 'agent.certificates.mesh.gloo.solo.io': value }),
        ),
      ).toBe(true);
    }
    expect(
      glooMeshOwnerLabel(
        'CertificateRequest',
        obj('CertificateRequest', { 'agent.certificates.mesh.gloo.solo.io': 'gloo-mesh' }),
      ),
    ).toBe('agent.certificates.mesh.gloo.solo.io');
  });

  it("does not own by another kind's label, another label, or none", () => {
    expect(
      ownedByGlooMesh(
        'IssuedCertificate',
        obj('IssuedCertificate', { 'agent.certificates.mesh.gloo.solo.io': 'gloo-mesh' }),
      ),
    ).toBe(false);
    expect(
      ownedByGlooMesh(
        'CertificateRequest',
        obj('CertificateRequest', { 'owner.networking.mesh.gloo.solo.io': 'gloo-mesh' }),
      ),
    ).toBe(false);
    expect(
      ownedByGlooMesh(
        'CertificateRotation',
        obj('CertificateRotation', { 'owner.networking.mesh.gloo.solo.io': 'gloo-mesh' }),
      ),
    ).toBe(false);
    expect(
      ownedByGlooMesh(
        'VirtualMeshCertificateSigningRequest',
        obj('VirtualMeshCertificateSigningRequest', { 'owner.networking.mesh.gloo.solo.io': 'x' }),
      ),
    ).toBe(false);
    for (const labels of [
      undefined,
      {},
      { app: 'x' },
      null,
      'owner.networking.mesh.gloo.solo.io',
      ['owner.networking.mesh.gloo.solo.io'],
    ]) {
      expect(ownedByGlooMesh('IssuedCertificate', obj('IssuedCertificate', labels)), JSON.stringify(labels)).toBe(
        false,
      );
    }
    expect(ownedByGlooMesh('IssuedCertificate', null)).toBe(false);
    expect(ownedByGlooMesh('IssuedCertificate', { metadata: 'x' })).toBe(false);
  });
});

describe('POLICY', () => {
  const ic = (certOptions: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    obj('IssuedCertificate', undefined, { certOptions, ...extra });

  it('warns below 2048 key bits, above 100 years, outside [0, 1], beyond 64 characters of O', () => {
    expect(policyWarnings('IssuedCertificate', ic({ rsaKeySizeBytes: 1024 }))).toEqual([
      "spec.certOptions.rsaKeySizeBytes: 1024 is below 2048: RSA keys below 2048 bits are too weak (NIST SP 800-131A); mesh-cert's agent will not generate one; admitted all the same",
    ]);
    expect(policyWarnings('IssuedCertificate', ic({ ttlDays: 40000, secretRotationGracePeriodRatio: -0.1 }))).toEqual([
      'spec.certOptions.ttlDays: 40000 is above 36500: a validity of more than 100 years outlives any rotation plan; admitted all the same',
      'spec.certOptions.secretRotationGracePeriodRatio: -0.1 is below 0: it is the fraction of the validity left when the certificate is renewed (0.10 by default); admitted all the same',
    ]);
    expect(
      policyWarnings('IssuedCertificate', ic({ orgName: '\u{1F512}'.repeat(65) }, { org: 'o'.repeat(65) })),
    ).toHaveLength(2);
    expect(
      policyWarnings(
        'VirtualMeshCertificateSigningRequest',
        obj('VirtualMeshCertificateSigningRequest', undefined, { certConfig: { org: 'o'.repeat(65) } }),
      ),
    ).toHaveLength(1);
  });

  it('is quiet within policy, at the edges, for the proto defaults (0) and for what the schema judges', () => {
    for (const certOptions of [
      { rsaKeySizeBytes: 0, ttlDays: 0, secretRotationGracePeriodRatio: 0 },
      { rsaKeySizeBytes: 2048, ttlDays: 36500, secretRotationGracePeriodRatio: 1 },
      { rsaKeySizeBytes: 8192, ttlDays: 365, orgName: '\u{1F512}'.repeat(64) },
      { rsaKeySizeBytes: '1024', ttlDays: null },
      {},
    ]) {
      expect(policyWarnings('IssuedCertificate', ic(certOptions)), JSON.stringify(certOptions)).toEqual([]);
    }
    expect(policyWarnings('IssuedCertificate', obj('IssuedCertificate'))).toEqual([]);
    expect(policyWarnings('CertificateRequest', ic({ rsaKeySizeBytes: 1 }))).toEqual([]);
    expect(policyWarnings('IssuedCertificate', null)).toEqual([]);
  });

  it('names only fields of its kinds', () => {
    for (const r of POLICY) expect(KINDS.map((k) => k.kind)).toContain(r.kind);
  });
});
