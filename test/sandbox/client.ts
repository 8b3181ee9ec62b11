// Small helpers for @kubernetes/client-node 1.4 against the sandbox (or any cluster); copy freely.
//
// client-node 1.x takes object-style parameters ({ group, version, namespace, plural, name, body })
// and its patch calls send `application/json-patch+json` unless told otherwise: pass
// `MERGE_PATCH` (or STRATEGIC_PATCH for core kinds) as the call's second argument, e.g.
//   await api.patchNamespacedCustomObjectStatus({ ...ref, body: { status } }, MERGE_PATCH)
import { KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** Per-call options: send the body as a JSON merge patch (RFC 7386). */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Per-call options: strategic merge patch (built-in kinds only; custom resources answer 415). */
export const STRATEGIC_PATCH = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
/** Per-call options: JSON patch (RFC 6902), client-node's default, spelled out. */
export const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/** One KubeConfig per context: client-node caches TLS and auth per config object. */
export function kubeConfigFor(kubeconfigPath: string, context: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (!kc.getContextObject(context)) throw new Error(`context "${context}" not found in ${kubeconfigPath}`);
  kc.setCurrentContext(context);
  return kc;
}

/** The Status body of a failed client-node call ({ code, reason, message }), or undefined. */
export function apiStatus(err: unknown): { code?: number; reason?: string; message?: string } | undefined {
  const e = err as { code?: number; body?: unknown };
  if (typeof e?.code !== 'number') return undefined;
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* not JSON */
    }
  }
  const b = (body ?? {}) as { code?: number; reason?: string; message?: string };
  return { code: b.code ?? e.code, reason: b.reason, message: b.message };
}
