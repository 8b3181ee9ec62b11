// @kubernetes/client-node 1.4 against the sandbox with the calls the plugin makes:
// CustomObjectsApi create/get/list/patch (merge, status), replace with a stale resourceVersion,
// CoreV1Api secrets and namespaces, Watch (events and 410), pagination.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startSandbox, type Sandbox } from './index.js';
import { apiStatus, kubeConfigFor, MERGE_PATCH, STRATEGIC_PATCH } from './client.js';
import { GROUP, WIDGETS, widget, widgetCrd } from './fixtures.js';

let sb: Sandbox;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let core: CoreV1Api;
const ref = (name: string) => ({ ...WIDGETS, namespace: 'default', name });

beforeAll(async () => {
  sb = await startSandbox({ clusters: ['mgmt', 'cluster1'] });
  kc = kubeConfigFor(sb.kubeconfigPath, 'cluster1');
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    body: widgetCrd,
  });
});
afterAll(async () => {
  await sb?.stop();
});

describe('client-node CustomObjectsApi', () => {
  it('creates, gets and lists custom resources; the repository CRDs are installed at start', async () => {
    const created = await custom.createNamespacedCustomObject({ ...WIDGETS, namespace: 'default', body: widget('c1') });
    expect(created.metadata.generation).toBe(1);
    const got = await custom.getNamespacedCustomObject(ref('c1'));
    expect(got.metadata.uid).toBe(created.metadata.uid);
    const list = await custom.listNamespacedCustomObject({ ...WIDGETS, namespace: 'default' });
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['c1']);
    const icerts = await custom.listClusterCustomObject({
      group: 'certificates.mesh.gloo.solo.io',
      version: 'v1',
      plural: 'issuedcertificates',
    });
    expect(icerts.kind).toBe('IssuedCertificateList');
  });

  it('merge-patches spec and status with the MERGE_PATCH options (and sends that content type)', async () => {
    const internals = sb.internals.get('cluster1')!;
    const p = await custom.patchNamespacedCustomObject({ ...ref('c1'), body: { spec: { size: 5 } } }, MERGE_PATCH);
    expect(p.spec).toMatchObject({ size: 5, color: 'red' });
    expect(p.metadata.generation).toBe(2);
    expect(internals.requests.at(-1)).toMatchObject({ method: 'PATCH', contentType: 'application/merge-patch+json' });
    const s = await custom.patchNamespacedCustomObjectStatus(
      { ...ref('c1'), body: { status: { phase: 'Building', observedGeneration: 2 } } },
      MERGE_PATCH,
    );
    expect(s.status).toEqual({ phase: 'Building', observedGeneration: 2 });
    expect(s.metadata.generation).toBe(2);
    // without the option client-node sends a JSON patch
    const jp = await custom.patchNamespacedCustomObject({
      ...ref('c1'),
      body: [{ op: 'replace', path: '/spec/size', value: 6 }],
    });
    expect(jp.spec.size).toBe(6);
    expect(internals.requests.at(-1)).toMatchObject({ contentType: 'application/json-patch+json' });
  });

  it('a replace with a stale resourceVersion is 409 Conflict; CEL denials are 422', async () => {
    const cur = await custom.getNamespacedCustomObject(ref('c1'));
    await custom.replaceNamespacedCustomObject({ ...ref('c1'), body: { ...cur, spec: { ...cur.spec, size: 2 } } });
    const err = await custom
      .replaceNamespacedCustomObject({ ...ref('c1'), body: { ...cur, spec: { ...cur.spec, size: 3 } } })
      .catch((e: unknown) => e);
    expect(apiStatus(err)).toMatchObject({ code: 409, reason: 'Conflict' });
    await custom.patchNamespacedCustomObjectStatus({ ...ref('c1'), body: { status: { phase: 'Done' } } }, MERGE_PATCH);
    const cel = await custom
      .patchNamespacedCustomObjectStatus({ ...ref('c1'), body: { status: { phase: 'New' } } }, MERGE_PATCH)
      .catch((e: unknown) => e);
    expect(apiStatus(cel)).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: `Widget.${GROUP} "c1" is invalid: status.phase: Invalid value: "object": a Done widget stays Done, not New`,
    });
  });
});

