// CEL validation rules for the CRDs, generated from the same tables transitions.ts evaluates, so
// the apiserver refuses illegal moves even when the webhook is down. Rules sit at the root of the
// schema: there `oldSelf` always exists on UPDATE, and a missing status or state is the zero
// value, which a rule placed on `status` could not see (it would not run when status is absent).
import type { GuardName } from './state-machines.js';
import { IMMUTABLES, INVARIANTS, OBSERVED_GENERATION, STATE_MACHINES, type StateMachine } from './state-machines.js';
import type { KindName } from './registry.js';
import { isLegalMove } from './moves.js';

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** JSONPath-like field the error is reported on (Kubernetes 1.28+). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired';
}

/** What a rule checks, for tests that evaluate it against the table it came from. */
export type CelPurpose =
  | { type: 'transition'; machine: StateMachine }
  | { type: 'observedGeneration' }
  | { type: 'guard'; guard: GuardName; machine?: StateMachine; state?: string }
  | { type: 'immutable'; field: readonly string[] }
  | { type: 'exclusive'; fields: readonly string[] };

export interface GeneratedCelRule extends CelRule {
  purpose: CelPurpose;
}

const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const list = (items: readonly string[]) => `[${items.map(lit).join(', ')}]`;

/** `has(root.a) && has(root.a.b)`: true when the field at `path` is present. */
export function present(root: string, path: readonly string[]): string {
  return path.map((_, i) => `has(${root}.${path.slice(0, i + 1).join('.')})`).join(' && ');
}

/** The field's value, or `fallback` (a CEL literal) when absent: proto zero values are omitted. */
export function valueOr(root: string, path: readonly string[], fallback: string): string {
  return `(${present(root, path)} ? ${root}.${path.join('.')} : ${fallback})`;
}

function transitionRule(kind: KindName, m: StateMachine): GeneratedCelRule {
  const zero = lit(m.states[0]!);
  const from = valueOr('oldSelf', m.path, zero);
  const to = valueOr('self', m.path, zero);
  const pair = `(${from} + '>' + ${to})`;
  const always: string[] = [];
  const onAdvance: string[] = [];
  for (const f of m.states) {
    for (const t of m.states) {
      if (f === t) continue;
      if (isLegalMove(m, f, t, { observedGenerationAdvances: false })) always.push(`${f}>${t}`);
      else if (isLegalMove(m, f, t, { observedGenerationAdvances: true })) onAdvance.push(`${f}>${t}`);
    }
  }
  const terms = [`${from} == ${to}`];
  if (always.length > 0) terms.push(`${pair} in ${list(always)}`);
  if (onAdvance.length > 0) {
    const og = OBSERVED_GENERATION[kind];
    if (!og) throw new Error(`${kind}: a move depends on observedGeneration, but the kind has none`);
    terms.push(`(${valueOr('self', og, '0')} > ${valueOr('oldSelf', og, '0')} && ${pair} in ${list(onAdvance)})`);
  }
  const field = m.path.join('.');
  return {
    rule: terms.join(' || '),
    messageExpression: `${lit(`${kind} cannot move ${field} from `)} + ${from} + ' to ' + ${to}`,
    fieldPath: `.${field}`,
    reason: 'FieldValueInvalid',
    purpose: { type: 'transition', machine: m },
  };
}

/** Guards that CEL can express; the others (certificate checks) are the webhook's alone. */
const GUARD_CEL: Partial<Record<GuardName, { rule: (stateIs: string) => string; message: string; fieldPath: string }>> =
  {
    errorNotEmpty: {
      rule: (stateIs) => `!(${stateIs}) || (${present('self', ['status', 'error'])} && size(self.status.error) > 0)`,
      message: 'status.error must say what failed when the state is FAILED',
      fieldPath: '.status.error',
    },
    responseNotAfterDenial: {
      rule: () =>
        `!(${present('self', ['status', 'response'])}) || ${valueOr('self', ['status', 'thirdPartyApproval', 'approvalStatus'], "'PENDING'")} != 'DENIED'`,
      message: 'status.response may not be set once status.thirdPartyApproval.approvalStatus is DENIED',
      fieldPath: '.status.response',
    },
  };

