// Delete: dryRun (query and DeleteOptions), preconditions, finalizers and deletionTimestamp,
// namespace lifecycle, ownerReference garbage collection.
import type { Case, Ctx } from '../harness.js';
import { cm, configMap, icert, MERGE, nsPath, wg, widget } from './common.js';

const exists = async (x: Ctx, path: string): Promise<boolean> => (await x.t.raw('GET', path)).status === 200;
const gone = async (x: Ctx, path: string): Promise<boolean> => (await x.t.raw('GET', path)).status === 404;

export const deleteCases: Case[] = [
  {
    id: 'delete-dryrun-kubectl',
    area: 'Delete',
    title: 'kubectl delete --dry-run=server deletes nothing (dryRun in DeleteOptions)',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      await x.k(['delete', 'configmap', 'a', '--dry-run=server']);
      await x.k(['delete', 'widgets', 'w', '--dry-run=server']);
      await x.k(['delete', 'configmaps', '--all', '--dry-run=server']);
      await x.k(['get', 'configmaps,widgets', '-o', 'name']);
    },
  },
  {
    id: 'delete-dryrun-raw',
    area: 'Delete',
    title: 'raw DELETE with dryRun in the body and in the query; an invalid dryRun value',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http('DELETE', cm(x.ns, 'a'), { apiVersion: 'v1', kind: 'DeleteOptions', dryRun: ['All'] });
      await x.http('DELETE', `${cm(x.ns, 'a')}?dryRun=All`);
      await x.http('DELETE', cm(x.ns, 'a'), { dryRun: ['Some'] });
      await x.http('GET', cm(x.ns, 'a'));
      await x.http(
        'DELETE',
        `${cm(x.ns)}?dryRun=All`,
        { kind: 'DeleteOptions', apiVersion: 'v1' },
        { pick: (o) => ({ kind: o.kind, items: o.items?.map((i: any) => i.metadata.name) }) },
      );
      await x.http('GET', cm(x.ns, 'a'));
    },
  },
  {
    id: 'delete-preconditions',
    area: 'Delete',
    title: 'DeleteOptions preconditions on uid and resourceVersion',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http('DELETE', cm(x.ns, 'a'), { preconditions: { uid: '6d1b3a4e-7f0e-4a43-9d53-8e4b9a7d2c11' } });
      await x.http('DELETE', cm(x.ns, 'a'), { preconditions: { resourceVersion: '1' } }, {});
      await x.http('GET', cm(x.ns, 'a'), undefined, { pick: (o) => o.metadata?.name });
    },
  },
  {
    id: 'delete-responses',
    area: 'Delete',
    title: 'what DELETE answers for a ConfigMap, a custom resource, a missing object, and deletecollection',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { labels: { l: 'x' } }), { quiet: true });
      await x.http('POST', cm(x.ns), configMap('b', { labels: { l: 'y' } }), { quiet: true });
      await x.http('POST', cm(x.ns), configMap('c', { labels: { l: 'x' } }), { quiet: true });
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      await x.http('DELETE', cm(x.ns, 'a'));
      await x.http('DELETE', wg(x.ns, 'w'));
      await x.http('DELETE', cm(x.ns, 'a'));
      await x.http('DELETE', `${cm(x.ns)}?labelSelector=l%3Dx`);
      await x.http('GET', cm(x.ns), undefined, { pick: (o) => o.items?.map((i: any) => i.metadata.name) });
    },
  },
  {
    id: 'delete-kubectl',
    area: 'Delete',
    title: 'kubectl delete by name, by label, a missing one, --ignore-not-found',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { labels: { l: 'x' } }), { quiet: true });
      await x.http('POST', cm(x.ns), configMap('b', { labels: { l: 'x' } }), { quiet: true });
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      await x.k(['delete', 'widget', 'w']);
      await x.k(['delete', 'configmap', '-l', 'l=x']);
      await x.k(['delete', 'configmap', 'nope']);
      await x.k(['delete', 'configmap', 'nope', '--ignore-not-found']);
    },
  },

  // ---- finalizers ----
  {
    id: 'finalizers-configmap',
    area: 'Finalizers',
    title: 'a finalizer holds a deleted ConfigMap with deletionTimestamp; removing it deletes',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { finalizers: ['example.com/hold'] }), { quiet: true });
      await x.http('DELETE', cm(x.ns, 'a'));
      await x.http('GET', cm(x.ns, 'a'));
      await x.http('DELETE', cm(x.ns, 'a'));
      await x.http('PATCH', cm(x.ns, 'a'), { data: { k: 'changed' } }, MERGE);
      await x.http('PATCH', cm(x.ns, 'a'), { metadata: { finalizers: null } }, MERGE);
      await x.http('GET', cm(x.ns, 'a'));
    },
  },
  {
    id: 'finalizers-custom',
    area: 'Finalizers',
    title: 'the same on a custom resource; no new finalizer once deleting; deletionTimestamp cannot be set',
    async run(x) {
      await x.http(
        'POST',
        wg(x.ns),
        widget('w', { size: 1 }, { finalizers: ['example.com/a'], deletionTimestamp: '2020-01-01T00:00:00Z' }),
      );
      await x.http('DELETE', wg(x.ns, 'w'));
      await x.http('PATCH', wg(x.ns, 'w'), { metadata: { finalizers: ['example.com/a', 'example.com/b'] } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'w'), { metadata: { deletionTimestamp: null } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'w/status'), { status: { phase: 'Building' } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'w'), { metadata: { finalizers: [] } }, MERGE);
      await x.http('GET', wg(x.ns, 'w'));
    },
  },
  {
    id: 'finalizers-kubectl',
    area: 'Finalizers',
    title: 'kubectl delete --wait=false of a finalized object, then kubectl get',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('w', { size: 1 }, { finalizers: ['example.com/a'] }), { quiet: true });
      await x.k(['delete', 'widget', 'w', '--wait=false']);
      await x.k(['get', 'widget', 'w', '-o', 'jsonpath={.metadata.finalizers} {.metadata.deletionGracePeriodSeconds}']);
      await x.k(['patch', 'widget', 'w', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      await x.k(['get', 'widget', 'w']);
    },
  },
  {
    id: 'finalizers-watch',
    area: 'Finalizers',
    title: 'a watch sees MODIFIED (deletionTimestamp) then DELETED',
    async run(x) {
      const a = (await x.http('POST', cm(x.ns), configMap('a', { finalizers: ['example.com/hold'] }), { quiet: true }))
        .body;
      const done = x.watchFrom(
        `${cm(x.ns)}?watch=1&resourceVersion=${a.metadata.resourceVersion}`,
        (ev) => ev.some((e) => e.type === 'DELETED'),
        15_000,
        (e) => ({
          type: e.type,
          name: e.object?.metadata?.name,
          deleting: !!e.object?.metadata?.deletionTimestamp,
          finalizers: e.object?.metadata?.finalizers ?? [],
        }),
      );
      await x.http('DELETE', cm(x.ns, 'a'), undefined, { quiet: true });
      await x.http('PATCH', cm(x.ns, 'a'), { metadata: { finalizers: null } }, { ...MERGE, quiet: true });
      await done();
    },
  },

  // ---- namespaces ----
  {
    id: 'namespace-protected',
    area: 'Namespaces',
    title: 'default, kube-system and kube-public cannot be deleted',
    async run(x) {
      for (const n of ['default', 'kube-system', 'kube-public']) await x.http('DELETE', nsPath(n));
      await x.k(['delete', 'namespace', 'default']);
      await x.http('DELETE', `${nsPath('default')}?dryRun=All`);
    },
  },
  {
    id: 'namespace-terminating',
    area: 'Namespaces',
    title: 'a deleted namespace is Terminating while its content is finalized; no new content; then gone',
    timeoutMs: 90_000,
    async run(x) {
      const n = `${x.ns}-t`;
      await x.http('POST', nsPath(), { metadata: { name: n } }, { quiet: true });
      await x.http('POST', cm(n), configMap('held', { finalizers: ['example.com/hold'] }), { quiet: true });
      await x.http('POST', cm(n), configMap('free'), { quiet: true });
      await x.http('DELETE', nsPath(n));
      await x.http('GET', nsPath(n));
      await x.eventually('the unfinalized ConfigMap is deleted', () => gone(x, cm(n, 'free')));
      await x.eventually(
        'the finalized ConfigMap is held, deleting',
        async () => !!(await x.t.raw('GET', cm(n, 'held'))).body?.metadata?.deletionTimestamp,
      );
      await x.http('POST', cm(n), configMap('late'));
      await x.http('GET', nsPath(n), undefined, {
        pick: (o) => ({
          phase: o.status?.phase,
          deleting: !!o.metadata?.deletionTimestamp,
          finalizers: o.spec?.finalizers,
        }),
      });
      await x.http('PATCH', cm(n, 'held'), { metadata: { finalizers: null } }, { ...MERGE, quiet: true });
      await x.eventually('the namespace is gone', () => gone(x, nsPath(n)), 60_000);
      await x.http('POST', cm(n), configMap('after'));
    },
  },
  {
    id: 'namespace-kubectl',
    area: 'Namespaces',
    title: 'kubectl create namespace, get its phase and label, delete --wait',
    timeoutMs: 90_000,
    async run(x) {
      const n = `${x.ns}-k`;
      await x.kubectl(['create', 'namespace', n]);
      await x.kubectl(['get', 'namespace', n, '-o', 'jsonpath={.status.phase} {.metadata.labels} {.spec.finalizers}']);
      await x.kubectl(['create', 'configmap', 'c', '-n', n, '--from-literal=a=b']);
      await x.kubectl(['delete', 'namespace', n, '--timeout=60s']);
      await x.kubectl(['get', 'namespace', n]);
    },
  },

  // ---- garbage collection ----
  {
    id: 'gc-background',
    area: 'GarbageCollection',
    title: 'deleting an owner (background propagation) deletes its dependents',
    async run(x) {
      const owner = (await x.http('POST', cm(x.ns), configMap('owner'), { quiet: true })).body;
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid };
      await x.http('POST', cm(x.ns), configMap('dep', { ownerReferences: [ref] }));
      await x.http('POST', wg(x.ns), widget('wdep', { size: 1 }, { ownerReferences: [ref] }));
      await x.k(['delete', 'configmap', 'owner']);
      await x.eventually('the ConfigMap dependent is gone', () => gone(x, cm(x.ns, 'dep')));
      await x.eventually('the Widget dependent is gone', () => gone(x, wg(x.ns, 'wdep')), 60_000);
    },
    timeoutMs: 90_000,
  },
  {
    id: 'gc-orphan',
    area: 'GarbageCollection',
    title: 'orphan propagation keeps dependents and removes their ownerReferences',
    async run(x) {
      const owner = (await x.http('POST', cm(x.ns), configMap('owner'), { quiet: true })).body;
      const other = (await x.http('POST', cm(x.ns), configMap('other'), { quiet: true })).body;
      const ref = (o: any): object => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: o.metadata.name,
        uid: o.metadata.uid,
      });
      await x.http('POST', cm(x.ns), configMap('dep', { ownerReferences: [ref(owner), ref(other)] }), { quiet: true });
      await x.http('DELETE', cm(x.ns, 'owner'), { propagationPolicy: 'Orphan' });
      await x.eventually('the owner is gone', () => gone(x, cm(x.ns, 'owner')));
      await x.eventually('the dependent keeps only the other owner', async () => {
        const d = (await x.t.raw('GET', cm(x.ns, 'dep'))).body;
        return d?.metadata?.ownerReferences?.length === 1 && d.metadata.ownerReferences[0].name === 'other';
      });
      await x.k(['delete', 'configmap', 'other', '--cascade=orphan']);
      await x.eventually('the dependent stays, with no owner', async () => {
        const d = (await x.t.raw('GET', cm(x.ns, 'dep'))).body;
        return d?.metadata?.name === 'dep' && !d.metadata.ownerReferences;
      });
    },
  },
  {
    id: 'gc-foreground',
    area: 'GarbageCollection',
    title: 'foreground propagation: the owner waits (foregroundDeletion) for its dependents',
    async run(x) {
      const owner = (await x.http('POST', cm(x.ns), configMap('owner'), { quiet: true })).body;
      const ref = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'owner',
        uid: owner.metadata.uid,
        blockOwnerDeletion: true,
      };
      await x.http('POST', cm(x.ns), configMap('dep', { ownerReferences: [ref], finalizers: ['example.com/hold'] }), {
        quiet: true,
      });
      await x.http('DELETE', cm(x.ns, 'owner'), { propagationPolicy: 'Foreground' });
      await x.eventually(
        'the dependent is being deleted',
        async () => !!(await x.t.raw('GET', cm(x.ns, 'dep'))).body?.metadata?.deletionTimestamp,
      );
      await x.http('GET', cm(x.ns, 'owner'));
      await x.http('PATCH', cm(x.ns, 'dep'), { metadata: { finalizers: null } }, { ...MERGE, quiet: true });
      await x.eventually('the owner is gone', () => gone(x, cm(x.ns, 'owner')));
    },
  },
  {
    id: 'gc-mesh-cert-secret',
    area: 'GarbageCollection',
    title: 'a Secret owned by an IssuedCertificate, as mesh-cert writes it, goes with it',
    timeoutMs: 90_000,
    async run(x) {
      await x.k(['create', '-f', '-'], icert('ic', x.ns), { quiet: true });
      const ic = (
        await x.t.raw('GET', `/apis/certificates.mesh.gloo.solo.io/v1/namespaces/${x.ns}/issuedcertificates/ic`)
      ).body;
      const owner = {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'IssuedCertificate',
        name: 'ic',
        uid: ic.metadata.uid,
      };
      await x.http('POST', `/api/v1/namespaces/${x.ns}/secrets`, {
        metadata: { name: 'ic', labels: { 'app.kubernetes.io/managed-by': 'mesh-cert' }, ownerReferences: [owner] },
        type: 'Opaque',
        data: { k: 'dg==' },
      });
      await x.k(['delete', 'issuedcertificate', 'ic']);
      await x.eventually('the owned Secret is gone', () => gone(x, `/api/v1/namespaces/${x.ns}/secrets/ic`), 70_000);
    },
  },
  {
    id: 'gc-dangling',
    area: 'GarbageCollection',
    title: 'a dependent whose owner does not exist is deleted',
    async run(x) {
      await x.http(
        'POST',
        cm(x.ns),
        configMap('dep', {
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '6d1b3a4e-7f0e-4a43-9d53-8e4b9a7d2c11' },
          ],
        }),
      );
      await x.http('POST', cm(x.ns), configMap('keep'), { quiet: true });
      await x.eventually('the dependent is gone', () => gone(x, cm(x.ns, 'dep')));
      x.note('the unowned ConfigMap stays', await exists(x, cm(x.ns, 'keep')));
    },
  },
];
