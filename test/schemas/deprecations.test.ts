import { describe, expect, it } from 'vitest';
import {
  DEPRECATIONS,
  deprecationPatch,
  deprecationWarnings,
  validateObject,
  type JsonPatchOp,
} from '#schemas/src/index.js';

type Obj = Record<string, any>;
const ic = (spec: Obj): Obj => ({
  apiVersion: 'certificates.mesh.gloo.solo.io/v1',
  kind: 'IssuedCertificate',
  metadata: { name: 'a', namespace: 'b' },
  spec,
});
const ref = { name: 'virtual-mesh', namespace: 'gloo-mesh' };

/** A strict RFC 6902 applier for add/replace: fails where a real apiserver would. */
function apply(obj: Obj, patch: JsonPatchOp[]): Obj {
  const out = structuredClone(obj);
  for (const op of patch) {
    const segs = op.path
      .slice(1)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let parent: any = out;
    for (const s of segs.slice(0, -1)) {
      if (parent === null || typeof parent !== 'object' || !(s in parent))
        throw new Error(`path ${op.path}: missing parent ${s}`);
      parent = parent[s];
    }
    const last = segs[segs.length - 1]!;
    if (op.op === 'replace' && !(last in parent)) throw new Error(`replace of missing ${op.path}`);
    if (op.op !== 'add' && op.op !== 'replace') throw new Error(`unexpected op ${op.op}`);
    parent[last] = structuredClone(op.value);
  }
  return out;
}

describe('deprecated-field table', () => {
  it('lists the deprecated-field mappings of the contract', () => {
    expect(DEPRECATIONS.map((d) => [d.kind, d.deprecated.join('.'), d.replacement?.join('.') ?? null])).toEqual([
      ['IssuedCertificate', 'spec.org', 'spec.certOptions.orgName'],
      ['IssuedCertificate', 'spec.signingCertificateSecret', 'spec.glooMeshCa.signingCertificateSecret'],
      ['VirtualMeshCertificateSigningRequest', 'spec.certConfig.org', null],
    ]);
  });
});

describe('deprecationPatch', () => {
  it('copies org onto a missing certOptions by adding the whole parent', () => {
    const obj = ic({ org: 'acme' });
    const r = deprecationPatch(obj);
    expect(r.patch).toEqual([{ op: 'add', path: '/spec/certOptions', value: { orgName: 'acme' } }]);
    expect(r.warnings).toEqual([
      'spec.org is deprecated: copied to spec.certOptions.orgName; set spec.certOptions.orgName instead',
    ]);
    const patched = apply(obj, r.patch);
    expect(patched.spec).toEqual({ org: 'acme', certOptions: { orgName: 'acme' } });
    expect(validateObject(patched)).toEqual([]);
  });

  it('adds only the field when the parent exists, and keeps the old field', () => {
    const obj = ic({ org: 'acme', certOptions: { ttlDays: 30 } });
    const r = deprecationPatch(obj);
    expect(r.patch).toEqual([{ op: 'add', path: '/spec/certOptions/orgName', value: 'acme' }]);
    expect(apply(obj, r.patch).spec).toEqual({ org: 'acme', certOptions: { ttlDays: 30, orgName: 'acme' } });
  });

  it('replaces an empty replacement (proto zero value) rather than adding over it', () => {
    const obj = ic({ org: 'acme', certOptions: { orgName: '' } });
    const r = deprecationPatch(obj);
    expect(r.patch).toEqual([{ op: 'replace', path: '/spec/certOptions/orgName', value: 'acme' }]);
    expect(apply(obj, r.patch).spec.certOptions.orgName).toBe('acme');
  });

  it('maps signingCertificateSecret onto glooMeshCa, creating it', () => {
    const obj = ic({ signingCertificateSecret: ref });
    const r = deprecationPatch(obj);
    expect(r.patch).toEqual([{ op: 'add', path: '/spec/glooMeshCa', value: { signingCertificateSecret: ref } }]);
    expect(validateObject(apply(obj, r.patch))).toEqual([]);
  });

  it('maps both fields in one patch that applies in order', () => {
    const obj = ic({ org: 'acme', signingCertificateSecret: ref, glooMeshCa: {} });
    const r = deprecationPatch(obj);
    expect(r.patch).toEqual([
      { op: 'add', path: '/spec/certOptions', value: { orgName: 'acme' } },
      { op: 'add', path: '/spec/glooMeshCa/signingCertificateSecret', value: ref },
    ]);
    expect(r.warnings).toHaveLength(2);
    expect(apply(obj, r.patch).spec.glooMeshCa).toEqual({ signingCertificateSecret: ref });
  });

  it('patches nothing when both are set, equal or not: validation warns about those', () => {
    for (const spec of [
      {
        org: 'gloo-mesh',
        certOptions: { orgName: 'gloo-mesh' },
        signingCertificateSecret: ref,
        glooMeshCa: { signingCertificateSecret: { namespace: 'gloo-mesh', name: 'virtual-mesh' } },
      },
      {
        org: 'Istio',
        certOptions: { orgName: 'acme' },
        signingCertificateSecret: ref,
        glooMeshCa: { signingCertificateSecret: { name: 'other' } },
      },
    ]) {
      expect(deprecationPatch(ic(spec))).toEqual({ patch: [], warnings: [] });
    }
  });

  it('never patches an object a Gloo Mesh controller owns: one warning per field it would have copied', () => {
    const r = deprecationPatch(ic({ org: 'Istio', signingCertificateSecret: ref }), {
      ownerLabel: 'owner.networking.mesh.gloo.solo.io',
    });
    expect(r.patch).toEqual([]);
    expect(r.warnings).toEqual([
      'spec.org is deprecated: not copied to spec.certOptions.orgName, since a Gloo Mesh controller owns this IssuedCertificate (label owner.networking.mesh.gloo.solo.io) and writes only spec.org',
      'spec.signingCertificateSecret is deprecated: not copied to spec.glooMeshCa.signingCertificateSecret, since a Gloo Mesh controller owns this IssuedCertificate (label owner.networking.mesh.gloo.solo.io) and writes only spec.signingCertificateSecret',
    ]);
  });

  it('does not map signingCertificateSecret while an agent CA is configured (only one CA), and does not deny either', () => {
    expect(
      deprecationPatch(ic({ signingCertificateSecret: ref, agentCa: { vault: { server: 'https://vault:8200' } } })),
    ).toEqual({ patch: [], warnings: [] });
  });

  it('does nothing for objects without deprecated fields, other kinds, and zephyr certConfig.org', () => {
    for (const obj of [
      ic({ certOptions: { orgName: 'x' } }),
      ic({ org: '' }),
      {
        apiVersion: 'security.zephyr.solo.io/v1alpha1',
        kind: 'VirtualMeshCertificateSigningRequest',
        spec: { certConfig: { org: 'service-mesh-hub' } },
      },
      { apiVersion: 'certificates.mesh.gloo.solo.io/v1', kind: 'CertificateRequest', spec: { org: 'x' } },
      null,
      'text',
    ]) {
      expect(deprecationPatch(obj)).toEqual({ patch: [], warnings: [] });
      expect(deprecationWarnings(obj)).toEqual([]);
    }
  });
});

