// Admission webhooks registered by URL on both servers: what they are sent (dryRun, operations,
// old objects, subresources) and how their answers are checked (envelope, patchType, uid).
import type { Case, Ctx } from '../harness.js';
import { cm, configMap, GROUP, MERGE, wg, widget } from './common.js';

const CM_RULE = (ops: string[]): Record<string, unknown> => ({
  apiGroups: [''],
  apiVersions: ['v1'],
  resources: ['configmaps'],
  operations: ops,
});
const WG_RULE = (ops: string[], resources = ['widgets']): Record<string, unknown> => ({
  apiGroups: [GROUP],
  apiVersions: ['v1'],
  resources,
  operations: ops,
});

/** The parts of an AdmissionReview request a webhook acts on. */
const seen = (x: Ctx, label: string): void => {
  x.note(
    label,
    x.hookCalls().map((r) => ({
      operation: r.operation,
      kind: r.kind,
      resource: r.resource,
      subResource: r.subResource,
      requestKind: r.requestKind,
      name: r.name,
      namespace: r.namespace,
      dryRun: r.dryRun,
      options: r.options,
      object: r.object
        ? {
            kind: r.object.kind,
            name: r.object.metadata?.name,
            spec: r.object.spec,
            status: r.object.status,
            data: r.object.data,
            deleting: !!r.object.metadata?.deletionTimestamp,
          }
        : null,
      oldObject: r.oldObject
        ? {
            kind: r.oldObject.kind,
            name: r.oldObject.metadata?.name,
            spec: r.oldObject.spec,
            status: r.oldObject.status,
            data: r.oldObject.data,
          }
        : null,
    })),
  );
  x.hook.calls.length = 0;
};

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64');

