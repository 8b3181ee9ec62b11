// The pure parts: patch formats, selectors, printer helpers, the protobuf envelope, the store's
// event ring.
import { describe, expect, it } from 'vitest';
import { jsonPatch, JsonPatchError, mergePatch, strategicMergePatch, type Json } from './patch.js';
import { labelSelectorMatcher, parseLabelSelector } from './selectors.js';
import { humanDuration, jsonPathValue, wantsTable } from './tables.js';
import { decodeKubeProtobuf } from './protobuf.js';
import { Store } from './store.js';
import { ApiError } from './errors.js';

describe('patches', () => {
  it('merge patch (RFC 7386): null deletes, objects merge, arrays replace', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3], a: null })).toEqual({
      b: { d: 3, e: 4 },
      l: [3],
    });
  });

  it('JSON patch (RFC 6902): add/remove/replace/move/copy/test, and failures', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' } as Json;
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/a/b/-', value: 3 },
        { op: 'add', path: '/a/b/0', value: 0 },
        { op: 'remove', path: '/c' },
        { op: 'copy', from: '/a/b', path: '/d' },
        { op: 'move', from: '/d', path: '/e' },
        { op: 'replace', path: '/a/b/1', value: 9 },
        { op: 'test', path: '/e/3', value: 3 },
        { op: 'add', path: '/f~1g', value: true },
      ]),
    ).toEqual({ a: { b: [0, 9, 2, 3] }, e: [0, 1, 2, 3], 'f/g': true });
    expect(doc).toEqual({ a: { b: [1, 2] }, c: 'x' });
    // failures carry json-patch.v4's words (webhook patches show them; a PATCH request answers a generic 422)
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/c', value: 'y' }])).toThrow(
      new JsonPatchError('testing value /c failed: test failed'),
    );
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/zz' }])).toThrow(
      "error in remove for path: '/zz': Unable to remove nonexistent key: zz: missing value",
    );
    // json-patch.v4: replace of a missing object key adds it; negative indices count from the end
    expect(
      jsonPatch(doc, [
        { op: 'replace', path: '/n', value: 1 },
        { op: 'add', path: '/a/b/-1', value: 7 },
      ]),
    ).toEqual({ a: { b: [1, 2, 7] }, c: 'x', n: 1 });
    expect(() => jsonPatch(doc, { op: 'add' })).toThrow(ApiError);
  });

  it('strategic merge patch: merge keys, $patch directives, $retainKeys, primitive sets', () => {
    const pod = {
      metadata: { finalizers: ['a'] },
      spec: {
        containers: [
          { name: 'x', image: '1' },
          { name: 'y', image: '2' },
        ],
      },
      status: { conditions: [{ type: 'Ready', status: 'False' }] },
    } as Json;
    expect(
      strategicMergePatch(pod, {
        metadata: { finalizers: ['b'] },
        spec: {
          containers: [
            { name: 'y', image: '3' },
            { name: 'z', image: '4' },
            { name: 'x', $patch: 'delete' },
          ],
          '$setElementOrder/containers': [{ name: 'y' }, { name: 'z' }],
        } as Json,
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
        // a merged primitive list puts the patch's new items before the server's (normalizeElementOrder)
      }),
    ).toEqual({
      metadata: { finalizers: ['b', 'a'] },
      spec: {
        containers: [
          { name: 'y', image: '3' },
          { name: 'z', image: '4' },
        ],
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(strategicMergePatch({ data: { a: '1', b: '2' } }, { data: { $patch: 'replace', c: '3' } })).toEqual({
      data: { c: '3' },
    });
    expect(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ['b', 'c'], c: 3 } })).toEqual({
      spec: { b: 2, c: 3 },
    });
    expect(
      strategicMergePatch(
        { metadata: { finalizers: ['a', 'b'] } },
        { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      ),
    ).toEqual({ metadata: { finalizers: ['b'] } });
    expect(
      strategicMergePatch(
        { webhooks: [{ name: 'w', clientConfig: { url: 'u' } }] },
        { webhooks: [{ name: 'w', clientConfig: { caBundle: 'Q0E=' } }] },
      ),
    ).toEqual({ webhooks: [{ name: 'w', clientConfig: { url: 'u', caBundle: 'Q0E=' } }] });
  });
});

