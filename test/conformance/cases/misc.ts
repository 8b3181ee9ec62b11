// Server-side apply, RBAC for users other than the admin, CRD validation, kubectl's printing and
// everyday commands, Secrets, discovery.
import type { Case } from '../harness.js';
import { APPLY, CRDS, cm, configMap, GROUP, MERGE, sec, wg, widget } from './common.js';

const crd = (name: string, schema: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${name}s.conformance.test` },
  spec: {
    group: 'conformance.test',
    scope: 'Namespaced',
    names: { kind: name.charAt(0).toUpperCase() + name.slice(1), plural: `${name}s` },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
  },
});

const applyDoc = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>): string =>
  JSON.stringify({
    apiVersion: `${GROUP}/v1`,
    kind: 'Widget',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec,
  });

export const miscCases: Case[] = [
  // ---- server-side apply ----
  {
    id: 'ssa-create-and-reapply',
    area: 'Apply',
    title: 'kubectl apply --server-side creates, re-applies, and removes what the same manager stops applying',
    async run(x) {
      await x.k(['apply', '--server-side', '-f', '-'], applyDoc('w', { size: 2, tags: ['a'] }, { a: '1', b: '2' }));
      await x.k(['apply', '--server-side', '-f', '-'], applyDoc('w', { size: 2, tags: ['a'] }, { a: '1', b: '2' }));
      await x.k(['apply', '--server-side', '-f', '-'], applyDoc('w', { size: 3 }, { a: '1' }));
      await x.k(['get', 'widget', 'w', '-o', 'json'], undefined, { json: true });
    },
  },
  {
    id: 'ssa-conflict',
    area: 'Apply',
    title: 'server-side apply over a field another manager set: conflict, then --force-conflicts',
    async run(x) {
      await x.k(['create', '-f', '-'], applyDoc('w', { size: 2 }));
      await x.k(['apply', '--server-side', '-f', '-'], applyDoc('w', { size: 5 }));
      await x.k(['apply', '--server-side', '--force-conflicts', '-f', '-'], applyDoc('w', { size: 5 }));
      await x.k(['get', 'widget', 'w', '-o', 'jsonpath={.spec.size}']);
    },
  },
  {
    id: 'ssa-shared',
    area: 'Apply',
    title: 'server-side apply of the values another manager set: no conflict',
    async run(x) {
      await x.k(['create', '-f', '-'], applyDoc('w', { size: 2 }));
      await x.k(['apply', '--server-side', '-f', '-'], applyDoc('w', { size: 2 }, { extra: 'x' }));
      await x.k(['get', 'widget', 'w', '-o', 'jsonpath={.spec.size} {.metadata.labels}']);
    },
  },
  {
    id: 'ssa-raw',
    area: 'Apply',
    title: 'apply patches over HTTP: fieldManager required, a create, a dry run',
    async run(x) {
      const body = applyDoc('r', { size: 1 });
      await x.http('PATCH', wg(x.ns, 'r'), body, APPLY);
      await x.http('PATCH', `${wg(x.ns, 'r')}?fieldManager=conf&dryRun=All`, body, APPLY);
      await x.http('GET', wg(x.ns, 'r'));
      await x.http('PATCH', `${wg(x.ns, 'r')}?fieldManager=conf`, body, APPLY);
      await x.http('PATCH', `${cm(x.ns, 'c')}?fieldManager=conf`, JSON.stringify(configMap('c')), APPLY);
    },
  },
  {
    id: 'apply-client-side',
    area: 'Apply',
    title: 'kubectl apply (client side): created, unchanged, configured; a field removed from the file goes',
    async run(x) {
      await x.k(['apply', '-f', '-'], applyDoc('w', { size: 2, tags: ['a'] }, { a: '1' }));
      await x.k(['apply', '-f', '-'], applyDoc('w', { size: 2, tags: ['a'] }, { a: '1' }));
      await x.k(['apply', '-f', '-'], applyDoc('w', { size: 3 }, { a: '1' }));
      await x.k(['get', 'widget', 'w', '-o', 'jsonpath={.spec} {.metadata.labels}']);
      await x.k(['diff', '-f', '-'], applyDoc('w', { size: 4 }, { a: '1' }), {
        fix: (s) =>
          s.replace(/^(\+\+\+|---) .*$/gm, '$1 <file>').replace(/^ {2}(generation|resourceVersion): .*\n/gm, ''),
      });
    },
  },

  // ---- RBAC ----
  {
    id: 'rbac-impersonated-user',
    area: 'RBAC',
    title: 'a user without bindings (impersonated) is forbidden',
    async run(x) {
      await x.k(['get', 'configmaps', '--as=alice']);
      await x.http('GET', cm(x.ns), undefined, { headers: { 'Impersonate-User': 'alice' } });
    },
  },
  {
    id: 'rbac-bound-user',
    area: 'RBAC',
    title: 'a user bound to the view ClusterRole reads but cannot write',
    async run(x) {
      await x.k(['create', 'rolebinding', 'alice-view', '--clusterrole=view', '--user=alice'], undefined, {
        quiet: true,
      });
      await x.k(['get', 'configmaps', '--as=alice', '-o', 'name']);
      await x.k(['create', 'configmap', 'x', '--as=alice']);
    },
  },
  {
    id: 'rbac-can-i',
    area: 'RBAC',
    title: 'kubectl auth can-i for the admin and for another user',
    async run(x) {
      await x.k(['auth', 'can-i', 'create', 'secrets']);
      await x.k(['auth', 'can-i', 'create', 'secrets', '--as=alice']);
    },
  },

  // ---- CRDs ----
  {
    id: 'crd-structural',
    area: 'CRDs',
    title: 'a non-structural schema (a property without type) is refused',
    async run(x) {
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd('nostruct', {
          type: 'object',
          properties: { spec: { type: 'object', properties: { a: { description: 'no type' } } } },
        }),
      );
      await x.http('POST', `${CRDS}?dryRun=All`, crd('notype', { properties: { spec: { type: 'object' } } }));
      void x;
    },
  },
  {
    id: 'crd-cel-undeclared',
    area: 'CRDs',
    title: 'a CEL rule naming an undeclared field is refused; one naming declared fields is taken',
    async run(x) {
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd('celbad', {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              properties: { a: { type: 'string' } },
              'x-kubernetes-validations': [{ rule: 'self.nope == 1' }],
            },
          },
        }),
      );
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd('celdeep', {
          type: 'object',
          properties: {
            spec: { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string' } } } } },
          },
          'x-kubernetes-validations': [{ rule: "has(self.spec.a) && self.spec.a.c == 'x'" }],
        }),
      );
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd('celok', {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              properties: { a: { type: 'string' } },
              'x-kubernetes-validations': [{ rule: "self.a != 'x'" }],
            },
          },
        }),
        { pick: (o) => ({ kind: o.kind, name: o.metadata?.name }) },
      );
    },
  },
  {
    id: 'crd-cel-fieldpath',
    area: 'CRDs',
    title: "a rule's fieldPath must name a field of its schema; a bad one stops that level's rules from being compiled",
    async run(x) {
      const spec = (rules: unknown[]): Record<string, unknown> => ({
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: { a: { type: 'string' }, m: { type: 'object', additionalProperties: { type: 'string' } } },
            'x-kubernetes-validations': rules,
          },
        },
      });
      // a field that is not there (as after a field is dropped from the schema)
      await x.http('POST', `${CRDS}?dryRun=All`, crd('fpgone', spec([{ rule: "self.a != 'x'", fieldPath: '.gone' }])));
      // and with a rule naming an undeclared field beside it: only the path is reported
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd('fpfirst', spec([{ rule: 'self.nope == 1' }, { rule: "self.a != 'x'", fieldPath: ".m['k'].deeper" }])),
      );
      // the scanner's edges: a quote inside a name, an unknown escape, a quote after two
      // backslashes (never closes), a blank path, a line break
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd(
          'fpedges',
          spec([
            { rule: "self.a != 'x'", fieldPath: ".a'" },
            { rule: "self.a != 'x'", fieldPath: "['\\q']" },
            { rule: "self.a != 'x'", fieldPath: "['a\\\\']" },
            { rule: "self.a != 'x'", fieldPath: ' ' },
            { rule: "self.a != 'x'", fieldPath: '.a\n' },
          ]),
        ),
      );
      // a declared field, and any key of a map, in both notations (an escaped quote in a key)
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd(
          'fpok',
          spec([
            { rule: "self.a != 'x'", fieldPath: '.a' },
            { rule: "self.a != 'y'", fieldPath: "['m']['any key']" },
            { rule: "self.a != 'z'", fieldPath: '.m.k' },
            { rule: "self.a != 'w'", fieldPath: "['m']['k\\'s']" },
          ]),
        ),
        { pick: (o) => ({ kind: o.kind, name: o.metadata?.name }) },
      );
    },
  },
  {
    id: 'crd-cel-syntax',
    area: 'CRDs',
    title: 'a CEL rule that does not parse is refused',
    async run(x) {
      await x.http(
        'POST',
        `${CRDS}?dryRun=All`,
        crd('celsyntax', {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              properties: { a: { type: 'string' } },
              'x-kubernetes-validations': [{ rule: 'self.a ==' }],
            },
          },
        }),
      );
    },
  },
  {
    id: 'crd-lifecycle',
    area: 'CRDs',
    title: 'a CRD created serves its kind; deleting it deletes its objects',
    timeoutMs: 90_000,
    async run(x) {
      const schema = {
        type: 'object',
        properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } },
      };
      const c = crd('life', schema);
      await x.http('POST', CRDS, c, { pick: (o) => ({ kind: o.kind, name: o.metadata?.name, group: o.spec?.group }) });
      await x.k(['wait', '--for=condition=Established', 'crd/lifes.conformance.test', '--timeout=30s']);
      await x.eventually(
        'the kind is served',
        async () =>
          (
            await x.t.raw('POST', `/apis/conformance.test/v1/namespaces/${x.ns}/lifes`, {
              apiVersion: 'conformance.test/v1',
              kind: 'Life',
              metadata: { name: 'l' },
              spec: { a: 'b' },
            })
          ).status === 201,
      );
      await x.http('GET', `/apis/conformance.test/v1/namespaces/${x.ns}/lifes/l`);
      await x.http('DELETE', `${CRDS}/lifes.conformance.test`, undefined, {
        pick: (o) => ({ kind: o.kind, deleting: !!o.metadata?.deletionTimestamp, finalizers: o.metadata?.finalizers }),
      });
      await x.eventually(
        'the CRD is gone',
        async () => (await x.t.raw('GET', `${CRDS}/lifes.conformance.test`)).status === 404,
        60_000,
      );
      await x.eventually(
        'the kind is no longer served',
        async () => (await x.t.raw('GET', `/apis/conformance.test/v1/namespaces/${x.ns}/lifes/l`)).status === 404,
      );
    },
  },

  // ---- kubectl ----
  {
    id: 'kubectl-tables',
    area: 'kubectl',
    title: 'kubectl get: printer columns of a CRD, -o wide, ConfigMaps, namespaces',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('a', { size: 2 }), { quiet: true });
      await x.http('PATCH', wg(x.ns, 'a/status'), { status: { phase: 'Building' } }, { ...MERGE, quiet: true });
      await x.http('POST', cm(x.ns), configMap('c', {}, { a: '1', b: '2' }), { quiet: true });
      await x.k(['get', 'widgets'], undefined, { ages: true });
      await x.k(['get', 'widgets', '-o', 'wide', '--show-labels'], undefined, { ages: true });
      await x.k(['get', 'configmap', 'c'], undefined, { ages: true });
      await x.kubectl(['get', 'namespace', x.ns], undefined, { ages: true });
      await x.k(['get', 'widgets', '-o', 'custom-columns=NAME:.metadata.name,SIZE:.spec.size,COLOR:.spec.color']);
    },
  },
  {
    id: 'kubectl-label-annotate',
    area: 'kubectl',
    title: 'kubectl label/annotate with and without --overwrite, removal',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('c', { labels: { a: '1' } }), { quiet: true });
      await x.k(['label', 'configmap', 'c', 'a=2']);
      await x.k(['label', 'configmap', 'c', 'a=2', '--overwrite']);
      await x.k(['label', 'configmap', 'c', 'a-']);
      await x.k(['annotate', 'configmap', 'c', 'note=x']);
      await x.k(['label', 'configmap', 'c', 'bad key=x']);
      await x.k(['get', 'configmap', 'c', '-o', 'json'], undefined, { json: true });
    },
  },
  {
    id: 'kubectl-patch-replace',
    area: 'kubectl',
    title: 'kubectl patch (merge, json, --subresource=status) and replace with a stale object',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      await x.k(['patch', 'widget', 'w', '--type=merge', '-p', '{"spec":{"size":4}}']);
      await x.k(['patch', 'widget', 'w', '--type=json', '-p', '[{"op":"replace","path":"/spec/size","value":5}]']);
      await x.k(['patch', 'widget', 'w', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"New"}}']);
      await x.k(['patch', 'widget', 'w', '--type=merge', '-p', '{"spec":{"size":4}}']);
      await x.k(['patch', 'widget', 'w', '-p', '{"spec":{"size":4}}']);
      const cur = JSON.parse((await x.t.kubectl(['-n', x.ns, 'get', 'widget', 'w', '-o', 'json'])).stdout);
      await x.http('PATCH', wg(x.ns, 'w'), { spec: { size: 6 } }, { ...MERGE, quiet: true });
      await x.k(['replace', '-f', '-'], JSON.stringify({ ...cur, spec: { size: 7 } }));
      await x.k(
        ['replace', '-f', '-'],
        JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: undefined }, spec: { size: 7 } }),
      );
      await x.k(['get', 'widget', 'w', '-o', 'jsonpath={.spec.size} {.status.phase} {.metadata.generation}']);
    },
  },
  {
    id: 'kubectl-wait',
    area: 'kubectl',
    title: 'kubectl wait for a jsonpath and for deletion',
    async run(x) {
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      await x.http('PATCH', wg(x.ns, 'w/status'), { status: { phase: 'Done' } }, { ...MERGE, quiet: true });
      await x.k(['wait', 'widget/w', '--for=jsonpath={.status.phase}=Done', '--timeout=10s']);
      await x.k(['wait', 'widget/w', '--for=jsonpath={.status.phase}=New', '--timeout=1s']);
      await x.http('DELETE', wg(x.ns, 'w'), undefined, { quiet: true });
      await x.k(['wait', 'widget/w', '--for=delete', '--timeout=10s']);
    },
  },
  {
    id: 'secrets',
    area: 'Secrets',
    title: 'kubectl create secret; stringData; bad base64; type immutability; immutable Secrets',
    async run(x) {
      await x.k(['create', 'secret', 'generic', 's', '--from-literal=a=b']);
      await x.http('GET', sec(x.ns, 's'));
      await x.http('POST', sec(x.ns), { metadata: { name: 't' }, stringData: { x: 'y' }, data: { z: 'eg==' } });
      await x.http('POST', sec(x.ns), { metadata: { name: 'u' }, data: { z: 'not base64!' } });
      await x.http('POST', sec(x.ns), { metadata: { name: 'v' }, data: { 'bad key!': 'eg==' } });
      await x.http('PATCH', sec(x.ns, 's'), { type: 'kubernetes.io/tls' }, MERGE);
      await x.http(
        'POST',
        sec(x.ns),
        { metadata: { name: 'i' }, immutable: true, data: { a: 'eg==' } },
        { quiet: true },
      );
      await x.http('PATCH', sec(x.ns, 'i'), { data: { a: 'eQ==' } }, MERGE);
      await x.http('PATCH', sec(x.ns, 'i'), { immutable: false }, MERGE);
    },
  },
  {
    id: 'discovery',
    area: 'Discovery',
    title: 'kubectl api-resources for our groups; get of an unknown kind',
    async run(x) {
      await x.kubectl(
        ['api-resources', '--api-group=certificates.mesh.gloo.solo.io', '--no-headers', '-o', 'wide'],
        undefined,
        { fix: (s) => s.replace(/ +/g, ' ') },
      );
      await x.kubectl(['api-resources', `--api-group=${GROUP}`, '--no-headers'], undefined, {
        fix: (s) => s.replace(/ +/g, ' '),
      });
      await x.k(['get', 'gizmos']);
      await x.http('GET', `/apis/${GROUP}/v1`, undefined, {
        pick: (o) =>
          o.resources?.map((r: any) => ({
            name: r.name,
            kind: r.kind,
            namespaced: r.namespaced,
            verbs: [...(r.verbs ?? [])].sort(),
            shortNames: r.shortNames,
          })),
      });
    },
  },
  {
    id: 'not-found-paths',
    area: 'Discovery',
    title: 'unknown groups, resources and subresources',
    async run(x) {
      await x.http('GET', '/apis/nope.example/v1/things');
      await x.http('GET', `/api/v1/namespaces/${x.ns}/gizmos`);
      await x.http('GET', `${cm(x.ns, 'a')}/scale`);
      await x.http('POST', '/api/v1/namespaces/nope/configmaps/x', configMap('x'));
    },
  },
];