export const webhookCases: Case[] = [
  {
    id: 'webhook-dryrun-delete',
    area: 'Webhooks',
    title: 'a webhook sees dryRun=true on kubectl delete --dry-run=server and on dry-run create/update',
    async run(x) {
      await x.http('POST', cm(x.ns), configMap('a'), { quiet: true });
      await x.webhook('Validating', [CM_RULE(['DELETE', 'UPDATE'])]);
      await x.k(['delete', 'configmap', 'a', '--dry-run=server']);
      seen(x, 'kubectl delete --dry-run=server');
      await x.http('DELETE', cm(x.ns, 'a'), { dryRun: ['All'], propagationPolicy: 'Background' });
      seen(x, 'DELETE with DeleteOptions.dryRun');
      await x.http('POST', `${cm(x.ns)}?dryRun=All&fieldManager=conf`, configMap('b'));
      seen(x, 'create dry run');
      await x.http('PATCH', `${cm(x.ns, 'a')}?dryRun=All`, { data: { k: 'v2' } }, MERGE);
      seen(x, 'patch dry run');
      await x.http('GET', cm(x.ns, 'a'));
    },
  },
  {
    id: 'webhook-requests',
    area: 'Webhooks',
    title: 'CREATE, UPDATE (oldObject), status UPDATE (subResource) and DELETE requests of a custom resource',
    async run(x) {
      await x.webhook('Validating', [WG_RULE(['*'], ['widgets', 'widgets/status'])]);
      await x.http('POST', wg(x.ns), widget('w'), { quiet: true });
      seen(x, 'create');
      await x.http('PATCH', wg(x.ns, 'w'), { spec: { size: 4 } }, { ...MERGE, quiet: true });
      seen(x, 'update');
      await x.http('PATCH', wg(x.ns, 'w/status'), { status: { phase: 'New' } }, { ...MERGE, quiet: true });
      seen(x, 'status update');
      await x.http('DELETE', wg(x.ns, 'w'), undefined, { quiet: true });
      seen(x, 'delete');
    },
  },
  {
    id: 'webhook-mutate',
    area: 'Webhooks',
    title: 'a mutating webhook patch (JSONPatch) is applied; its warnings reach the client',
    async run(x) {
      await x.webhook('Mutating', [WG_RULE(['CREATE'])]);
      x.hook.respond = () => ({
        response: {
          allowed: true,
          patchType: 'JSONPatch',
          patch: b64([
            { op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } },
            { op: 'replace', path: '/spec/size', value: 7 },
          ]),
          warnings: ['from the webhook'],
        },
      });
      await x.http('POST', wg(x.ns), widget('w'));
      await x.k(['create', '-f', '-'], JSON.stringify(widget('k')));
    },
  },
  {
    id: 'webhook-deny',
    area: 'Webhooks',
    title: 'denials: with a code and message, with a reason only, without explanation',
    async run(x) {
      await x.webhook('Validating', [WG_RULE(['CREATE'])]);
      x.hook.respond = (r) => ({
        response:
          r.object?.metadata?.name === 'a'
            ? { allowed: false, status: { code: 403, message: 'not today', reason: 'Forbidden' } }
            : r.object?.metadata?.name === 'b'
              ? { allowed: false, status: { reason: 'NoReason' } }
              : { allowed: false, warnings: ['w1'] },
      });
      await x.http('POST', wg(x.ns), widget('a'));
      await x.http('POST', wg(x.ns), widget('b'));
      await x.http('POST', wg(x.ns), widget('c'));
      await x.k(['create', '-f', '-'], JSON.stringify(widget('a')));
    },
  },
  {
    id: 'webhook-selectors',
    area: 'Webhooks',
    title: 'objectSelector (old or new object), matchConditions, scope: which requests reach a webhook',
    async run(x) {
      await x.webhook('Validating', [{ ...WG_RULE(['CREATE', 'UPDATE']), scope: 'Namespaced' }], {
        objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] },
        matchConditions: [
          { name: 'not-free', expression: "!has(object.metadata.name) || object.metadata.name != 'free'" },
        ],
      });
      x.hook.respond = (r) => ({ response: { allowed: false, status: { message: `no ${r.operation} of ${r.name}` } } });
      await x.http('POST', wg(x.ns), widget('a'));
      await x.http('POST', wg(x.ns), widget('b', { size: 3 }, { labels: { skip: 'yes' } }));
      await x.http('PATCH', wg(x.ns, 'b'), { spec: { size: 4 } }, MERGE);
      await x.http('PATCH', wg(x.ns, 'b'), { metadata: { labels: { skip: null } } }, MERGE);
      await x.http('POST', wg(x.ns), widget('free'));
      x.note(
        'calls',
        x.hookCalls().map((r) => `${r.operation} ${r.name}`),
      );
    },
  },
  {
    id: 'webhook-no-envelope',
    area: 'Webhooks',
    title: 'a response without apiVersion/kind is an error, as is one with the wrong kind',
    async run(x) {
      await x.webhook('Validating', [WG_RULE(['CREATE'])]);
      x.hook.respond = (r) => ({ body: { response: { uid: r.uid, allowed: true } } });
      await x.http('POST', wg(x.ns), widget('a'));
      x.hook.respond = (r) => ({
        body: {
          apiVersion: 'admission.k8s.io/v1beta1',
          kind: 'AdmissionReview',
          response: { uid: r.uid, allowed: true },
        },
      });
      await x.http('POST', wg(x.ns), widget('b'));
      x.hook.respond = () => ({ body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' } });
      await x.http('POST', wg(x.ns), widget('c'));
    },
  },
  {
    id: 'webhook-patch-checks',
    area: 'Webhooks',
    title: 'a patch without patchType, a patchType without patch, a validating webhook that patches',
    async run(x) {
      await x.webhook('Mutating', [WG_RULE(['CREATE'])]);
      const patch = b64([{ op: 'add', path: '/metadata/labels', value: { m: 'y' } }]);
      x.hook.respond = () => ({ response: { allowed: true, patch } });
      await x.http('POST', wg(x.ns), widget('a'));
      x.hook.respond = () => ({ response: { allowed: true, patchType: 'JSONPatch' } });
      await x.http('POST', wg(x.ns), widget('b'));
      x.hook.respond = () => ({ response: { allowed: true, patch, patchType: 'MergePatch' } });
      await x.http('POST', wg(x.ns), widget('c'));
      await x.cleanup();
      await x.webhook('Validating', [WG_RULE(['CREATE'])]);
      x.hook.respond = () => ({ response: { allowed: true, patch, patchType: 'JSONPatch' } });
      await x.http('POST', wg(x.ns), widget('d'));
    },
  },
  {
    id: 'webhook-uid-and-bad-patch',
    area: 'Webhooks',
    title: 'a response with another uid; a patch that does not apply',
    async run(x) {
      await x.webhook('Mutating', [WG_RULE(['CREATE'])]);
      x.hook.respond = () => ({
        body: {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: 'not-the-uid', allowed: true },
        },
      });
      await x.http('POST', wg(x.ns), widget('a'));
      x.hook.respond = () => ({
        response: { allowed: true, patchType: 'JSONPatch', patch: b64([{ op: 'remove', path: '/spec/nothere' }]) },
      });
      await x.http('POST', wg(x.ns), widget('b'));
      x.hook.respond = () => ({
        response: {
          allowed: true,
          patchType: 'JSONPatch',
          patch: b64([{ op: 'replace', path: '/spec/size', value: 99 }]),
        },
      });
      await x.http('POST', wg(x.ns), widget('c'));
    },
  },
  {
    id: 'webhook-unreachable',
    area: 'Webhooks',
    title: 'an unreachable webhook: failurePolicy Fail refuses, Ignore admits',
    async run(x) {
      await x.webhook('Validating', [WG_RULE(['CREATE'])]);
      // point the configuration at a closed port (it was live: the probe reached it)
      const name = `${x.ns}.validating.conformance.test`;
      const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`;
      await x.http(
        'PATCH',
        path,
        [{ op: 'replace', path: '/webhooks/0/clientConfig/url', value: 'https://127.0.0.1:9/closed' }],
        { contentType: 'application/json-patch+json', quiet: true },
      );
      await x.eventually(
        'the configuration is picked up',
        async () => (await x.t.raw('POST', `${wg(x.ns)}?dryRun=All`, widget('probe'))).status === 500,
        20_000,
      );
      await x.http('POST', wg(x.ns), widget('a'));
      await x.http('PATCH', path, [{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }], {
        contentType: 'application/json-patch+json',
        quiet: true,
      });
      await x.eventually(
        'the configuration is picked up',
        async () => (await x.t.raw('POST', `${wg(x.ns)}?dryRun=All`, widget('probe'))).status === 201,
        20_000,
      );
      await x.http('POST', wg(x.ns), widget('b'));
    },
  },
  {
    id: 'webhook-configuration',
    area: 'Webhooks',
    title: 'webhook configuration validation and defaults',
    async run(x) {
      const base = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
      const hook = (extra: Record<string, unknown>): object => ({
        metadata: { name: `${x.ns}.cfg` },
        webhooks: [
          {
            name: 'a.conformance.test',
            clientConfig: { url: 'https://127.0.0.1:9/x' },
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            ...extra,
          },
        ],
      });
      await x.http(
        'POST',
        `${base}?dryRun=All`,
        hook({ rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE'] }] }),
      );
      await x.http('POST', `${base}?dryRun=All`, hook({ sideEffects: 'Unknown' }));
      await x.http('POST', `${base}?dryRun=All`, hook({ timeoutSeconds: 31, name: 'short' }));
      await x.http('POST', `${base}?dryRun=All`, hook({ clientConfig: { url: 'http://127.0.0.1:9/x' } }));
    },
  },
];
