// Every CEL rule of the committed CRDs, evaluated with a real CEL implementation
// (@marcbachmann/cel-js) and compared with the tables and guards the webhook uses.
import { readFileSync } from 'node:fs';
import { Environment, evaluate, type ObjectSchema } from '@marcbachmann/cel-js';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  GUARDS,
  KINDS,
  STATE_MACHINES,
  isLegalMove,
  rootCelRules,
  validateUpdate,
  type CelRule,
  type GeneratedCelRule,
  type KindName,
} from '#schemas/src/index.js';

type Obj = Record<string, any>;

/** JSON as the apiserver hands it to CEL: integers are int64 (BigInt in cel-js). */
function toCel(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  return v;
}

function run(rule: string, self: unknown, oldSelf?: unknown): unknown {
  return evaluate(rule, oldSelf === undefined ? { self: toCel(self) } : { self: toCel(self), oldSelf: toCel(oldSelf) });
}

function crdOnDisk(kind: KindName): Obj {
  const info = KINDS.find((k) => k.kind === kind)!;
  return parseYaml(
    readFileSync(new URL(`../../manifests/crds/${info.plural}.${info.group}.yaml`, import.meta.url), 'utf8'),
  );
}

function rootRulesOnDisk(kind: KindName): CelRule[] {
  return crdOnDisk(kind).spec.versions[0].schema.openAPIV3Schema['x-kubernetes-validations'] ?? [];
}

/** The committed rules, paired with what each is for (the committed text must be the generated text). */
function rulesOf(kind: KindName): GeneratedCelRule[] {
  const generated = rootCelRules(kind);
  const onDisk = rootRulesOnDisk(kind);
  expect(onDisk.map((r) => r.rule)).toEqual(generated.map((r) => r.rule));
  return generated;
}

function setPath(obj: Obj, path: readonly string[], value: unknown): Obj {
  let cur = obj;
  for (const seg of path.slice(0, -1)) cur = cur[seg] ??= {};
  if (value === undefined) delete cur[path[path.length - 1]!];
  else cur[path[path.length - 1]!] = value;
  return obj;
}

const base = (kind: KindName): Obj => ({
  apiVersion: 'x/v1',
  kind,
  metadata: { name: 'n', namespace: 'ns', generation: 9 },
  spec: {},
});

describe('transition rules agree with the state tables for every pair of states', () => {
  for (const m of STATE_MACHINES) {
    it(`${m.kind} ${m.path.join('.')}`, () => {
      const rule = rulesOf(m.kind).find((r) => r.purpose.type === 'transition' && r.purpose.machine === m)!;
      expect(rule).toBeDefined();
      let evaluated = 0;
      for (const advances of [false, true]) {
        for (const from of m.states) {
          for (const to of m.states) {
            const froms = from === m.states[0] ? [from, undefined] : [from];
            const tos = to === m.states[0] ? [to, undefined] : [to];
            for (const f of froms) {
              for (const t of tos) {
                const oldObj = setPath(setPath(base(m.kind), ['status', 'observedGeneration'], 1), m.path, f);
                const newObj = setPath(
                  setPath(base(m.kind), ['status', 'observedGeneration'], advances ? 2 : 1),
                  m.path,
                  t,
                );
                const expected = isLegalMove(m, from, to, {
                  observedGenerationAdvances: advances && m.kind !== 'VirtualMeshCertificateSigningRequest',
                });
                expect(
                  run(rule.rule, newObj, oldObj),
                  `${f ?? '(omitted)'} → ${t ?? '(omitted)'} advances=${advances}`,
                ).toBe(expected);
                expect(run(rule.messageExpression!, newObj, oldObj)).toBe(
                  `${m.kind} cannot move ${m.path.join('.')} from ${from} to ${to}`,
                );
                evaluated++;
              }
            }
          }
        }
      }
      expect(evaluated).toBeGreaterThanOrEqual(2 * m.states.length ** 2);
    });
  }

  it('treats a missing status as the zero value', () => {
    const m = STATE_MACHINES.find((x) => x.kind === 'IssuedCertificate')!;
    const rule = rulesOf('IssuedCertificate').find((r) => r.purpose.type === 'transition')!;
    expect(run(rule.rule, setPath(base('IssuedCertificate'), m.path, 'REQUESTED'), base('IssuedCertificate'))).toBe(
      true,
    );
    expect(run(rule.rule, setPath(base('IssuedCertificate'), m.path, 'FINISHED'), base('IssuedCertificate'))).toBe(
      false,
    );
    expect(run(rule.rule, base('IssuedCertificate'), setPath(base('IssuedCertificate'), m.path, 'FAILED'))).toBe(true);
    expect(run(rule.rule, base('IssuedCertificate'), setPath(base('IssuedCertificate'), m.path, 'ISSUED'))).toBe(false);
  });

  it('agrees with validateUpdate on the same objects', () => {
    const m = STATE_MACHINES.find((x) => x.kind === 'CertificateRotation')!;
    const rule = rulesOf('CertificateRotation').find((r) => r.purpose.type === 'transition')!;
    for (const from of m.states) {
      for (const to of m.states) {
        const oldObj = setPath(setPath(base(m.kind), ['status', 'error'], 'e'), m.path, from);
        const newObj = setPath(setPath(base(m.kind), ['status', 'error'], 'e'), m.path, to);
        const webhookSays = validateUpdate(oldObj, newObj).filter((e) => e.path === 'status.state').length === 0;
        expect(run(rule.rule, newObj, oldObj), `${from}>${to}`).toBe(webhookSays);
      }
    }
  });
});