describe('selectors', () => {
  it('parses the label selector grammar', () => {
    const m = parseLabelSelector('env in (prod,stage),tier!=db,!legacy,team');
    expect(m({ env: 'prod', tier: 'web', team: 'a' })).toBe(true);
    expect(m({ env: 'prod', tier: 'db', team: 'a' })).toBe(false);
    expect(m({ env: 'dev', team: 'a' })).toBe(false);
    expect(m({ env: 'prod', team: 'a', legacy: '1' })).toBe(false);
    expect(m({ env: 'prod' })).toBe(false);
    expect(parseLabelSelector('a==b')({ a: 'b' })).toBe(true);
    expect(() => parseLabelSelector('a b c')).toThrow(/unable to parse requirement/);
  });

  it('evaluates LabelSelector objects; empty matches all', () => {
    expect(labelSelectorMatcher({})(undefined)).toBe(true);
    const m = labelSelectorMatcher({
      matchLabels: { a: '1' },
      matchExpressions: [
        { key: 'b', operator: 'NotIn', values: ['x'] },
        { key: 'c', operator: 'DoesNotExist' },
      ],
    });
    expect(m({ a: '1' })).toBe(true);
    expect(m({ a: '1', b: 'x' })).toBe(false);
    expect(m({ a: '1', c: '' })).toBe(false);
  });
});

describe('tables', () => {
  it('formats ages as kubectl does and reads printer-column JSONPaths', () => {
    expect(
      [5e3, 119e3, 125e3, 3600e3, 3 * 3600e3 + 60e3, 30 * 3600e3, 50 * 3600e3, 400 * 86400e3].map(humanDuration),
    ).toEqual(['5s', '119s', '2m5s', '60m', '3h1m', '30h', '2d2h', '400d']);
    expect(jsonPathValue({ a: { b: [{ c: 'x' }] } }, '.a.b[0].c')).toBe('x');
    expect(jsonPathValue({ m: { 'k.io/x': 'v' } }, ".m['k.io/x']")).toBe('v');
    expect(jsonPathValue({}, '.a.b')).toBeUndefined();
    expect(
      wantsTable(
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ),
    ).toBe('meta.k8s.io/v1');
    expect(wantsTable('application/json')).toBeUndefined();
  });
});

describe('protobuf', () => {
  const field = (no: number, payload: Buffer): Buffer =>
    Buffer.concat([Buffer.from([(no << 3) | 2, payload.length]), payload]);
  const str = (no: number, s: string): Buffer => field(no, Buffer.from(s));
  it('decodes a Secret inside the k8s envelope', () => {
    const meta = Buffer.concat([str(1, 'sec'), str(3, 'ns'), field(11, Buffer.concat([str(1, 'app'), str(2, 'x')]))]);
    const secret = Buffer.concat([
      field(1, meta),
      field(2, Buffer.concat([str(1, 'k'), str(2, 'v')])),
      str(3, 'Opaque'),
    ]);
    const env = Buffer.concat([
      Buffer.from('k8s\0', 'binary'),
      field(1, Buffer.concat([str(1, 'v1'), str(2, 'Secret')])),
      field(2, secret),
    ]);
    expect(decodeKubeProtobuf(env)).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sec', namespace: 'ns', labels: { app: 'x' } },
      data: { k: Buffer.from('v').toString('base64') },
      type: 'Opaque',
    });
    expect(() => decodeKubeProtobuf(Buffer.from('nope'))).toThrow(/envelope/);
    const pod = Buffer.concat([Buffer.from('k8s\0', 'binary'), field(1, Buffer.concat([str(1, 'v1'), str(2, 'Pod')]))]);
    expect(() => decodeKubeProtobuf(pod)).toThrow(expect.objectContaining({ code: 501, reason: 'NotImplemented' }));
  });
});

describe('store', () => {
  it('counts resourceVersions monotonically and forgets events beyond its ring', () => {
    const s = new Store(3);
    const rv0 = s.resourceVersion;
    for (let i = 0; i < 5; i++) s.put('g/things', { metadata: { name: `t${i}` } }, 'ADDED');
    expect(s.resourceVersion).toBe(rv0 + 5);
    expect(s.eventsSince(rv0 + 2, 'g/things')?.map((e) => e.object.metadata.name)).toEqual(['t2', 't3', 't4']);
    expect(s.eventsSince(rv0 + 1, 'g/things')).toBeUndefined();
    s.remove('g/things', undefined, 't0');
    expect(s.list('g/things').map((o) => o.metadata.name)).toEqual(['t1', 't2', 't3', 't4']);
  });
});
