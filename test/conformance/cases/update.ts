// Update and patch: resourceVersion preconditions, the status subresource, generation, schema
// and CEL validation of custom resources.
import type { Case, Ctx } from '../harness.js';
import { cm, configMap, icert, JSONPATCH, MERGE, STRATEGIC, wg, widget } from './common.js';

/** Logs whether two resourceVersions are equal (the numbers themselves differ by server). */
const sameRv = (x: Ctx, label: string, a: any, b: any): void =>
  x.note(label, a?.metadata?.resourceVersion === b?.metadata?.resourceVersion);

export const updateCases: Case[] = [
  {
    id: 'update-stale-rv',
    area: 'Update',
    title: 'PUT with a stale resourceVersion: 409 Conflict (ConfigMap, custom resource, status)',
    async run(x) {
      const a = (await x.http('POST', cm(x.ns), configMap('a'), { quiet: true })).body;
      await x.http('PUT', cm(x.ns, 'a'), { ...a, data: { k: 'v2' } }, { quiet: true });
      await x.http('PUT', cm(x.ns, 'a'), { ...a, data: { k: 'v3' } });
      const w = (await x.http('POST', wg(x.ns), widget('w'), { quiet: true })).body;
      await x.http('PUT', wg(x.ns, 'w'), { ...w, spec: { size: 4 } }, { quiet: true });
      await x.http('PUT', wg(x.ns, 'w'), { ...w, spec: { size: 5 } });
      await x.http('PUT', wg(x.ns, 'w/status'), { ...w, status: { phase: 'New' } });
    },
  },
  {
    id: 'update-no-rv',
    area: 'Update',
    title: 'PUT without resourceVersion: a ConfigMap is replaced, a custom resource is refused',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http('PUT', cm(x.ns, 'a'), configMap('a', {}, { k: 'v2' }));
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      await x.http('PUT', wg(x.ns, 'w'), widget('w', { size: 4 }));
    },
  },
  {
    id: 'update-missing-and-mismatch',
    area: 'Update',
    title: 'PUT of a missing object (404), a name other than the URL one (400)',
    async run(x) {
      await x.http('PUT', cm(x.ns, 'ghost'), configMap('ghost'));
      await x.http('PUT', wg(x.ns, 'ghost'), { ...widget('ghost'), metadata: { name: 'ghost', resourceVersion: '1' } });
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http('PUT', cm(x.ns, 'a'), configMap('b'));
      await x.http('PATCH', cm(x.ns, 'ghost'), { data: { a: 'b' } }, MERGE);
    },
  },
  {
    id: 'update-noop',
    area: 'Update',
    title: 'an update that changes nothing keeps the resourceVersion',
    async run(x) {
      const a = (await x.http('POST', cm(x.ns), configMap('a'), { quiet: true })).body;
      const b = (await x.http('PUT', cm(x.ns, 'a'), a)).body;
      sameRv(x, 'PUT unchanged keeps resourceVersion', a, b);
      const c = (await x.http('PATCH', cm(x.ns, 'a'), { data: { k: 'v' } }, MERGE)).body;
      sameRv(x, 'PATCH unchanged keeps resourceVersion', a, c);
      const d = (await x.http('PATCH', cm(x.ns, 'a'), { data: { k: 'v2' } }, MERGE)).body;
      sameRv(x, 'PATCH with a change keeps resourceVersion', a, d);
    },
  },
  {
    id: 'patch-preconditions',
    area: 'Patch',
    title: 'a resourceVersion in a merge patch is a precondition; uid is immutable',
    async run(x) {
      const a = (await x.http('POST', cm(x.ns), configMap('a'), { quiet: true })).body;
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        { metadata: { resourceVersion: a.metadata.resourceVersion }, data: { k: '1' } },
        MERGE,
      );
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        { metadata: { resourceVersion: a.metadata.resourceVersion }, data: { k: '2' } },
        MERGE,
      );
      await x.http('PATCH', cm(x.ns, 'a'), { metadata: { uid: '6d1b3a4e-7f0e-4a43-9d53-8e4b9a7d2c11' } }, MERGE);
    },
  },
  {
    id: 'patch-json',
    area: 'Patch',
    title: 'JSON patch: add/replace/test, a failing test, a missing path',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        [
          { op: 'add', path: '/data/n', value: '1' },
          { op: 'replace', path: '/data/k', value: 'v2' },
        ],
        JSONPATCH,
      );
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        [
          { op: 'test', path: '/data/k', value: 'nope' },
          { op: 'remove', path: '/data/k' },
        ],
        JSONPATCH,
      );
      await x.http('PATCH', cm(x.ns, 'a'), [{ op: 'remove', path: '/data/missing' }], JSONPATCH);
      await x.http('PATCH', cm(x.ns, 'a'), [{ op: 'replace', path: '/spec/x', value: 1 }], JSONPATCH);
    },
  },
  {
    id: 'patch-strategic',
    area: 'Patch',
    title: 'strategic merge patch: served for ConfigMaps, 415 for custom resources',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { finalizers: ['example.com/a'] }), { quiet: true });
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        { metadata: { finalizers: ['example.com/b'] }, data: { n: '1' } },
        STRATEGIC,
      );
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        { metadata: { $deleteFromPrimitiveList: { finalizers: ['example.com/a', 'example.com/b'] } } },
        STRATEGIC,
      );
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a', 'example.com/b'] } },
        STRATEGIC,
      );
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      await x.http('PATCH', wg(x.ns, 'w'), { spec: { size: 4 } }, STRATEGIC);
      await x.http('PATCH', cm(x.ns, 'a'), { data: { k: 'v' } }, { contentType: 'text/plain' });
    },
  },

  // ---- status subresource and generation ----
  {
    id: 'generation',
    area: 'Status',
    title: 'generation: 1 on create, bumped by spec changes, not by metadata or status',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('w'));
      await x.http('PATCH', wg(x.ns, 'w'), { spec: { size: 4 } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'w'), { metadata: { labels: { a: 'b' }, annotations: { c: 'd' } } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'w/status'), { status: { phase: 'Building', observedGeneration: 2 } }, MERGE);
      await x.http('GET', wg(x.ns, 'w'));
    },
  },
  {
    id: 'status-subresource',
    area: 'Status',
    title: 'create drops status; a main write keeps status; a status write changes only status',
    async run(x) {
      await x.http('POST', wg(x.ns), { ...widget('w'), status: { phase: 'Done' } });
      await x.http('PATCH', wg(x.ns, 'w'), { spec: { size: 5 }, status: { phase: 'Building' } }, MERGE);
      await x.http(
        'PATCH',
        wg(x.ns, 'w/status'),
        { spec: { size: 9 }, metadata: { labels: { s: 't' } }, status: { phase: 'New' } },
        MERGE,
      );
      const cur = (await x.http('GET', wg(x.ns, 'w'))).body;
      await x.http('PUT', wg(x.ns, 'w/status'), { ...cur, spec: { size: 1 }, status: { phase: 'Building' } });
      await x.http('GET', `${wg(x.ns, 'w')}/status`);
      await x.http('GET', `${cm(x.ns, 'nope')}/status`);
    },
  },
  {
    id: 'validation-schema',
    area: 'Validation',
    title: 'schema violations: bounds, enum, maxItems, maxLength, required, types',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('a', { size: 11, color: 'green', tags: ['waytoolongtag', 'b', 'c', 'd'] }));
      await x.http('POST', wg(x.ns), widget('b', { color: 'red' }));
      await x.http('POST', wg(x.ns), widget('c', { size: 'three' }));
      await x.http('POST', wg(x.ns), widget('d', { size: 0 }));
    },
  },
  {
    id: 'validation-defaults',
    area: 'Validation',
    title: 'schema defaults applied on create and on update',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('a', { size: 1 }));
      await x.http('PATCH', wg(x.ns, 'a'), { spec: { color: null } }, MERGE);
    },
  },
  {
    id: 'validation-cel',
    area: 'Validation',
    title: 'CEL rules: a status rule with fieldPath and reason, a transition rule with messageExpression',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('a'), { quiet: true });
      await x.http('PATCH', wg(x.ns, 'a/status'), { status: { phase: 'Failed' } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'a/status'), { status: { phase: 'Done' } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'a/status'), { status: { phase: 'Building' } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'a/status'), { status: null }, MERGE);
    },
  },
  {
    id: 'mesh-cert-issuedcertificate',
    area: 'Validation',
    title: "mesh-cert's IssuedCertificate: status state machine, observedGeneration, FAILED needs an error",
    async run(x) {
      const base = `/apis/certificates.mesh.gloo.solo.io/v1/namespaces/${x.ns}/issuedcertificates`;
      await x.k(['create', '-f', '-'], icert('ic', x.ns), { quiet: true });
      await x.http(
        'PATCH',
        `${base}/ic/status?fieldManager=kubectl-mesh-cert`,
        { status: { state: 'ISSUED', observedGeneration: 1 } },
        MERGE,
      );
      await x.http(
        'PATCH',
        `${base}/ic/status?fieldManager=kubectl-mesh-cert`,
        { status: { state: 'REQUESTED', observedGeneration: 1 } },
        MERGE,
      );
      await x.http('PATCH', `${base}/ic/status?fieldManager=kubectl-mesh-cert`, { status: { state: 'FAILED' } }, MERGE);
      await x.http(
        'PATCH',
        `${base}/ic/status?fieldManager=kubectl-mesh-cert`,
        { status: { state: 'FAILED', error: 'no signer' } },
        MERGE,
      );
      await x.http(
        'PATCH',
        `${base}/ic/status?fieldManager=kubectl-mesh-cert`,
        { status: { state: 'REQUESTED', error: null, observedGeneration: 0 } },
        MERGE,
      );
      await x.http(
        'PATCH',
        `${base}/ic?fieldManager=kubectl-mesh-cert`,
        { spec: { certOptions: { ttlDays: 40, orgName: 'gloo-mesh' } } },
        MERGE,
      );
      await x.http('GET', `${base}/ic`);
    },
  },
  {
    id: 'validation-mesh-cert-crd',
    area: 'Validation',
    title: "mesh-cert's CertificateRequest: the state machine rule and format byte",
    async run(x) {
      const base = `/apis/certificates.mesh.gloo.solo.io/v1/namespaces/${x.ns}/certificaterequests`;
      await x.http('POST', base, {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'CertificateRequest',
        metadata: { name: 'r' },
        spec: { certificateSigningRequest: 'bm90IGJhc2U2NA==' },
      });
      await x.http('POST', base, {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'CertificateRequest',
        metadata: { name: 's' },
        spec: { certificateSigningRequest: 'not base64!' },
      });
      await x.http('PATCH', `${base}/r/status`, { status: { state: 'FINISHED' } }, MERGE);
      await x.http('PATCH', `${base}/r/status`, { status: { state: 'PENDING' } }, MERGE);
      await x.http('PATCH', `${base}/r/status`, { status: { state: 'BOGUS' } }, MERGE);
    },
  },
];