describe('guard rules agree with the guards', () => {
  it('FAILED needs a non-empty error (every kind with the guard, every state)', () => {
    let n = 0;
    for (const m of STATE_MACHINES) {
      for (const r of rulesOf(m.kind)) {
        if (r.purpose.type !== 'guard' || r.purpose.guard !== 'errorNotEmpty') continue;
        for (const state of m.states) {
          for (const error of [undefined, '', 'boom']) {
            const obj = setPath(setPath(base(m.kind), m.path, state), ['status', 'error'], error);
            const guardOk = state !== r.purpose.state || GUARDS.errorNotEmpty({ oldObj: {}, newObj: obj }).length === 0;
            expect(run(r.rule, obj), `${m.kind} ${state} ${String(error)}`).toBe(guardOk);
            n++;
          }
        }
      }
    }
    expect(n).toBe(3 * (5 + 3 + 5));
  });

  it('a VMCSR response may be set unless the request is DENIED (PENDING included, as zephyr signs)', () => {
    const r = rulesOf('VirtualMeshCertificateSigningRequest').find(
      (x) => x.purpose.type === 'guard' && x.purpose.guard === 'responseNotAfterDenial',
    )!;
    expect(r).toBeDefined();
    const approvals = [
      undefined,
      {},
      { approvalStatus: 'PENDING' },
      { approvalStatus: 'APPROVED' },
      { approvalStatus: 'DENIED' },
    ];
    for (const response of [undefined, {}, { caCertificate: 'AAAA' }]) {
      for (const approval of approvals) {
        const obj = setPath(
          setPath(base('VirtualMeshCertificateSigningRequest'), ['status', 'response'], response),
          ['status', 'thirdPartyApproval'],
          approval,
        );
        const guardOk = GUARDS.responseNotAfterDenial({ oldObj: {}, newObj: obj }).length === 0;
        expect(run(r.rule, obj), JSON.stringify(obj.status)).toBe(guardOk);
        expect(guardOk, JSON.stringify(obj.status)).toBe(
          response === undefined || approval?.approvalStatus !== 'DENIED',
        );
      }
    }
  });
});