describe('client-node CoreV1Api', () => {
  it('creates namespaces and secrets, reads them, strategic-merge patches labels, pages lists', async () => {
    await core.createNamespace({ body: { metadata: { name: 'gloo-mesh' } } });
    await core.createNamespacedSecret({
      namespace: 'gloo-mesh',
      body: {
        metadata: { name: 'root' },
        type: 'certificates.mesh.gloo.solo.io/issuer',
        data: { 'ca-cert.pem': Buffer.from('PEM').toString('base64') },
      },
    });
    const s = await core.readNamespacedSecret({ namespace: 'gloo-mesh', name: 'root' });
    expect(Buffer.from(s.data!['ca-cert.pem'], 'base64').toString()).toBe('PEM');
    const patched = await core.patchNamespacedSecret(
      { namespace: 'gloo-mesh', name: 'root', body: { metadata: { labels: { role: 'root' } } } },
      STRATEGIC_PATCH,
    );
    expect(patched.metadata?.labels).toEqual({ role: 'root' });
    const missing = await core.readNamespacedSecret({ namespace: 'gloo-mesh', name: 'nope' }).catch((e: unknown) => e);
    expect(apiStatus(missing)).toMatchObject({ code: 404, reason: 'NotFound', message: 'secrets "nope" not found' });
    for (let i = 0; i < 3; i++)
      await core.createNamespacedConfigMap({
        namespace: 'gloo-mesh',
        body: { metadata: { name: `c${i}` }, data: { i: String(i) } },
      });
    const first = await core.listNamespacedConfigMap({ namespace: 'gloo-mesh', limit: 2 });
    expect(first.items.map((x) => x.metadata?.name)).toEqual(['c0', 'c1']);
    const rest = await core.listNamespacedConfigMap({
      namespace: 'gloo-mesh',
      limit: 2,
      _continue: first.metadata?._continue,
    });
    // every namespace has kube-root-ca.crt, as kube-controller-manager publishes it
    expect(rest.items.map((x) => x.metadata?.name)).toEqual(['c2', 'kube-root-ca.crt']);
    expect(rest.metadata?._continue).toBeUndefined();
  });
});

describe('client-node Watch', () => {
  it('sees a status change, and gets 410 Expired from a compacted resourceVersion', async () => {
    const watch = new Watch(kc);
    const rv = (await custom.getNamespacedCustomObject(ref('c1'))).metadata.resourceVersion as string;
    const seen: string[] = [];
    let ctl: AbortController | undefined;
    const done = new Promise<void>((resolve, reject) => {
      watch
        .watch(
          `/apis/${GROUP}/v1/namespaces/default/widgets`,
          { resourceVersion: rv },
          (type, obj) => {
            seen.push(`${type} ${obj.metadata.name} ${obj.status?.phase ?? ''}`);
            if (seen.length === 2) resolve();
          },
          (err) => {
            if (err) reject(err);
          },
        )
        .then((c) => {
          ctl = c;
        }, reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    await custom.createNamespacedCustomObject({ ...WIDGETS, namespace: 'default', body: widget('c2') });
    await custom.patchNamespacedCustomObjectStatus(
      { ...ref('c2'), body: { status: { phase: 'Building' } } },
      MERGE_PATCH,
    );
    await done;
    ctl?.abort();
    expect(seen).toEqual(['ADDED c2 ', 'MODIFIED c2 Building']);

    sb.internals.get('cluster1')!.api.store.compact();
    const expired = await new Promise<{ type: string; obj: { code?: number; reason?: string } }>((resolve, reject) => {
      watch
        .watch(
          `/apis/${GROUP}/v1/namespaces/default/widgets`,
          { resourceVersion: rv },
          (type, obj) => resolve({ type, obj }),
          (err) => {
            if (err) reject(err);
          },
        )
        .catch(reject);
    });
    expect(expired).toMatchObject({ type: 'ERROR', obj: { code: 410, reason: 'Expired' } });
  });

  it('an informer lists, then follows adds, updates and deletes', async () => {
    const path = `/apis/${GROUP}/v1/namespaces/default/widgets`;
    const informer = makeInformer<KubernetesObject>(
      kc,
      path,
      async () =>
        (await custom.listNamespacedCustomObject({
          ...WIDGETS,
          namespace: 'default',
          labelSelector: 'informed=yes',
        })) as KubernetesListObject<KubernetesObject>,
      'informed=yes',
    );
    const seen: string[] = [];
    const settle = (n: number): Promise<void> =>
      new Promise((resolve) => {
        const t = setInterval(() => {
          if (seen.length >= n) {
            clearInterval(t);
            resolve();
          }
        }, 20);
      });
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    await custom.createNamespacedCustomObject({
      ...WIDGETS,
      namespace: 'default',
      body: widget('inf1', 'default', { size: 1 }, { informed: 'yes' }),
    });
    await informer.start();
    await settle(1);
    await custom.createNamespacedCustomObject({
      ...WIDGETS,
      namespace: 'default',
      body: widget('inf2', 'default', { size: 1 }, { informed: 'yes' }),
    });
    await custom.createNamespacedCustomObject({
      ...WIDGETS,
      namespace: 'default',
      body: widget('ignored', 'default', { size: 1 }),
    });
    await custom.patchNamespacedCustomObject({ ...ref('inf2'), body: { spec: { size: 2 } } }, MERGE_PATCH);
    await custom.deleteNamespacedCustomObject(ref('inf1'));
    await settle(4);
    await informer.stop();
    expect(seen).toEqual(['add inf1', 'add inf2', 'update inf2', 'delete inf1']);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['inf2']);
  });
});
