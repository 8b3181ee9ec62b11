// Bouncing pods after an issuance (PodBounceDirective): selectors in order; for each, wait for
// the root cert to be synced when asked, record the pods, delete them, then wait for
// `waitForReplicas` ready replacements. Recording before deleting makes a resumed run delete the
// same pods (gone already: no-op) rather than their fresh replacements.
import type { ClusterApi } from '../cluster-api.js';
import { base64Text } from '#schemas/x509/pem.js';
import type { IssuedCertificate, ObjectRef, Pod, PodBounceDirective } from '../objects.js';
import { refString, resolveRef } from '../objects.js';
import { ANN_BOUNCE_FOR } from '../resources.js';
import { bounceRecordedFor, bounceToken } from './decide.js';

export interface BounceOptions {
  deadline: number;
  signal?: AbortSignal;
  pollMs?: number;
  onProgress?: (message: string) => void;
}

export class BounceError extends Error {
  override name = 'BounceError';
}

export function podIsReady(p: Pod): boolean {
  if (p.metadata.deletionTimestamp) return false;
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Ready pods that are not among the ones bounced. */
export function readyReplacements(pods: Pod[], bounced: string[]): number {
  const gone = new Set(bounced);
  return pods.filter((p) => !gone.has(p.metadata.name) && podIsReady(p)).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, opts: BounceOptions, test: () => Promise<boolean>): Promise<void> {
  const poll = opts.pollMs ?? 100;
  for (;;) {
    if (await test()) return;
    if (opts.signal?.aborted) throw new BounceError(`interrupted while waiting for ${what}`);
    if (Date.now() > opts.deadline) throw new BounceError(`timed out waiting for ${what}`);
    await sleep(poll);
  }
}

interface RootCertSync {
  secretRef: ObjectRef;
  secretKey: string;
  configMapRef: ObjectRef;
  configMapKey: string;
}

/** A selector's rootCertSync with every field it needs, or a BounceError naming the missing one. */
function rootCertSyncOf(
  sync: NonNullable<NonNullable<PodBounceDirective['spec']['podsToBounce']>[number]['rootCertSync']>,
  namespace: string,
  field: string,
): RootCertSync {
  const { secretRef, secretKey, configMapRef, configMapKey } = sync;
  for (const [name, v] of Object.entries({ secretRef, secretKey, configMapRef, configMapKey })) {
    if (!v) throw new BounceError(`${field}.${name}: Required value`);
  }
  return {
    secretRef: resolveRef(secretRef!, namespace),
    secretKey: secretKey!,
    configMapRef: resolveRef(configMapRef!, namespace),
    configMapKey: configMapKey!,
  };
}

export async function bouncePods(api: ClusterApi, ic: IssuedCertificate, opts: BounceOptions): Promise<void> {
  if (!ic.spec.podBounceDirective) return;
  const ref = resolveRef(ic.spec.podBounceDirective, ic.metadata.namespace);
  const token = bounceToken(ic);
  let pbd = await api.getCustom<PodBounceDirective>('PodBounceDirective', ref.namespace, ref.name);
  if (!pbd)
    throw new BounceError(
      `spec.podBounceDirective: PodBounceDirective ${refString(ref)} not found in cluster "${api.name}"`,
    );
  if (!bounceRecordedFor(pbd, token)) {
    // A new issuance: forget the last one's record, then claim the directive for this one.
    pbd = await api.replaceCustomStatus<PodBounceDirective>('PodBounceDirective', {
      ...pbd,
      status: { ...(pbd.status ?? {}), podsBounced: [] },
    });
    pbd = await api.mergePatchCustom<PodBounceDirective>('PodBounceDirective', ref.namespace, ref.name, {
      metadata: { annotations: { [ANN_BOUNCE_FOR]: token } },
    });
  }
  const selectors = pbd.spec.podsToBounce ?? [];
  for (let i = 0; i < selectors.length; i++) {
    const sel = selectors[i];
    const field = `PodBounceDirective ${refString(ref)}: spec.podsToBounce[${i}]`;
    const namespace = sel.namespace;
    if (!namespace) throw new BounceError(`${field}.namespace: Required value: the namespace of the pods to bounce`);
    const labels = sel.labels ?? {};
    let recorded = pbd.status?.podsBounced?.[i]?.bouncedPods;
    if (!recorded) {
      if (sel.rootCertSync) {
        const sync = rootCertSyncOf(sel.rootCertSync, namespace, `${field}.rootCertSync`);
        await until(
          `ConfigMap ${refString(sync.configMapRef)}[${sync.configMapKey}] to match Secret ${refString(sync.secretRef)}[${sync.secretKey}]`,
          opts,
          async () => {
            const [secret, cm] = await Promise.all([
              api.getSecret(sync.secretRef.namespace, sync.secretRef.name),
              api.getConfigMap(sync.configMapRef.namespace, sync.configMapRef.name),
            ]);
            const want = base64Text(
              secret?.data?.[sync.secretKey],
              `Secret ${refString(sync.secretRef)}[${sync.secretKey}]`,
            );
            const have = cm?.data?.[sync.configMapKey];
            return !!want && have !== undefined && have.trim() === want.trim();
          },
        );
      }
      const pods = await api.listPods(namespace, labels);
      recorded = pods.map((p) => p.metadata.name).sort();
      const podsBounced: { bouncedPods?: string[] }[] = [
        ...(pbd.status?.podsBounced ?? []).slice(0, i),
        { bouncedPods: recorded },
      ];
      pbd = await api.replaceCustomStatus<PodBounceDirective>('PodBounceDirective', {
        ...pbd,
        status: { ...(pbd.status ?? {}), podsBounced },
      });
      opts.onProgress?.(`bouncing ${recorded.length} pod(s) in ${namespace}`);
    }
    for (const name of recorded) await api.deletePod(namespace, name);
    const want = sel.waitForReplicas ?? 0;
    if (want > 0) {
      const done = recorded;
      await until(
        `${want} ready replacement pod(s) in ${namespace} (${Object.entries(labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')})`,
        opts,
        async () => readyReplacements(await api.listPods(namespace, labels), done) >= want,
      );
    }
  }
}
