import { describe, expect, it } from 'vitest';
import { DEPRECATIONS, deprecationPatch, formatFieldError, validateObject, type JsonPatchOp } from '../../schemas/src/index.js';

type Obj = Record<string, any>;
const ic = (spec: Obj): Obj => ({ apiVersion: 'certificates.mesh.gloo.solo.io/v1', kind: 'IssuedCertificate', metadata: { name: 'a', namespace: 'b' }, spec });
const ref = { name: 'virtual-mesh', namespace: 'gloo-mesh' };

/** A strict RFC 6902 applier for add/replace: fails where a real apiserver would. */
function apply(obj: Obj, patch: JsonPatchOp[]): Obj {
  const out = structuredClone(obj);
  for (const op of patch) {
    const segs = op.path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let parent: any = out;
    for (const s of segs.slice(0, -1)) {
      if (parent === null || typeof parent !== 'object' || !(s in parent)) throw new Error(`path ${op.path}: missing parent ${s}`);
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
  it('lists the mappings of API.md', () => {
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
    expect(r.conflicts).toEqual([]);
    expect(r.warnings).toEqual(['spec.org is deprecated: copied to spec.certOptions.orgName; set spec.certOptions.orgName instead']);
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

  it('patches nothing but still warns when both are set to the same value (as Gloo Mesh writes)', () => {
    const r = deprecationPatch(ic({ org: 'gloo-mesh', certOptions: { orgName: 'gloo-mesh' }, signingCertificateSecret: ref, glooMeshCa: { signingCertificateSecret: { namespace: 'gloo-mesh', name: 'virtual-mesh' } } }));
    expect(r.patch).toEqual([]);
    expect(r.conflicts).toEqual([]);
    expect(r.warnings).toEqual([
      'spec.org is deprecated: spec.certOptions.orgName is set to the same value and is the one read',
      'spec.signingCertificateSecret is deprecated: spec.glooMeshCa.signingCertificateSecret is set to the same value and is the one read',
    ]);
  });

  it('denies when both are set and differ', () => {
    const r = deprecationPatch(ic({ org: 'acme', certOptions: { orgName: 'gloo-mesh' }, signingCertificateSecret: ref, glooMeshCa: { signingCertificateSecret: { name: 'other' } } }));
    expect(r.patch).toEqual([]);
    expect(r.conflicts.map(formatFieldError)).toEqual([
      'spec.org: Invalid value: "acme": conflicts with spec.certOptions.orgName ("gloo-mesh"); spec.org is deprecated: set only spec.certOptions.orgName, or both to the same value',
      expect.stringMatching(/^spec\.signingCertificateSecret: Invalid value: .*conflicts with spec\.glooMeshCa\.signingCertificateSecret/),
    ]);
  });

  it('refuses to map signingCertificateSecret while an agent CA is configured (only one CA)', () => {
    const r = deprecationPatch(ic({ signingCertificateSecret: ref, agentCa: { vault: { server: 'https://vault:8200' } } }));
    expect(r.patch).toEqual([]);
    expect(r.conflicts.map(formatFieldError)).toEqual([
      'spec.signingCertificateSecret: Forbidden: is deprecated and cannot be mapped onto spec.glooMeshCa.signingCertificateSecret while spec.agentCa is set (only one CA may be configured)',
    ]);
  });

  it('does nothing for objects without deprecated fields, other kinds, and zephyr certConfig.org', () => {
    for (const obj of [
      ic({ certOptions: { orgName: 'x' } }),
      ic({ org: '' }),
      { apiVersion: 'security.zephyr.solo.io/v1alpha1', kind: 'VirtualMeshCertificateSigningRequest', spec: { certConfig: { org: 'service-mesh-hub' } } },
      { apiVersion: 'certificates.mesh.gloo.solo.io/v1', kind: 'CertificateRequest', spec: { org: 'x' } },
      null,
      'text',
    ]) {
      expect(deprecationPatch(obj)).toEqual({ patch: [], warnings: [], conflicts: [] });
    }
  });
});
