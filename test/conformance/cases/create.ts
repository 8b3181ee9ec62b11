// Create, object metadata validation and fieldValidation.
import type { Case } from '../harness.js';
import { pickObject } from '../harness.js';
import { cm, configMap, icert, wg, widget } from './common.js';

const genName = (o: any): unknown => {
  const p = pickObject(o) as { metadata?: { name?: string } };
  if (p.metadata?.name) p.metadata.name = p.metadata.name.replace(/^(gen-)[a-z0-9]{5}$/, '$1<suffix>');
  return p;
};

export const createCases: Case[] = [
  {
    id: 'create-configmap',
    area: 'Create',
    title: 'POST a ConfigMap, GET it back',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { labels: { app: 'x' }, annotations: { note: 'n' } }));
      await x.http('GET', cm(x.ns, 'a'));
    },
  },
  {
    id: 'create-resourceversion',
    area: 'Create',
    title: 'create with metadata.resourceVersion set is rejected (ConfigMap and custom resource)',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { resourceVersion: '5' }));
      await x.http('POST', wg(x.ns), widget('w', { size: 1 }, { resourceVersion: '5' }));
      await x.http('GET', cm(x.ns, 'a'));
    },
  },
  {
    id: 'create-generatename',
    area: 'Create',
    title: 'generateName gets a 5-character suffix',
    async run(x) {
      await x.http('POST', cm(x.ns), { metadata: { generateName: 'gen-' } }, { pick: genName });
      await x.http('POST', wg(x.ns), { ...widget(''), metadata: { generateName: 'gen-' } }, { pick: genName });
    },
  },
  {
    id: 'create-conflicts',
    area: 'Create',
    title: 'AlreadyExists, a missing namespace, no name, a bad name',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http('POST', cm(x.ns), configMap('a'));
      await x.http('POST', cm('nowhere-conformance'), configMap('a'));
      await x.http('POST', wg('nowhere-conformance'), widget('a'));
      await x.http('POST', cm(x.ns), { metadata: {} });
      await x.http('POST', cm(x.ns), configMap('Bad_Name'));
      await x.http('POST', wg(x.ns), widget('Bad_Name'));
    },
  },
  {
    id: 'create-namespace-mismatch',
    area: 'Create',
    title: 'a body namespace other than the URL one is refused',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { namespace: 'default' }));
      await x.http('POST', wg(x.ns), widget('a', { size: 1 }, { namespace: 'default' }));
    },
  },
  {
    id: 'create-dryrun',
    area: 'Create',
    title: 'a dry-run create answers the object (generated name too) and stores nothing',
    async run(x) {
      await x.http('POST', `${cm(x.ns)}?dryRun=All`, configMap('a'));
      await x.http('GET', cm(x.ns, 'a'));
      await x.http(
        'POST',
        `${wg(x.ns)}?dryRun=All`,
        { ...widget(''), metadata: { generateName: 'gen-' } },
        { pick: genName },
      );
      await x.http('GET', wg(x.ns), undefined, { pick: (o) => o.items?.length });
      await x.k(['create', 'configmap', 'b', '--from-literal=a=b', '--dry-run=server', '-o', 'name']);
      await x.http('POST', `${cm(x.ns)}?dryRun=Some`, configMap('c'));
    },
  },
  {
    id: 'create-kubectl-icert',
    area: 'Create',
    title: 'kubectl create/apply of an IssuedCertificate as mesh-cert writes it, get -o json',
    async run(x) {
      await x.k(['create', '-f', '-'], icert('istiod', x.ns));
      await x.k(['apply', '-f', '-'], icert('istiod', x.ns, 31));
      await x.k(['get', 'issuedcertificates.certificates.mesh.gloo.solo.io', 'istiod', '-o', 'json'], undefined, {
        json: true,
      });
    },
  },

  // ---- metadata validation ----
  {
    id: 'meta-labels',
    area: 'Metadata',
    title: 'bad label keys and values (ConfigMap and custom resource)',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { labels: { 'bad key!': 'v', k: 'bad value!' } }));
      await x.http(
        'POST',
        cm(x.ns),
        configMap('b', { labels: { 'Example.COM/x': 'v', 'a/b/c': 'v', ['x'.repeat(64)]: 'v' } }),
      );
      await x.http('POST', cm(x.ns), configMap('c', { labels: { k: 'v'.repeat(64) } }));
      await x.http('POST', wg(x.ns), widget('w', { size: 1 }, { labels: { 'bad key!': 'v' } }));
    },
  },
  {
    id: 'meta-labels-update',
    area: 'Metadata',
    title: 'a patch that adds a bad label is refused',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.http(
        'PATCH',
        cm(x.ns, 'a'),
        { metadata: { labels: { 'no spaces': 'x' } } },
        { contentType: 'application/merge-patch+json' },
      );
    },
  },
  {
    id: 'meta-annotations-size',
    area: 'Metadata',
    title: 'annotations over 256 KB in total are refused (300 KB)',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { annotations: { big: 'x'.repeat(300 * 1024) } }));
      await x.http(
        'POST',
        wg(x.ns),
        widget('w', { size: 1 }, { annotations: { a: 'x'.repeat(200 * 1024), b: 'y'.repeat(100 * 1024) } }),
      );
      await x.http('POST', cm(x.ns), configMap('b', { annotations: { ok: 'x'.repeat(200 * 1024) } }), {
        pick: (o) => ({ status: o.kind, size: o.metadata?.annotations?.ok?.length }),
      });
    },
  },
  {
    id: 'meta-annotation-keys',
    area: 'Metadata',
    title: 'bad annotation keys are refused',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { annotations: { 'not valid!': 'x' } }));
      await x.http(
        'POST',
        cm(x.ns),
        configMap('b', { annotations: { 'example.com/ok': 'x', 'UPPER.example.com/y': 'z' } }),
      );
    },
  },
  {
    id: 'meta-finalizer-names',
    area: 'Metadata',
    title: 'finalizer names: qualified names only, a warning for unprefixed ones',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a', { finalizers: ['not a name!'] }));
      await x.http('POST', cm(x.ns), configMap('b', { finalizers: ['holdme'] }));
      await x.http(
        'PATCH',
        cm(x.ns, 'b'),
        { metadata: { finalizers: null } },
        { contentType: 'application/merge-patch+json', quiet: true },
      );
      await x.http(
        'POST',
        wg(x.ns),
        widget('w', { size: 1 }, { finalizers: ['example.com/hold', 'example.com/hold'] }),
      );
    },
  },
  {
    id: 'meta-ownerreferences',
    area: 'Metadata',
    title: 'ownerReferences must name apiVersion, kind, name and uid',
    async run(x) {
      await x.http(
        'POST',
        cm(x.ns),
        configMap('a', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner' }] }),
      );
      await x.http(
        'POST',
        cm(x.ns),
        configMap('b', {
          ownerReferences: [{ kind: 'ConfigMap', name: 'owner', uid: '6d1b3a4e-7f0e-4a43-9d53-8e4b9a7d2c11' }],
        }),
      );
      await x.http(
        'POST',
        cm(x.ns),
        configMap('c', {
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: 'o1',
              uid: '6d1b3a4e-7f0e-4a43-9d53-8e4b9a7d2c11',
              controller: true,
            },
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: 'o2',
              uid: '6d1b3a4e-7f0e-4a43-9d53-8e4b9a7d2c12',
              controller: true,
            },
          ],
        }),
      );
    },
  },

  // ---- fieldValidation ----
  {
    id: 'fv-absent-custom',
    area: 'FieldValidation',
    title: 'no fieldValidation: undeclared fields of a custom resource pruned with a warning each',
    async run(x) {
      await x.http('POST', wg(x.ns), {
        ...widget('a'),
        extraTop: 1,
        spec: { size: 2, bogus: true, extra: { kept: 1 } },
      });
      await x.http(
        'PATCH',
        wg(x.ns, 'a'),
        { spec: { nope: 1 }, metadata: { labels: { l: 'v' } } },
        { contentType: 'application/merge-patch+json' },
      );
      await x.http('GET', wg(x.ns, 'a'));
    },
  },
  {
    id: 'fv-modes-custom',
    area: 'FieldValidation',
    title: 'Strict (400), Warn (warning), Ignore (silent) on a custom resource, and an unknown mode',
    async run(x) {
      const body = { ...widget('a'), spec: { size: 2, bogus: true }, metadata: { name: 'a', bogusMeta: 1 } };
      await x.http('POST', `${wg(x.ns)}?fieldValidation=Strict`, body);
      await x.http('POST', `${wg(x.ns)}?fieldValidation=Warn`, body);
      await x.http('POST', `${wg(x.ns)}?fieldValidation=Ignore`, { ...body, metadata: { name: 'b' } });
      await x.http('POST', `${wg(x.ns)}?fieldValidation=Bogus`, { ...body, metadata: { name: 'c' } });
    },
  },
  {
    id: 'fv-builtin',
    area: 'FieldValidation',
    title: 'undeclared fields of ConfigMap and Secret: absent/Warn warn and prune, Strict refuses',
    async run(x) {
      await x.http('POST', cm(x.ns), { ...configMap('a'), foo: 1, metadata: { name: 'a', foo: 'bar' } });
      await x.http('POST', `${cm(x.ns)}?fieldValidation=Strict`, { ...configMap('b'), foo: 1 });
      await x.http('POST', `/api/v1/namespaces/${x.ns}/secrets?fieldValidation=Warn`, {
        metadata: { name: 's' },
        stringData: { a: 'b' },
        typo: 'x',
      });
    },
  },
  {
    id: 'fv-kubectl',
    area: 'FieldValidation',
    title: 'kubectl (Strict by default) and --validate=false / warn on an undeclared field',
    async run(x) {
      const doc = JSON.stringify({ ...widget('a'), spec: { size: 2, bogus: true } });
      await x.k(['create', '-f', '-'], doc);
      await x.k(
        ['apply', '--validate=false', '-f', '-'],
        JSON.stringify({ ...widget('b'), spec: { size: 2, bogus: true } }),
      );
      await x.k(['get', 'widgets', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec}{"\\n"}{end}']);
    },
  },
];
