// Mutating admission: map deprecated fields onto their replacements (the table lives in schemas/)
// with a JSONPatch and one warning per mapped field. Objects a Gloo Mesh controller owns are never
// patched, only warned about: that controller would revert the patch on its next reconcile.
import { deprecationPatch, glooMeshOwnerLabel, isObject } from '#schemas/src/index.js';
import { applyJsonPatch } from './json-patch.js';
import { clip, MAX_REPLY_BYTES, MAX_WARNING_CHARS } from './limits.js';
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

/**
 * The largest patch sent, as JSON (base64 makes it 4/3 longer in the reply): a deprecated field
 * holding kilobytes (an org name pasted over with a certificate) is not copied. The validating
 * webhook still warns about the field, and readers fall back to it.
 */
export const MAX_PATCH_JSON_BYTES = Math.floor((MAX_REPLY_BYTES / 2) * 0.75);

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
    if (warnings.length > 0) decision.warnings = warnings.map((w) => clip(w, MAX_WARNING_CHARS));
    return { decision, result: 'allowed' };
  }
  const patchJson = JSON.stringify(patch);
  const patchBytes = Buffer.byteLength(patchJson);
  if (patchBytes > MAX_PATCH_JSON_BYTES) {
    return {
      decision: {
        allowed: true,
        warnings: [
          `deprecated fields were not copied to their replacements: the patch would be ${patchBytes} bytes, over the ${MAX_PATCH_JSON_BYTES} this webhook sends; set the replacement fields instead`,
        ],
      },
      result: 'allowed',
      withheld: `the patch is ${patchBytes} bytes`,
    };
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
      patch: Buffer.from(patchJson).toString('base64'),
      warnings: warnings.map((w) => clip(w, MAX_WARNING_CHARS)),
    },
    result: 'patched',
  };
}