describe('deprecationWarnings (validation): every case admitted, each with one warning naming both fields', () => {
  it('both equal (as Gloo Mesh 1.1 writes them)', () => {
    expect(
      deprecationWarnings(
        ic({
          org: 'gloo-mesh',
          certOptions: { orgName: 'gloo-mesh' },
          signingCertificateSecret: ref,
          glooMeshCa: { signingCertificateSecret: { namespace: 'gloo-mesh', name: 'virtual-mesh' } },
        }),
      ),
    ).toEqual([
      'spec.org is deprecated: spec.certOptions.orgName is set to the same value and is the one read',
      'spec.signingCertificateSecret is deprecated: spec.glooMeshCa.signingCertificateSecret is set to the same value and is the one read',
    ]);
  });

  it('both set and different (org: Istio next to a VirtualMesh orgName): the replacement wins', () => {
    expect(
      deprecationWarnings(
        ic({
          org: 'Istio',
          certOptions: { orgName: 'acme' },
          signingCertificateSecret: ref,
          glooMeshCa: { signingCertificateSecret: { name: 'other' } },
        }),
      ),
    ).toEqual([
      'spec.org is deprecated and differs from spec.certOptions.orgName ("Istio" vs "acme"): spec.certOptions.orgName is the one read',
      'spec.signingCertificateSecret is deprecated and differs from spec.glooMeshCa.signingCertificateSecret ({"name":"virtual-mesh","namespace":"gloo-mesh"} vs {"name":"other"}): spec.glooMeshCa.signingCertificateSecret is the one read',
    ]);
  });

  it('old only (the mutating webhook did not copy: an owned object, or no mutating webhook)', () => {
    expect(deprecationWarnings(ic({ org: 'Istio' }))).toEqual([
      'spec.org is deprecated: set spec.certOptions.orgName instead (readers fall back to spec.org while it is unset)',
    ]);
  });

  it('old only next to an agent CA', () => {
    expect(
      deprecationWarnings(ic({ signingCertificateSecret: ref, agentCa: { vault: { server: 'https://vault:8200' } } })),
    ).toEqual([
      'spec.signingCertificateSecret is deprecated and cannot be copied to spec.glooMeshCa.signingCertificateSecret while spec.agentCa is set (one CA per certificate): remove spec.signingCertificateSecret',
    ]);
  });

  it('new only, or the zephyr org: nothing', () => {
    expect(
      deprecationWarnings(ic({ certOptions: { orgName: 'acme' }, glooMeshCa: { signingCertificateSecret: ref } })),
    ).toEqual([]);
    expect(
      deprecationWarnings({
        apiVersion: 'security.zephyr.solo.io/v1alpha1',
        kind: 'VirtualMeshCertificateSigningRequest',
        spec: { certConfig: { org: 'service-mesh-hub' } },
      }),
    ).toEqual([]);
  });
});