describe('observedGeneration and immutability rules agree with validateUpdate', () => {
  it('observedGeneration never decreases (missing = 0)', () => {
    for (const kind of ['IssuedCertificate', 'CertificateRequest', 'CertificateRotation'] as const) {
      const r = rulesOf(kind).find((x) => x.purpose.type === 'observedGeneration')!;
      for (const before of [undefined, 0, 1, 2]) {
        for (const after of [undefined, 0, 1, 2]) {
          const oldObj = setPath(base(kind), ['status', 'observedGeneration'], before);
          const newObj = setPath(base(kind), ['status', 'observedGeneration'], after);
          const webhookOk = validateUpdate(oldObj, newObj).every((e) => e.path !== 'status.observedGeneration');
          expect(run(r.rule, newObj, oldObj), `${kind} ${String(before)}→${String(after)}`).toBe(webhookOk);
          expect(webhookOk).toBe((after ?? 0) >= (before ?? 0));
        }
      }
    }
  });

  it('CertificateRotation targets freeze once it leaves PENDING', () => {
    const rules = rulesOf('CertificateRotation').filter((x) => x.purpose.type === 'immutable');
    expect(rules.map((r) => (r.purpose.type === 'immutable' ? r.purpose.field.join('.') : ''))).toEqual([
      'spec.virtualMesh',
      'spec.newRootCaSecret',
    ]);
    const variants = [undefined, { name: 'a' }, { name: 'a', namespace: 'gloo-mesh' }, { name: 'b' }];
    for (const r of rules) {
      if (r.purpose.type !== 'immutable') continue;
      const field = r.purpose.field;
      for (const state of [undefined, 'PENDING', 'ROTATING', 'VERIFYING', 'FINISHED', 'FAILED']) {
        for (const before of variants) {
          for (const after of variants) {
            const oldObj = setPath(setPath(base('CertificateRotation'), ['status', 'state'], state), field, before);
            const newObj = setPath(setPath(base('CertificateRotation'), ['status', 'state'], state), field, after);
            const webhookOk = validateUpdate(oldObj, newObj).every((e) => e.path !== field.join('.'));
            expect(
              run(r.rule, newObj, oldObj),
              `${String(state)} ${JSON.stringify(before)}→${JSON.stringify(after)}`,
            ).toBe(webhookOk);
          }
        }
      }
    }
  });

  it('VMCSR csrData freezes once a response is set', () => {
    const r = rulesOf('VirtualMeshCertificateSigningRequest').find((x) => x.purpose.type === 'immutable')!;
    for (const response of [undefined, { rootCertificate: 'AAAA' }]) {
      for (const before of [undefined, 'QUFBQQ==', 'QkJCQg==']) {
        for (const after of [undefined, 'QUFBQQ==', 'QkJCQg==']) {
          const oldObj = setPath(
            setPath(base('VirtualMeshCertificateSigningRequest'), ['status', 'response'], response),
            ['spec', 'csrData'],
            before,
          );
          const newObj = setPath(
            setPath(base('VirtualMeshCertificateSigningRequest'), ['status', 'response'], response),
            ['spec', 'csrData'],
            after,
          );
          const webhookOk = validateUpdate(oldObj, newObj).every((e) => e.path !== 'spec.csrData');
          expect(run(r.rule, newObj, oldObj)).toBe(webhookOk);
          expect(webhookOk).toBe(response === undefined || before === after);
        }
      }
    }
  });
});

