// RFC 7386 JSON merge patch applied locally: what the API server does with
// application/merge-patch+json, for --dry-run=client (nothing is sent, the result is shown).

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `target` with `patch` merged in (RFC 7386): null deletes a member, objects merge, anything else replaces. */
export function mergePatched<T>(target: T, patch: Json): T {
  return merge(target, patch) as T;
}

function merge(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}
