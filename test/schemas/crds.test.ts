import { readFileSync, readdirSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KINDS, validateObject } from '#schemas/src/index.js';
import { generatedFiles } from '#schemas/src/generated-files.js';

type Obj = Record<string, any>;
const repo = new URL('../../', import.meta.url);
const read = (rel: string) => readFileSync(new URL(rel, repo), 'utf8');

describe('committed files equal what `npm run crds` writes', () => {
  const files = generatedFiles();

  it('writes one CRD and one JSON Schema per kind', () => {
    expect([...files.keys()].filter((f) => f.startsWith('manifests/crds/'))).toHaveLength(KINDS.length);
    expect([...files.keys()].filter((f) => f.startsWith('schemas/json/'))).toHaveLength(KINDS.length);
  });

  for (const [rel, content] of files) {
    it(rel, () => {
      expect(read(rel), `${rel} is stale: run npm run crds`).toBe(content);
    });
  }

  it('leaves no stray files in manifests/crds or schemas/json', () => {
    for (const dir of ['manifests/crds', 'schemas/json']) {
      for (const name of readdirSync(new URL(dir, repo)))
        expect(files.has(`${dir}/${name}`), `${dir}/${name}`).toBe(true);
    }
  });
});

function crdOf(plural: string, group: string): Obj {
  return parseYaml(read(`manifests/crds/${plural}.${group}.yaml`));
}

/** Walks a structural schema, calling visit(node, path) on every node. */
function walk(node: Obj, path: string, visit: (n: Obj, p: string) => void): void {
  visit(node, path);
  for (const [k, v] of Object.entries<Obj>(node.properties ?? {})) walk(v, `${path}.${k}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
  if (node.additionalProperties && typeof node.additionalProperties === 'object')
    walk(node.additionalProperties, `${path}[*]`, visit);
}

const ALLOWED_KEYS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'enum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'minimum',
  'maximum',
  'format',
  'additionalProperties',
  'maxProperties',
  'x-kubernetes-validations',
]);

for (const info of KINDS) {
  describe(`CRD ${info.plural}.${info.group}`, () => {
    const crd = crdOf(info.plural, info.group);
    const version = crd.spec.versions[0];
    const schema: Obj = version.schema.openAPIV3Schema;

    it('names the kind as the registry does', () => {
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(crd.kind).toBe('CustomResourceDefinition');
      expect(crd.metadata.name).toBe(`${info.plural}.${info.group}`);
      expect(crd.spec.group).toBe(info.group);
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names).toEqual({
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.singular,
        shortNames: info.shortNames,
        categories: ['mesh-cert'],
      });
      expect(crd.spec.versions).toHaveLength(1);
      expect(version).toMatchObject({ name: info.version, served: true, storage: true, subresources: { status: {} } });
    });

    it('is structural: every node typed, nothing preserved, only structural keywords, every string and list bounded', () => {
      let nodes = 0;
      walk(schema, '', (n, p) => {
        nodes++;
        expect(typeof n.type, `${p} has no type`).toBe('string');
        for (const k of Object.keys(n)) expect(ALLOWED_KEYS.has(k), `${p} uses ${k}`).toBe(true);
        if (n.type === 'string' && !['.apiVersion', '.kind'].includes(p))
          expect(n.maxLength ?? n.enum, `${p} string without maxLength`).toBeDefined();
        if (n.type === 'array') expect(n.maxItems, `${p} list without maxItems`).toBeDefined();
        if (n.type === 'object' && n.additionalProperties)
          expect(n.maxProperties, `${p} map without maxProperties`).toBeDefined();
        if (n.type === 'object' && p !== '.metadata')
          expect(n.properties ?? n.additionalProperties, `${p} object without fields`).toBeDefined();
        if (n.required)
          for (const r of n.required) expect(n.properties?.[r], `${p} requires undeclared ${r}`).toBeDefined();
      });
      expect(JSON.stringify(crd)).not.toContain('x-kubernetes-preserve-unknown-fields');
      expect(nodes).toBeGreaterThan(5);
    });

    it('keeps bytes fields as base64 strings', () => {
      const bytes: string[] = [];
      walk(schema, '', (n, p) => {
        if (n.format === 'byte') bytes.push(p);
      });
      const expected: Record<string, string[]> = {
        IssuedCertificate: ['.spec.agentCa.vault.caBundle', '.status.appliedAgentCa.vault.caBundle'],
        CertificateRequest: [
          '.spec.certificateSigningRequest',
          '.status.signedCertificate',
          '.status.signingRootCa',
          '.status.certChain',
        ],
        CertificateRotation: [],
        PodBounceDirective: [],
        VirtualMeshCertificateSigningRequest: [
          '.spec.csrData',
          '.status.response.caCertificate',
          '.status.response.rootCertificate',
        ],
      };
      expect(bytes).toEqual(expected[info.kind]);
    });

    it('points every rule fieldPath at a declared field', () => {
      for (const rule of schema['x-kubernetes-validations'] ?? []) {
        if (!rule.fieldPath) continue;
        let node: Obj | undefined = schema;
        for (const seg of String(rule.fieldPath).slice(1).split('.')) node = node?.properties?.[seg];
        expect(node, rule.fieldPath).toBeDefined();
        expect(rule.message ?? rule.messageExpression).toBeTruthy();
      }
    });

    it('prints state, observed generation and age', () => {
      const cols: Obj[] = version.additionalPrinterColumns;
      const byName = Object.fromEntries(cols.map((c) => [c.name, c]));
      expect(byName.Age).toEqual({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
      if (['IssuedCertificate', 'CertificateRequest', 'CertificateRotation'].includes(info.kind)) {
        expect(byName.State).toMatchObject({ type: 'string', jsonPath: '.status.state' });
        expect(byName.ObservedGeneration).toMatchObject({ type: 'integer', jsonPath: '.status.observedGeneration' });
      }
      if (info.kind === 'CertificateRotation')
        expect(byName.VirtualMesh).toMatchObject({ type: 'string', jsonPath: '.spec.virtualMesh.name' });
      if (info.kind === 'VirtualMeshCertificateSigningRequest')
        expect(byName.Approval).toMatchObject({ jsonPath: '.status.thirdPartyApproval.approvalStatus' });
      // Every column reads a declared field.
      for (const c of cols) {
        if (c.jsonPath.startsWith('.metadata')) continue;
        let node: Obj | undefined = schema;
        for (const seg of c.jsonPath.slice(1).split('.')) node = node?.properties?.[seg];
        expect(node?.type, c.jsonPath).toBe(c.type === 'date' ? 'string' : c.type);
      }
    });

    it('has a JSON Schema file that validates like validateObject', () => {
      const json = JSON.parse(read(`schemas/json/${info.group}_${info.version}_${info.kind}.json`));
      expect(json.properties.apiVersion.const).toBe(`${info.group}/${info.version}`);
      expect(json.properties.kind.const).toBe(info.kind);
      expect(json.additionalProperties).toBe(false);
      expect(
        validateObject({ apiVersion: `${info.group}/${info.version}`, kind: info.kind, metadata: { name: 'x' } }),
      ).toEqual([]);
    });
  });
}