/** Rules for the root of a kind's CRD schema. */
export function rootCelRules(kind: KindName): GeneratedCelRule[] {
  const rules: GeneratedCelRule[] = [];
  for (const m of STATE_MACHINES.filter((x) => x.kind === kind)) {
    rules.push(transitionRule(kind, m));
    for (const [state, guards] of Object.entries(m.guards ?? {})) {
      for (const g of guards ?? []) {
        const cel = GUARD_CEL[g];
        if (!cel) continue;
        const stateIs = `${valueOr('self', m.path, lit(m.states[0]!))} == ${lit(state)}`;
        rules.push({
          rule: cel.rule(stateIs),
          message: cel.message,
          fieldPath: cel.fieldPath,
          reason: 'FieldValueRequired',
          purpose: { type: 'guard', guard: g, machine: m, state },
        });
      }
    }
  }
  const og = OBSERVED_GENERATION[kind];
  if (og) {
    rules.push({
      rule: `${valueOr('self', og, '0')} >= ${valueOr('oldSelf', og, '0')}`,
      message: `${og.join('.')} must not decrease`,
      fieldPath: `.${og.join('.')}`,
      reason: 'FieldValueInvalid',
      purpose: { type: 'observedGeneration' },
    });
  }
  for (const rule of IMMUTABLES.filter((r) => r.kind === kind)) {
    const frozen =
      'present' in rule.once
        ? present('oldSelf', rule.once.path)
        : `!(${valueOr('oldSelf', rule.once.path, lit(zeroOf(kind, rule.once.path)))} in ${list(rule.once.notIn)})`;
    for (const f of rule.fields) {
      const a = present('self', f);
      const b = present('oldSelf', f);
      rules.push({
        rule: `!(${frozen}) || ((${a}) == (${b}) && (!(${a}) || self.${f.join('.')} == oldSelf.${f.join('.')}))`,
        message: `${f.join('.')} is immutable once ${rule.once.why}`,
        fieldPath: `.${f.join('.')}`,
        reason: 'FieldValueForbidden',
        purpose: { type: 'immutable', field: f },
      });
    }
  }
  for (const g of INVARIANTS[kind] ?? []) {
    const cel = GUARD_CEL[g];
    if (cel)
      rules.push({
        rule: cel.rule('true'),
        message: cel.message,
        fieldPath: cel.fieldPath,
        reason: 'FieldValueForbidden',
        purpose: { type: 'guard', guard: g },
      });
  }
  return rules;
}

function zeroOf(kind: string, path: readonly string[]): string {
  const m = STATE_MACHINES.find((x) => x.kind === kind && x.path.join('.') === path.join('.'));
  if (!m) throw new Error(`${kind}: no state machine at ${path.join('.')}`);
  return m.states[0]!;
}

/** Rule for an object whose fields form "none or exactly one" groups (proto oneofs). */
export function exclusiveCelRules(groups: readonly (readonly string[])[]): GeneratedCelRule[] {
  return groups.map((fields) => {
    const pairs: string[] = [];
    for (let i = 0; i < fields.length; i++)
      for (let j = i + 1; j < fields.length; j++) pairs.push(`(has(self.${fields[i]}) && has(self.${fields[j]}))`);
    return {
      rule: `!(${pairs.join(' || ')})`,
      message: `at most one of ${fields.join(', ')} may be set`,
      reason: 'FieldValueForbidden' as const,
      purpose: { type: 'exclusive' as const, fields },
    };
  });
}

export function stripPurpose(r: GeneratedCelRule): CelRule {
  const { purpose: _purpose, ...rest } = r;
  return rest;
}