describe('oneof rules on nested schemas', () => {
  it('every x-exclusive group became a CEL rule that allows none or one', () => {
    let groups = 0;
    const walk = (node: Obj, at: string) => {
      for (const v of node['x-kubernetes-validations'] ?? []) {
        const fields = [...String(v.message).matchAll(/(\w+)(?:,|$| may)/g)]
          .map((m) => m[1]!)
          .filter((f) => node.properties?.[f]);
        expect(fields.length, `${at}: ${v.message}`).toBeGreaterThanOrEqual(2);
        for (let mask = 0; mask < 1 << fields.length; mask++) {
          const self: Obj = {};
          fields.forEach((f, i) => {
            if (mask & (1 << i)) self[f] = node.properties[f].type === 'object' ? {} : 'x';
          });
          const count = Object.keys(self).length;
          expect(run(v.rule, self), `${at} ${JSON.stringify(self)}`).toBe(count <= 1);
        }
        groups++;
      }
      for (const [k, child] of Object.entries<Obj>(node.properties ?? {})) walk(child, `${at}.${k}`);
      if (node.items) walk(node.items, `${at}[]`);
    };
    for (const k of KINDS) {
      const root = crdOnDisk(k.kind).spec.versions[0].schema.openAPIV3Schema;
      walk(root.properties.spec, `${k.kind}.spec`);
      walk(root.properties.status, `${k.kind}.status`);
    }
    // glooMeshCa/agentCa, tokenSecretRef/kubernetesAuth, serviceAccountRef/mountedSaPath in spec,
    // and the same Vault pair plus appliedGlooMeshCa/appliedAgentCa in status.
    expect(groups).toBe(6);
  });
});

// Kubernetes type-checks rules against the schema before it accepts a CRD. cel-js can do the same
// with declared variables: fields as typed in the CRD (int64 → int, format byte → bytes), deeper
// objects as maps, so int/double, bytes/string and string/int mix-ups fail here as they would there.
function celSchema(node: Obj, depth: number): string | ObjectSchema {
  switch (node.type) {
    case 'object':
      if (!node.properties || depth >= 2) return 'map<string, dyn>';
      return Object.fromEntries(Object.entries<Obj>(node.properties).map(([k, v]) => [k, celSchema(v, depth + 1)]));
    case 'array':
      return 'list<dyn>';
    case 'string':
      return node.format === 'byte' ? 'bytes' : 'string';
    case 'integer':
      return 'int';
    case 'number':
      return 'double';
    case 'boolean':
      return 'bool';
    default:
      throw new Error(`no CEL type for ${JSON.stringify(node)}`);
  }
}

function typedEnv(node: Obj, depth: number): Environment {
  const schema = celSchema(node, depth);
  if (typeof schema === 'string') throw new Error('rules sit on objects with properties');
  return new Environment().registerVariable({ name: 'self', schema }).registerVariable({ name: 'oldSelf', schema });
}

describe('every rule type-checks against its schema', () => {
  for (const k of KINDS) {
    it(k.kind, () => {
      const root = crdOnDisk(k.kind).spec.versions[0].schema.openAPIV3Schema;
      let checked = 0;
      const visit = (node: Obj, depth: number, at: string) => {
        if (node['x-kubernetes-validations']) {
          const env = typedEnv(node, depth);
          for (const v of node['x-kubernetes-validations']) {
            const rule = env.check(v.rule);
            expect(rule.valid, `${at}: ${v.rule}: ${rule.error?.message}`).toBe(true);
            expect(rule.type).toBe('bool');
            if (v.messageExpression) {
              const msg = env.check(v.messageExpression);
              expect(msg.valid, `${at}: ${v.messageExpression}: ${msg.error?.message}`).toBe(true);
              expect(msg.type).toBe('string');
            }
            checked++;
          }
        }
        for (const [key, child] of Object.entries<Obj>(node.properties ?? {}))
          visit(child, depth >= 1 ? 1 : depth + 1, `${at}.${key}`);
        if (node.items) visit(node.items, 1, `${at}[]`);
      };
      visit(root, 0, k.kind);
      // Every rule in the file was reached (PodBounceDirective has none).
      expect(checked).toBe((JSON.stringify(root).match(/"rule":/g) ?? []).length);
      if (k.kind !== 'PodBounceDirective') expect(checked).toBeGreaterThan(0);
    });
  }

  it('catches a rule that mixes types', () => {
    const env = typedEnv(crdOnDisk('IssuedCertificate').spec.versions[0].schema.openAPIV3Schema, 0);
    expect(
      env.check('(has(self.status) && has(self.status.observedGeneration) ? self.status.observedGeneration : 0.0) > 1')
        .valid,
    ).toBe(false);
    expect(env.check('self.status.state == 1').valid).toBe(false);
  });
});
