// kube-apiserver semantics over raw HTTPS: auth, resourceVersion/409, generation, the status
// subresource, schema and CEL validation, namespaces, selectors, pagination, watch and 410,
// discovery, tables, restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxCluster } from './index.js';
import { raw, watchEvents } from './helpers.js';
import { GROUP, widget, widgetCrd } from './fixtures.js';

/** Polls until `probe` holds (controllers run a few milliseconds after the writes they follow). */
async function eventually(probe: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

let sb: Sandbox;
let c: SandboxCluster;
const W = `/apis/${GROUP}/v1/namespaces/default/widgets`;

beforeAll(async () => {
  sb = await startSandbox({ clusters: ['one', 'two'], crds: false, bookmarkIntervalMs: 200 });
  c = sb.clusters.get('one')!;
  const r = await raw(c, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd);
  expect(r.status).toBe(201);
});
afterAll(async () => {
  await sb?.stop();
});

describe('authentication', () => {
  it('answers 401 Unauthorized Status without or with a wrong token', async () => {
    for (const token of [null, 'nope', sb.clusters.get('two')!.token]) {
      const r = await raw(c, 'GET', '/api/v1/namespaces', undefined, { token });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Unauthorized',
        code: 401,
        message: 'Unauthorized',
      });
    }
    expect((await raw(c, 'GET', '/healthz', undefined, { token: null })).text).toBe('ok');
  });
});

