// A PodBounceDirective whose selector lacks a field the bounce needs (the schema leaves them all
// optional) stops the bounce with an error naming the field, before any pod is deleted; the
// directive is looked up in the IssuedCertificate's own namespace when its reference names none.
import { describe, expect, it } from 'vitest';
import type { ClusterApi } from '../../plugin/src/engine/cluster-api.js';
import { bouncePods } from '../../plugin/src/engine/issuance/pod-bounce.js';
import type { IssuedCertificate, KubeObject, PodBounceDirective } from '../../plugin/src/engine/objects.js';

function cluster(pbd: PodBounceDirective): { api: ClusterApi; calls: string[] } {
  const calls: string[] = [];
  let cur = pbd;
  const api = {
    name: 'c1',
    async getCustom<T extends KubeObject>(_kind: string, namespace: string, name: string): Promise<T | undefined> {
      calls.push(`get ${namespace}/${name}`);
      return (namespace === cur.metadata.namespace && name === cur.metadata.name ? cur : undefined) as T | undefined;
    },
    async replaceCustomStatus<T extends KubeObject>(_kind: string, body: T): Promise<T> {
      cur = body as unknown as PodBounceDirective;
      return body;
    },
    async mergePatchCustom<T extends KubeObject>(
      _kind: string,
      _ns: string,
      _name: string,
      patch: { metadata: { annotations: Record<string, string> } },
    ): Promise<T> {
      cur = { ...cur, metadata: { ...cur.metadata, annotations: patch.metadata.annotations } };
      return cur as unknown as T;
    },
    async listPods(namespace: string): Promise<never[]> {
      calls.push(`list pods ${namespace}`);
      return [];
    },
    async deletePod(namespace: string, name: string): Promise<void> {
      calls.push(`delete ${namespace}/${name}`);
    },
  } as unknown as ClusterApi;
  return { api, calls };
}

const ic: IssuedCertificate = {
  metadata: { name: 'c1', namespace: 'gloo-mesh', uid: 'u', generation: 1 },
  spec: { podBounceDirective: { name: 'bounce' } },
};

describe('bouncePods', () => {
  it('names a selector without a namespace and deletes nothing', async () => {
    const { api, calls } = cluster({
      metadata: { name: 'bounce', namespace: 'gloo-mesh' },
      spec: { podsToBounce: [{ labels: { app: 'istiod' } }] },
    });
    await expect(bouncePods(api, ic, { deadline: Date.now() + 5_000 })).rejects.toThrow(
      'PodBounceDirective gloo-mesh/bounce: spec.podsToBounce[0].namespace: Required value: the namespace of the pods to bounce',
    );
    expect(calls).toEqual(['get gloo-mesh/bounce']);
  });

  it('names the missing field of a rootCertSync', async () => {
    const sync = {
      secretRef: { name: 'cacerts', namespace: 'istio-system' },
      secretKey: 'root-cert.pem',
      configMapRef: { name: 'istio-ca-root-cert' },
    };
    const { api, calls } = cluster({
      metadata: { name: 'bounce', namespace: 'gloo-mesh' },
      spec: { podsToBounce: [{ namespace: 'istio-system', rootCertSync: sync }] },
    });
    await expect(bouncePods(api, ic, { deadline: Date.now() + 5_000 })).rejects.toThrow(
      'PodBounceDirective gloo-mesh/bounce: spec.podsToBounce[0].rootCertSync.configMapKey: Required value',
    );
    expect(calls.filter((c) => c.startsWith('delete') || c.startsWith('list'))).toEqual([]);
  });
});
