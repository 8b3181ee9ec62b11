// Lists (label and field selectors, pagination) and watches.
import type { Case } from '../harness.js';
import type { WatchEvent } from '../targets.js';
import { cm, configMap, MERGE, wg, widget } from './common.js';

const names = (o: any): unknown => (Array.isArray(o?.items) ? o.items.map((i: any) => i.metadata.name) : o);
const ev = (e: WatchEvent): unknown => ({
  type: e.type,
  name: e.object?.metadata?.name,
  data: e.object?.data,
  labels: e.object?.metadata?.labels,
});

export const listCases: Case[] = [
  {
    id: 'list-label-selectors',
    area: 'List',
    title: 'label selectors: =, ==, !=, in, notin, exists, !key, several',
    async run(x) {
      const mk = (n: string, labels: Record<string, string>): Promise<unknown> =>
        x.http('POST', cm(x.ns), configMap(n, { labels }), { quiet: true });
      await mk('a', { tier: 'web', env: 'prod' });
      await mk('b', { tier: 'db', env: 'prod' });
      await mk('c', { tier: 'web' });
      await mk('d', {});
      for (const sel of [
        'tier=web',
        'tier==db',
        'tier!=web',
        'tier in (web,db)',
        'tier notin (web)',
        'env',
        '!env',
        'tier=web,env=prod',
        'env in (prod),tier!=db',
      ]) {
        await x.http('GET', `${cm(x.ns)}?labelSelector=${encodeURIComponent(sel)}`, undefined, { pick: names });
      }
      await x.k(['get', 'configmaps', '-l', 'tier=web', '-o', 'name']);
    },
  },
  {
    id: 'list-selector-errors',
    area: 'List',
    title: 'malformed label selectors and unsupported field selectors are refused',
    async run(x) {
      await x.http('GET', `${cm(x.ns)}?labelSelector=${encodeURIComponent('a b c')}`);
      await x.http('GET', `${cm(x.ns)}?labelSelector=${encodeURIComponent('x in (a')}`);
      await x.http('GET', `${cm(x.ns)}?fieldSelector=${encodeURIComponent('data.k=v')}`);
      await x.http('GET', `${wg(x.ns)}?fieldSelector=${encodeURIComponent('spec.size=3')}`);
      await x.http('GET', `${wg(x.ns)}?fieldSelector=${encodeURIComponent('metadata.name')}`);
    },
  },
  {
    id: 'list-field-selectors',
    area: 'List',
    title: 'field selectors metadata.name and metadata.namespace (= and !=), across namespaces',
    async run(x) {
      for (const n of ['a', 'b']) await x.http('POST', wg(x.ns), widget(n), { quiet: true });
      await x.http('GET', `${wg(x.ns)}?fieldSelector=metadata.name%3Da`, undefined, { pick: names });
      await x.http('GET', `${wg(x.ns)}?fieldSelector=metadata.name!%3Da`, undefined, { pick: names });
      await x.http(
        'GET',
        `/apis/sandbox.mesh-cert.test/v1/widgets?fieldSelector=metadata.namespace%3D${x.ns}`,
        undefined,
        { pick: names },
      );
      await x.http('GET', `/api/v1/namespaces?fieldSelector=metadata.name%3D${x.ns}`, undefined, { pick: names });
      await x.http('GET', `/api/v1/namespaces?fieldSelector=status.phase%3DActive,metadata.name%3D${x.ns}`, undefined, {
        pick: names,
      });
      await x.k(['get', 'widgets', '--field-selector', 'metadata.name=b', '-o', 'name']);
    },
  },
  {
    id: 'list-pagination',
    area: 'List',
    title: 'limit and continue: pages, remainingItemCount, a bad continue token',
    async run(x) {
      for (const n of ['a', 'b', 'c', 'd', 'e']) await x.http('POST', cm(x.ns), configMap(n), { quiet: true });
      const p1 = (await x.http('GET', `${cm(x.ns)}?limit=2`)).body;
      const p2 = (await x.http('GET', `${cm(x.ns)}?limit=2&continue=${encodeURIComponent(p1.metadata.continue)}`)).body;
      await x.http('GET', `${cm(x.ns)}?limit=2&continue=${encodeURIComponent(p2.metadata.continue)}`);
      await x.http('GET', `${cm(x.ns)}?limit=2&continue=bm90LWEtdG9rZW4`);
      await x.k(['get', 'configmaps', '--chunk-size=2', '-o', 'name']);
    },
  },
  {
    id: 'list-resourceversion',
    area: 'List',
    title: 'a list carries a resourceVersion; items in name order; all-namespaces list',
    async run(x) {
      for (const n of ['b', 'a']) await x.http('POST', wg(x.ns), widget(n), { quiet: true });
      const l = (await x.http('GET', wg(x.ns))).body;
      x.note('list has a resourceVersion', /^\d+$/.test(l.metadata?.resourceVersion ?? ''));
      const all = (await x.t.raw('GET', '/apis/sandbox.mesh-cert.test/v1/widgets')).body;
      x.note(
        'all-namespaces list holds ours',
        all.items.filter((i: any) => i.metadata.namespace === x.ns).map((i: any) => i.metadata.name),
      );
    },
  },
  {
    id: 'watch-from-rv',
    area: 'Watch',
    title: 'watch from a resourceVersion: ADDED, MODIFIED, DELETED in order',
    async run(x) {
      const l = (await x.t.raw('GET', cm(x.ns))).body;
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http('PATCH', cm(x.ns, 'a'), { data: { k: 'v2' } }, { ...MERGE, quiet: true });
      await x.http('DELETE', cm(x.ns, 'a'), undefined, { quiet: true });
      await x.watch(
        `${cm(x.ns)}?watch=true&resourceVersion=${l.metadata.resourceVersion}`,
        (e) => e.some((y) => y.type === 'DELETED'),
        10_000,
        ev,
      );
    },
  },
  {
    id: 'watch-selectors',
    area: 'Watch',
    title: 'a label-selected watch: an object leaving the selection is DELETED, entering is ADDED',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { labels: { pick: 'yes' } }), { quiet: true });
      const l = (await x.t.raw('GET', cm(x.ns))).body;
      const done = x.watchFrom(
        `${cm(x.ns)}?watch=1&labelSelector=pick%3Dyes&resourceVersion=${l.metadata.resourceVersion}`,
        (e) => e.length >= 3,
        10_000,
        ev,
      );
      await new Promise((r) => setTimeout(r, 500));
      await x.http('PATCH', cm(x.ns, 'a'), { metadata: { labels: { pick: 'no' } } }, { ...MERGE, quiet: true });
      await x.http('POST', cm(x.ns), configMap('b', { labels: { pick: 'no' } }), { quiet: true });
      await x.http('PATCH', cm(x.ns, 'b'), { metadata: { labels: { pick: 'yes' } } }, { ...MERGE, quiet: true });
      await x.http('PATCH', cm(x.ns, 'b'), { data: { k: 'v3' } }, { ...MERGE, quiet: true });
      await done();
    },
  },
  {
    id: 'watch-initial',
    area: 'Watch',
    title: 'a watch without resourceVersion starts with ADDED for what exists; field selector on name',
    async run(x) {
      for (const n of ['a', 'b']) await x.http('POST', wg(x.ns), widget(n), { quiet: true });
      await x.watch(
        `${wg(x.ns)}?watch=1`,
        (e) => e.length >= 2,
        10_000,
        (e) => ({ type: e.type, name: e.object?.metadata?.name }),
      );
      await x.watch(
        `${wg(x.ns)}?watch=1&fieldSelector=metadata.name%3Db`,
        (e) => e.length >= 1,
        10_000,
        (e) => ({ type: e.type, name: e.object?.metadata?.name }),
      );
      await x.watch(
        `${wg(x.ns, 'a')}?watch=1`,
        (e) => e.length >= 1,
        3_000,
        (e) => ({ type: e.type, name: e.object?.metadata?.name }),
      );
    },
  },
];
