// The legality of one state move, read from a state-machine table. Shared by the webhook's
// evaluator (transitions.ts) and the CRD rule generator (cel.ts), so both say the same thing.
import type { MoveCondition, StateMachine } from './state-machines.js';

export type Conditions = Readonly<Record<MoveCondition, boolean>>;

/** Whether from→to is legal given the conditions; staying is always legal, final states are never left. */
export function isLegalMove(m: StateMachine, from: string, to: string, cond: Conditions): boolean {
  if (from === to) return true;
  if (m.final?.includes(from)) return false;
  return m.moves.some(
    (mv) => (mv.from === '*' || mv.from.includes(from)) && mv.to === to && (!mv.when || cond[mv.when]),
  );
}

/** The states reachable from `from` in one write, in proto order. */
export function allowedTargets(m: StateMachine, from: string, cond: Conditions): string[] {
  return m.states.filter((to) => isLegalMove(m, from, to, cond));
}
