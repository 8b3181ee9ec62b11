// Generic evaluation of the rule tables in state-machines.ts over an old and a new object.
import type { FieldError } from './field-error.js';
import { pathOf } from './field-error.js';
import { GUARDS } from './guards.js';
import { getPath, isObject, jsonEqual, numberOr } from './object-path.js';
import type { KindName } from './registry.js';
import { allowedTargets, type Conditions, isLegalMove } from './moves.js';
import { IMMUTABLES, INVARIANTS, OBSERVED_GENERATION, type StateMachine, machinesOf } from './state-machines.js';

export function stateOf(m: StateMachine, obj: unknown): string {
  const v = getPath(obj, m.path);
  return typeof v === 'string' ? v : m.states[0]!;
}

export function observedGenerationOf(kind: string, obj: unknown): number {
  const p = OBSERVED_GENERATION[kind as KindName];
  return p ? numberOr(getPath(obj, p), 0) : 0;
}

export function conditionsOf(kind: string, oldObj: unknown, newObj: unknown): Conditions {
  return { observedGenerationAdvances: observedGenerationOf(kind, newObj) > observedGenerationOf(kind, oldObj) };
}

/** Every rule the update breaks: state moves, guards, observedGeneration, immutable fields, invariants. */
export function validateUpdate(oldObj: unknown, newObj: unknown, opts: { subResource?: 'status' } = {}): FieldError[] {
  if (!isObject(newObj)) return [{ path: '', type: 'Invalid', value: newObj, message: 'must be a JSON object' }];
  const kind = newObj.kind;
  if (typeof kind !== 'string') return [{ path: 'kind', type: 'Required', message: 'must be set' }];
  const old = isObject(oldObj) ? oldObj : {};
  const errors: FieldError[] = [];
  const ctx = { oldObj: old, newObj };
  // Guards and invariants judge a write that changes something; most updates meet neither, so
  // the comparison (a walk of both statuses when they are equal) is made only when one applies.
  let changed: boolean | undefined;
  const hasChanged = (): boolean =>
    (changed ??= !jsonEqual(old.status, newObj.status) || !jsonEqual(old.spec, newObj.spec));
  const cond = conditionsOf(kind, old, newObj);

  for (const m of machinesOf(kind)) {
    const from = stateOf(m, old);
    const to = stateOf(m, newObj);
    // Unknown names are the schema's to report.
    if (!m.states.includes(from) || !m.states.includes(to)) continue;
    if (!isLegalMove(m, from, to, cond)) {
      const isFinal = m.final?.includes(from) ?? false;
      const allowed = allowedTargets(m, from, cond).filter((s) => s !== from);
      errors.push({
        path: pathOf(m.path),
        type: isFinal ? 'Forbidden' : 'Invalid',
        value: to,
        message: isFinal
          ? `${kind} cannot move from ${from} to ${to}: ${from} is final`
          : `${kind} cannot move from ${from} to ${to}; allowed: ${allowed.join(', ') || 'none'}`,
        ...(isFinal ? { forbidden: true } : {}),
      });
      continue;
    }
    const guards = m.guards?.[to];
    if (guards && hasChanged()) for (const g of guards) errors.push(...GUARDS[g](ctx));
  }

  const ogPath = OBSERVED_GENERATION[kind as KindName];
  if (ogPath) {
    const before = observedGenerationOf(kind, old);
    const after = observedGenerationOf(kind, newObj);
    const generation = getPath(newObj, ['metadata', 'generation']);
    if (after < before) {
      errors.push({
        path: pathOf(ogPath),
        type: 'Invalid',
        value: after,
        message: `must not decrease (was ${before})`,
      });
    }
    if (typeof generation === 'number' && after > generation) {
      errors.push({
        path: pathOf(ogPath),
        type: 'Invalid',
        value: after,
        message: `must not exceed metadata.generation (${generation})`,
      });
    }
  }

  // The status subresource never changes spec, so immutability is a main-resource question.
  if (opts.subResource !== 'status') {
    for (const rule of IMMUTABLES) {
      if (rule.kind !== kind) continue;
      const frozen =
        'present' in rule.once
          ? getPath(old, rule.once.path) !== undefined && getPath(old, rule.once.path) !== null
          : !rule.once.notIn.includes(String(getPath(old, rule.once.path) ?? machineZero(kind, rule.once.path)));
      if (!frozen) continue;
      for (const f of rule.fields) {
        if (!jsonEqual(getPath(old, f), getPath(newObj, f))) {
          errors.push({
            path: pathOf(f),
            type: 'Forbidden',
            forbidden: true,
            message: `field is immutable once ${rule.once.why}`,
          });
        }
      }
    }
  }

  const invariants = INVARIANTS[kind as KindName];
  if (invariants && hasChanged()) for (const g of invariants) errors.push(...GUARDS[g](ctx));
  return errors;
}

/** The zero value of a state field, when a rule condition reads one. */
function machineZero(kind: string, path: readonly string[]): string {
  const m = machinesOf(kind).find((x) => x.path.join('.') === path.join('.'));
  return m?.states[0] ?? '';
}
