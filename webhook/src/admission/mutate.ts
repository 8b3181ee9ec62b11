// Mutating admission: map deprecated fields onto their replacements (the table lives in schemas/)
// with a JSONPatch and one warning per mapped field. Objects a Gloo Mesh controller owns are never
// patched, only warned about: that controller would revert the patch on its next reconcile.
import { deprecationPatch, glooMeshOwnerLabel, isObject } from '../../../schemas/src/index.js';
import { applyJsonPatch } from './jsonPatch.js';
import type { ParsedRequest } from './review.js';
import type { Decision, ReviewResult } from './types.js';

export interface MutateOutcome {
  decision: Decision;
  result: ReviewResult;
  /** Why a computed patch was withheld (logged, never sent). */
  withheld?: string;
}

/**
 * A deep copy to try the patch on, sharing metadata.managedFields: no patch of ours touches it,
 * and the depth check leaves it to the apiserver, so cloning it could overflow the stack.
 */
function copyForPatch(obj: unknown): unknown {
  if (!isObject(obj) || !isObject(obj.metadata) || !('managedFields' in obj.metadata)) return structuredClone(obj);
  const { managedFields, ...metadata } = obj.metadata;
  const copy = structuredClone({ ...obj, metadata }) as { metadata: Record<string, unknown> };
  copy.metadata.managedFields = managedFields;
  return copy;
}

export function mutateReview(req: ParsedRequest): MutateOutcome {
  // Status writes cannot change spec (the apiserver drops such changes), and DELETE/CONNECT carry
  // nothing to map: patching them would at best be ignored and at worst fail to apply.
  if ((req.operation !== 'CREATE' && req.operation !== 'UPDATE') || req.subResource === 'status') {
    return { decision: { allowed: true }, result: 'allowed' };
  }
  const ownerLabel = glooMeshOwnerLabel(req.info.kind, req.object);
  const { patch, warnings } = deprecationPatch(req.object, ownerLabel === undefined ? undefined : { ownerLabel });
  if (patch.length === 0) {
    const decision: Decision = { allowed: true };
    if (warnings.length > 0) decision.warnings = warnings;
    return { decision, result: 'allowed' };
  }

  let withheld: string | undefined;
  try {
    const patched = applyJsonPatch(copyForPatch(req.object), patch);
    if (deprecationPatch(patched).patch.length !== 0) withheld = 'the patch is not idempotent';
  } catch (err) {
    withheld = `the patch does not apply: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (withheld) return { decision: { allowed: true }, result: 'allowed', withheld };
  return {
    decision: {
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
      warnings: [...warnings],
    },
    result: 'patched',
  };
}