describe('discovery', () => {
  it('serves /api, /apis and resource lists including CRD kinds and status subresources', async () => {
    expect((await raw(c, 'GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = (await raw(c, 'GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['apiextensions.k8s.io', 'admissionregistration.k8s.io', GROUP]));
    const rl = (await raw(c, 'GET', `/apis/${GROUP}/v1`)).body;
    expect(rl.resources.map((x: { name: string }) => x.name)).toEqual(['widgets', 'widgets/status']);
    expect(rl.resources[0]).toMatchObject({ kind: 'Widget', namespaced: true, shortNames: ['wg'] });
    expect((await raw(c, 'GET', '/apis/nope.example/v1')).status).toBe(404);
    // the other cluster does not serve this CRD: clusters are independent
    expect((await raw(sb.clusters.get('two')!, 'GET', `/apis/${GROUP}/v1`)).status).toBe(404);
  });
});

describe('create', () => {
  it('fills uid, creationTimestamp, generation 1 and resourceVersion; drops status; applies defaults', async () => {
    const r = await raw(c, 'POST', W, { ...widget('a'), status: { phase: 'Done' } });
    expect(r.status).toBe(201);
    const m = r.body.metadata;
    expect(m.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(m.generation).toBe(1);
    expect(Number(m.resourceVersion)).toBeGreaterThan(0);
    expect(r.body.status).toBeUndefined();
    expect(r.body.spec.color).toBe('red');
  });

  it('generateName gets a random suffix', async () => {
    const r = await raw(c, 'POST', W, { ...widget(''), metadata: { generateName: 'gen-' } });
    expect(r.status).toBe(201);
    expect(r.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('409 AlreadyExists for a taken name, 404 for a missing namespace, 422 without a name', async () => {
    const again = await raw(c, 'POST', W, widget('a'));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: 'AlreadyExists', message: `widgets.${GROUP} "a" already exists` });
    const nons = await raw(c, 'POST', `/apis/${GROUP}/v1/namespaces/ghost/widgets`, widget('x', 'ghost'));
    expect(nons.status).toBe(404);
    expect(nons.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "ghost" not found' });
    const noname = await raw(c, 'POST', W, { ...widget(''), metadata: {} });
    expect(noname.status).toBe(422);
    expect(noname.body.message).toContain('metadata.name: Required value: name or generateName is required');
  });

  it('rejects schema violations with 422 Invalid naming each field', async () => {
    const r = await raw(c, 'POST', W, widget('bad', 'default', { size: 11, color: 'green', tags: ['waytoolongtag'] }));
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe('Invalid');
    const fields = r.body.details.causes.map((x: { field: string }) => x.field).sort();
    // the CEL rules did not run: kube-apiserver says so with a <nil> cause
    expect(fields).toEqual(['<nil>', 'spec.color', 'spec.size', 'spec.tags[0]']);
    expect(r.body.message).toContain(
      '<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    );
    expect(r.body.message).toContain('Widget.sandbox.mesh-cert.test "bad" is invalid: [');
    expect(r.body.message).toContain('spec.color: Unsupported value: "green": supported values: "red", "blue"');
    expect(r.body.message).toContain(
      'spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10',
    );
    // preserve-unknown-fields keeps anything
    expect((await raw(c, 'POST', W, widget('free', 'default', { size: 1, extra: { any: { thing: 1 } } }))).status).toBe(
      201,
    );
    const missing = await raw(c, 'POST', W, widget('nosize', 'default', {}));
    expect(missing.body.message).toContain('spec.size: Required value');
  });

  it('handles undeclared fields per fieldValidation: absent or Warn prune with a warning, Strict 400, Ignore prunes', async () => {
    const body = widget('unk', 'default', { size: 1, bogus: true, tags: ['a'] });
    (body as { extraTop?: number }).extraTop = 1;
    // without the parameter kube-apiserver warns (fieldValidation defaults to Warn)
    const dflt = await raw(c, 'POST', `${W}?dryRun=All`, body);
    expect(dflt.status).toBe(201);
    expect(dflt.headers.warning).toBe('299 - "unknown field \\"extraTop\\"", 299 - "unknown field \\"spec.bogus\\""');
    expect(dflt.body.spec).toEqual({ size: 1, tags: ['a'], color: 'red' });
    const strict = await raw(c, 'POST', `${W}?fieldValidation=Strict`, body);
    expect(strict.status).toBe(400);
    expect(strict.body).toMatchObject({
      reason: 'BadRequest',
      message:
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "extraTop", unknown field "spec.bogus"',
    });
    const warn = await raw(c, 'POST', `${W}?fieldValidation=Warn`, body);
    expect(warn.status).toBe(201);
    expect(warn.headers.warning).toBe('299 - "unknown field \\"extraTop\\"", 299 - "unknown field \\"spec.bogus\\""');
    expect(warn.body.spec).toEqual({ size: 1, tags: ['a'], color: 'red' });
    expect(warn.body.extraTop).toBeUndefined();
    const ignore = await raw(
      c,
      'PATCH',
      `${W}/unk?fieldValidation=Ignore`,
      { spec: { nope: 1 } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(ignore.status).toBe(200);
    expect(ignore.headers.warning).toBeUndefined();
    expect(ignore.body.spec.nope).toBeUndefined();
  });
});

describe('update, patch and the status subresource', () => {
  it('a stale resourceVersion gets 409 Conflict in kube-apiserver words', async () => {
    const cur = (await raw(c, 'GET', `${W}/a`)).body;
    const ok = await raw(c, 'PUT', `${W}/a`, { ...cur, spec: { ...cur.spec, size: 4 } });
    expect(ok.status).toBe(200);
    const stale = await raw(c, 'PUT', `${W}/a`, { ...cur, spec: { ...cur.spec, size: 5 } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      reason: 'Conflict',
      code: 409,
      details: { name: 'a', group: GROUP, kind: 'widgets' },
    });
    expect(stale.body.message).toBe(
      `Operation cannot be fulfilled on widgets.${GROUP} "a": the object has been modified; please apply your changes to the latest version and try again`,
    );
    // custom resources need a resourceVersion on PUT
    const norv = await raw(c, 'PUT', `${W}/a`, { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined } });
    expect(norv.status).toBe(422);
    // a merge patch carrying a stale resourceVersion is a precondition too
    const stalePatch = await raw(
      c,
      'PATCH',
      `${W}/a`,
      { metadata: { resourceVersion: cur.metadata.resourceVersion }, spec: { size: 6 } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(stalePatch.status).toBe(409);
  });

  it('generation moves with spec changes only; status writes change status only', async () => {
    const base = (await raw(c, 'GET', `${W}/a`)).body;
    const g = base.metadata.generation;
    const labelled = await raw(
      c,
      'PATCH',
      `${W}/a`,
      { metadata: { labels: { x: 'y' } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(labelled.body.metadata.generation).toBe(g);
    const st = await raw(
      c,
      'PATCH',
      `${W}/a/status`,
      { status: { phase: 'Building' }, spec: { size: 9 }, metadata: { labels: { x: 'z' } } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(st.status).toBe(200);
    expect(st.body.status.phase).toBe('Building');
    expect(st.body.spec.size).toBe(base.spec.size);
    expect(st.body.metadata.labels).toEqual({ x: 'y' });
    expect(st.body.metadata.generation).toBe(g);
    const main = await raw(
      c,
      'PATCH',
      `${W}/a`,
      { spec: { size: 7 }, status: { phase: 'New' } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(main.body.metadata.generation).toBe(g + 1);
    expect(main.body.status.phase).toBe('Building');
    const jp = await raw(
      c,
      'PATCH',
      `${W}/a`,
      [
        { op: 'replace', path: '/spec/size', value: 8 },
        { op: 'test', path: '/spec/size', value: 8 },
      ],
      { contentType: 'application/json-patch+json' },
    );
    expect(jp.body.metadata.generation).toBe(g + 2);
    expect(jp.body.spec.size).toBe(8);
  });

  it('a write that changes nothing keeps the resourceVersion', async () => {
    const before = (await raw(c, 'GET', `${W}/a`)).body;
    const same = await raw(
      c,
      'PATCH',
      `${W}/a`,
      { spec: { size: before.spec.size } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(same.body.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('evaluates CEL rules, transition rules included, and refuses strategic merge patch for custom resources', async () => {
    const failedNoMsg = await raw(
      c,
      'PATCH',
      `${W}/a/status`,
      { status: { phase: 'Failed' } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(failedNoMsg.status).toBe(422);
    expect(failedNoMsg.body.message).toContain('status.message: Required value: a Failed widget says why');
    expect(
      (
        await raw(
          c,
          'PATCH',
          `${W}/a/status`,
          { status: { phase: 'Done' } },
          { contentType: 'application/merge-patch+json' },
        )
      ).status,
    ).toBe(200);
    const back = await raw(
      c,
      'PATCH',
      `${W}/a/status`,
      { status: { phase: 'Building' } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(back.status).toBe(422);
    expect(back.body.message).toBe(
      'Widget.sandbox.mesh-cert.test "a" is invalid: status.phase: Invalid value: "object": a Done widget stays Done, not Building',
    );
    const smp = await raw(
      c,
      'PATCH',
      `${W}/a`,
      { spec: { size: 2 } },
      { contentType: 'application/strategic-merge-patch+json' },
    );
    expect(smp.status).toBe(415);
  });
});

describe('lists, selectors and pagination', () => {
  it('filters by label selector and pages with limit/continue', async () => {
    for (const [n, tier] of [
      ['p1', 'gold'],
      ['p2', 'gold'],
      ['p3', 'silver'],
      ['p4', 'gold'],
    ]) {
      expect((await raw(c, 'POST', W, widget(n, 'default', { size: 1 }, { tier, page: 'yes' }))).status).toBe(201);
    }
    const gold = (await raw(c, 'GET', `${W}?labelSelector=${encodeURIComponent('tier=gold')}`)).body;
    expect(gold.kind).toBe('WidgetList');
    expect(gold.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['p1', 'p2', 'p4']);
    const notIn = (await raw(c, 'GET', `${W}?labelSelector=${encodeURIComponent('page,tier notin (gold)')}`)).body;
    expect(notIn.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['p3']);
    const names: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const page = (await raw(c, 'GET', `${W}?labelSelector=page%3Dyes&limit=3${cont ? `&continue=${cont}` : ''}`))
        .body;
      names.push(...page.items.map((i: { metadata: { name: string } }) => i.metadata.name));
      cont = page.metadata.continue ?? '';
      if (cont) expect(page.metadata.remainingItemCount).toBe(1);
      pages++;
    } while (cont);
    expect(pages).toBe(2);
    expect(names).toEqual(['p1', 'p2', 'p3', 'p4']);
    const all = (await raw(c, 'GET', `/apis/${GROUP}/v1/widgets?fieldSelector=metadata.name%3Dp3`)).body;
    expect(all.items).toHaveLength(1);
  });

  it('serves Table responses with the CRD printer columns', async () => {
    const t = (
      await raw(c, 'GET', `${W}?labelSelector=tier%3Dsilver`, undefined, {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
      })
    ).body;
    expect(t.kind).toBe('Table');
    expect(t.columnDefinitions.map((x: { name: string }) => x.name)).toEqual(['Name', 'Size', 'Phase', 'Age']);
    expect(t.rows[0].cells.slice(0, 3)).toEqual(['p3', 1, null]);
    expect(t.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'p3' } });
  });
});

describe('watch', () => {
  it('streams ADDED/MODIFIED/DELETED from a resourceVersion, and bookmarks when asked', async () => {
    const start = (await raw(c, 'GET', W)).body.metadata.resourceVersion;
    const seen = watchEvents(
      c,
      `${W}?watch=1&resourceVersion=${start}&allowWatchBookmarks=true`,
      (ev) => ev.some((e) => e.type === 'DELETED') && ev.some((e) => e.type === 'BOOKMARK'),
    );
    await raw(c, 'POST', W, widget('w1'));
    await raw(c, 'PATCH', `${W}/w1`, { spec: { size: 2 } }, { contentType: 'application/merge-patch+json' });
    await raw(c, 'DELETE', `${W}/w1`);
    const ev = (await seen).filter((e) => e.type !== 'BOOKMARK' || e.object.metadata.resourceVersion);
    expect(ev.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED w1',
      'MODIFIED w1',
      'DELETED w1',
    ]);
    const bm = ev.find((e) => e.type === 'BOOKMARK')!;
    expect(bm.object).toMatchObject({ kind: 'Widget', apiVersion: `${GROUP}/v1` });
  });

  it('without a resourceVersion starts with ADDED for what exists; a label watch sees objects leave', async () => {
    const seen = watchEvents(c, `${W}?watch=true&labelSelector=tier%3Dsilver`, (ev) =>
      ev.some((e) => e.type === 'DELETED'),
    );
    await new Promise((r) => setTimeout(r, 100));
    await raw(
      c,
      'PATCH',
      `${W}/p3`,
      { metadata: { labels: { tier: 'bronze' } } },
      { contentType: 'application/merge-patch+json' },
    );
    const ev = await seen;
    expect(ev.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED p3', 'DELETED p3']);
  });

  it('sendInitialEvents=true streams the current state, then a BOOKMARK marking its end', async () => {
    const ev = await watchEvents(
      c,
      `${W}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=tier%3Dgold`,
      (e) => e.some((x) => x.type === 'BOOKMARK'),
    );
    expect(
      ev.map((e) =>
        e.type === 'BOOKMARK'
          ? `BOOKMARK ${e.object.metadata.annotations['k8s.io/initial-events-end']}`
          : `${e.type} ${e.object.metadata.name}`,
      ),
    ).toEqual(['ADDED p1', 'ADDED p2', 'ADDED p4', 'BOOKMARK true']);
  });

  it('answers a watch from a compacted resourceVersion with ERROR 410 Expired', async () => {
    const internals = sb.internals.get('one')!;
    const old = internals.api.store.resourceVersion;
    await raw(c, 'POST', W, widget('late'));
    internals.api.store.compact();
    const ev = await watchEvents(c, `${W}?watch=1&resourceVersion=${old}`, (e) => e.length > 0);
    expect(ev[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(ev[0].object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });
});

describe('built-in kinds', () => {
  it('secrets: stringData folds into data, bad base64 is 400, type defaults to Opaque', async () => {
    const s = await raw(c, 'POST', '/api/v1/namespaces/default/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { k: 'v' },
    });
    expect(s.status).toBe(201);
    expect(s.body).toMatchObject({ type: 'Opaque', data: { k: Buffer.from('v').toString('base64') } });
    expect(s.body.stringData).toBeUndefined();
    expect(
      (await raw(c, 'POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 't' }, data: { k: '!!' } }))
        .status,
    ).toBe(400);
  });

  it('pods carry a Ready condition set through the status subresource', async () => {
    await raw(c, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'p', labels: { app: 'x' } },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    const st = await raw(
      c,
      'PATCH',
      '/api/v1/namespaces/default/pods/p/status',
      { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      { contentType: 'application/strategic-merge-patch+json' },
    );
    expect(st.status).toBe(200);
    const t = (
      await raw(c, 'GET', '/api/v1/namespaces/default/pods', undefined, {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      })
    ).body;
    expect(t.rows[0].cells.slice(0, 3)).toEqual(['p', '1/1', 'Running']);
  });

  it('with replaceDeletedPods, a deleted Pod is replaced by a Ready one with the same labels', async () => {
    c.replaceDeletedPods({ readyAfterMs: 50 });
    await raw(c, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'istiod-abcde', labels: { app: 'istiod' } },
      spec: { containers: [{ name: 'discovery', image: 'istio' }] },
    });
    const rv = (await raw(c, 'GET', '/api/v1/namespaces/default/pods')).body.metadata.resourceVersion;
    const seen = watchEvents(
      c,
      `/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Distiod&resourceVersion=${rv}`,
      (ev) => ev.some((e) => e.type === 'MODIFIED'),
    );
    expect((await raw(c, 'DELETE', '/api/v1/namespaces/default/pods/istiod-abcde')).status).toBe(200);
    const ev = await seen;
    c.replaceDeletedPods(false);
    expect(ev.map((e) => e.type)).toEqual(['DELETED', 'ADDED', 'MODIFIED']);
    const pod = ev[2].object;
    expect(pod.metadata.name).toMatch(/^istiod-[a-z0-9]{5}$/);
    expect(pod.metadata.name).not.toBe('istiod-abcde');
    expect(pod.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    const t = (
      await raw(c, 'GET', `/api/v1/namespaces/default/pods/${pod.metadata.name}`, undefined, {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      })
    ).body;
    expect(t.rows[0].cells.slice(1, 3)).toEqual(['1/1', 'Running']);
  });

  it('deleting a namespace: Terminating, its content deleted, then the namespace gone', async () => {
    await raw(c, 'POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await raw(c, 'POST', `/apis/${GROUP}/v1/namespaces/doomed/widgets`, widget('x', 'doomed'));
    const del = await raw(c, 'DELETE', '/api/v1/namespaces/doomed');
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({
      kind: 'Namespace',
      status: { phase: 'Terminating' },
      spec: { finalizers: ['kubernetes'] },
    });
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    await eventually(async () => (await raw(c, 'GET', '/api/v1/namespaces/doomed')).status === 404);
    expect((await raw(c, 'GET', `/apis/${GROUP}/v1/namespaces/doomed/widgets/x`)).status).toBe(404);
    // default, kube-system and kube-public are not deletable
    expect((await raw(c, 'DELETE', '/api/v1/namespaces/default')).body).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'namespaces "default" is forbidden: this namespace may not be deleted',
    });
  });
});

describe('collections and CRD lifecycle', () => {
  it('deletecollection honours selectors; dryRun=All stores nothing; legacy /watch/ paths stream', async () => {
    const two = sb.clusters.get('two')!;
    for (const [n, l] of [
      ['x1', 'a'],
      ['x2', 'a'],
      ['x3', 'b'],
    ])
      await raw(two, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: n, labels: { l } } });
    const dry = await raw(two, 'POST', '/api/v1/namespaces/default/configmaps?dryRun=All', {
      metadata: { name: 'x4' },
    });
    expect(dry.status).toBe(201);
    expect((await raw(two, 'GET', '/api/v1/namespaces/default/configmaps/x4')).status).toBe(404);
    const del = await raw(two, 'DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=l%3Da');
    expect(del.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['x1', 'x2']);
    const left = (await raw(two, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=l')).body.items.map(
      (i: { metadata: { name: string } }) => i.metadata.name,
    );
    expect(left).toEqual(['x3']);
    const ev = await watchEvents(
      two,
      '/api/v1/watch/namespaces/default/configmaps?labelSelector=l',
      (e) => e.length >= 1,
    );
    expect(ev.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED x3']);
  });

  it('deleting a CRD stops serving its kind and deletes its objects; re-creating it starts empty', async () => {
    const crd = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${GROUP}`;
    const two = sb.clusters.get('two')!;
    expect((await raw(two, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd)).status).toBe(
      201,
    );
    const got = (await raw(two, 'GET', crd)).body;
    expect(got.status.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`)).toEqual([
      'NamesAccepted=True',
      'Established=True',
    ]);
    expect((await raw(two, 'POST', W, widget('gone'))).status).toBe(201);
    // the CRD goes Terminating behind its cleanup finalizer, its objects are deleted, then it goes
    const del = await raw(two, 'DELETE', crd);
    expect(del.status).toBe(200);
    expect(del.body.metadata.finalizers).toEqual(['customresourcecleanup.apiextensions.k8s.io']);
    await eventually(async () => (await raw(two, 'GET', crd)).status === 404);
    expect((await raw(two, 'GET', W)).status).toBe(404);
    expect((await raw(two, 'GET', `/apis/${GROUP}/v1`)).status).toBe(404);
    await raw(two, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd);
    expect((await raw(two, 'GET', W)).body.items).toEqual([]);
    const bad = await raw(two, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      ...widgetCrd,
      metadata: { name: 'wrong.name' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain(
      'metadata.name: Invalid value: "wrong.name": must be spec.names.plural+"."+spec.group',
    );
  });
});

describe('stop and start', () => {
  it('restarts on the same port with the same state', async () => {
    const two = sb.clusters.get('two')!;
    await raw(two, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'keep' }, data: { a: '1' } });
    const url = two.url;
    await two.stop();
    await expect(raw(two, 'GET', '/api')).rejects.toThrow();
    await two.start();
    expect(two.url).toBe(url);
    expect((await raw(two, 'GET', '/api/v1/namespaces/default/configmaps/keep')).body.data).toEqual({ a: '1' });
  });
});
