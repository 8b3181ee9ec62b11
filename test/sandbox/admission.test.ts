// Dynamic admission: real HTTPS webhooks (Fastify) configured with Mutating/Validating
// WebhookConfigurations, called with AdmissionReview v1 as kube-apiserver calls them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxCluster } from './index.js';
import { b64, kubectlFor, raw, startWebhook, TEST_WEBHOOK_SERVICE, type TestWebhook } from './helpers.js';
import { GROUP, widget, widgetCrd } from './fixtures.js';

let sb: Sandbox;
let c: SandboxCluster;
const W = `/apis/${GROUP}/v1/namespaces/default/widgets`;
const hooks: TestWebhook[] = [];
const configs: string[] = [];

beforeAll(async () => {
  sb = await startSandbox({ clusters: ['adm'], crds: false });
  c = sb.clusters.get('adm')!;
  expect((await raw(c, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd)).status).toBe(201);
});
afterAll(async () => {
  await sb?.stop();
  await Promise.all(hooks.map((h) => h.close()));
});
afterEach(async () => {
  for (const path of configs.splice(0)) await raw(c, 'DELETE', path);
});

type Kind = 'Mutating' | 'Validating';
async function configure(
  kind: Kind,
  hook: TestWebhook,
  extra: Record<string, unknown> = {},
  name = `${kind.toLowerCase()}.sandbox.test`,
): Promise<void> {
  const plural = `${kind.toLowerCase()}webhookconfigurations`;
  const body = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name: `${kind.toLowerCase()}-cfg` },
    webhooks: [
      {
        name,
        clientConfig: { url: hook.url, caBundle: hook.caBundle },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        rules: [
          {
            apiGroups: [GROUP],
            apiVersions: ['v1'],
            resources: ['widgets'],
            operations: ['CREATE', 'UPDATE', 'DELETE'],
          },
        ],
        ...extra,
      },
    ],
  };
  const r = await raw(c, 'POST', `/apis/admissionregistration.k8s.io/v1/${plural}`, body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  configs.push(`/apis/admissionregistration.k8s.io/v1/${plural}/${kind.toLowerCase()}-cfg`);
}

async function hook(respond: TestWebhook['respond']): Promise<TestWebhook> {
  const h = await startWebhook(respond);
  hooks.push(h);
  return h;
}

describe('admission webhooks', () => {
  it('sends AdmissionReview v1 with uid, kinds, resources, operation, userInfo, object, oldObject, dryRun and options', async () => {
    const h = await hook(() => ({ allowed: true }));
    await configure('Validating', h);
    await raw(c, 'POST', W, widget('r1'));
    await raw(c, 'PATCH', `${W}/r1?dryRun=All`, { spec: { size: 4 } }, { contentType: 'application/merge-patch+json' });
    await raw(c, 'DELETE', `${W}/r1`);
    const [create, update, del] = h.calls.map((x) => x.request);
    expect(create).toMatchObject({
      kind: { group: GROUP, version: 'v1', kind: 'Widget' },
      resource: { group: GROUP, version: 'v1', resource: 'widgets' },
      requestKind: { kind: 'Widget' },
      name: 'r1',
      namespace: 'default',
      operation: 'CREATE',
      dryRun: false,
      userInfo: { username: 'sandbox-admin' },
      oldObject: null,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    });
    expect(create.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(create.object.metadata).toMatchObject({ name: 'r1', generation: 1 });
    expect(update).toMatchObject({
      operation: 'UPDATE',
      dryRun: true,
      object: { spec: { size: 4 } },
      oldObject: { spec: { size: 3 } },
      options: { kind: 'UpdateOptions' },
    });
    expect(update.object.metadata.generation).toBe(2);
    expect(del).toMatchObject({
      operation: 'DELETE',
      object: null,
      oldObject: { metadata: { name: 'r1' } },
      options: { kind: 'DeleteOptions' },
    });
    // dry run changed nothing
    expect(new Set(h.calls.map((x) => x.request.uid)).size).toBe(3);
  });

  it("a denial reaches kubectl as kube-apiserver words it, with the webhook's code", async () => {
    const h = await hook((req) =>
      req.object?.spec?.size === 7
        ? { allowed: false, status: { code: 403, reason: 'Forbidden', message: 'size 7 is unlucky' } }
        : { allowed: true },
    );
    await configure('Validating', h, {}, 'deny.sandbox.test');
    const r = await raw(c, 'POST', W, widget('lucky', 'default', { size: 7 }));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message: 'admission webhook "deny.sandbox.test" denied the request: size 7 is unlucky',
    });
    const k = kubectlFor(sb.kubeconfigPath);
    const out = await k(['apply', '-f', '-'], JSON.stringify(widget('lucky', 'default', { size: 7 })));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('admission webhook "deny.sandbox.test" denied the request: size 7 is unlucky');
    const noCode = await hook(() => ({ allowed: false }));
    await raw(c, 'DELETE', configs.pop()!);
    await configure('Validating', noCode, {}, 'silent.sandbox.test');
    const r2 = await raw(c, 'POST', W, widget('x'));
    expect(r2.status).toBe(400);
    expect(r2.body.message).toBe('admission webhook "silent.sandbox.test" denied the request without explanation');
  });

  it('applies a mutating JSONPatch before schema validation and returns warnings as Warning headers', async () => {
    const m = await hook((req) => ({
      allowed: true,
      warnings: ['size was clamped to 10'],
      patch: b64(
        JSON.stringify([
          { op: 'replace', path: '/spec/size', value: Math.min(req.object.spec.size, 10) },
          { op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } },
        ]),
      ),
      patchType: 'JSONPatch',
    }));
    await configure('Mutating', m);
    const v = await hook(() => ({ allowed: true, warnings: ['validated'] }));
    await configure('Validating', v);
    const r = await raw(c, 'POST', W, widget('big', 'default', { size: 99 }));
    expect(r.status).toBe(201);
    expect(r.body.spec.size).toBe(10);
    expect(r.body.metadata.labels).toEqual({ mutated: 'yes' });
    expect(r.headers.warning).toBe('299 - "size was clamped to 10", 299 - "validated"');
    // the validating webhook saw the mutated object
    expect(v.calls[0].request.object.spec.size).toBe(10);
    const k = kubectlFor(sb.kubeconfigPath);
    const out = await k(['apply', '-f', '-'], JSON.stringify(widget('big2', 'default', { size: 50 })));
    expect(out.code).toBe(0);
    expect(out.stderr).toContain('Warning: size was clamped to 10');
  });

  it('matches status subresource rules, operations and namespaceSelector', async () => {
    const h = await hook(() => ({ allowed: true }));
    await configure('Validating', h, {
      rules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['widgets/status'], operations: ['UPDATE'] }],
      namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
    });
    await raw(c, 'POST', '/api/v1/namespaces', { metadata: { name: 'prod', labels: { env: 'prod' } } });
    for (const ns of ['default', 'prod']) {
      await raw(c, 'POST', `/apis/${GROUP}/v1/namespaces/${ns}/widgets`, widget('s', ns));
      await raw(
        c,
        'PATCH',
        `/apis/${GROUP}/v1/namespaces/${ns}/widgets/s`,
        { spec: { size: 2 } },
        { contentType: 'application/merge-patch+json' },
      );
      await raw(
        c,
        'PATCH',
        `/apis/${GROUP}/v1/namespaces/${ns}/widgets/s/status`,
        { status: { phase: 'New' } },
        { contentType: 'application/merge-patch+json' },
      );
    }
    expect(h.calls.map((x) => `${x.request.namespace} ${x.request.operation} ${x.request.subResource}`)).toEqual([
      'prod UPDATE status',
    ]);
  });

  it('evaluates matchConditions (CEL over object, oldObject, request) and objectSelector', async () => {
    const h = await hook(() => ({ allowed: true }));
    await configure('Validating', h, {
      matchConditions: [{ name: 'big-only', expression: "request.operation == 'CREATE' && object.spec.size > 5" }],
      objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] },
    });
    await raw(c, 'POST', W, widget('m-small', 'default', { size: 2 }));
    await raw(c, 'POST', W, widget('m-big', 'default', { size: 9 }));
    await raw(c, 'POST', W, widget('m-big-skipped', 'default', { size: 9 }, { skip: 'yes' }));
    await raw(c, 'PATCH', `${W}/m-big`, { spec: { size: 8 } }, { contentType: 'application/merge-patch+json' });
    expect(h.calls.map((x) => x.request.name)).toEqual(['m-big']);
  });

  it('writes racing through admission: patches both apply (retried), the stale PUT gets 409', async () => {
    const slow = await hook(async () => {
      await new Promise((r) => setTimeout(r, 150));
      return { allowed: true };
    });
    await configure('Mutating', slow);
    expect((await raw(c, 'POST', W, widget('race', 'default', { size: 1 }))).status).toBe(201);
    const [a, b] = await Promise.all([
      raw(
        c,
        'PATCH',
        `${W}/race`,
        { metadata: { labels: { a: '1' } } },
        { contentType: 'application/merge-patch+json' },
      ),
      raw(
        c,
        'PATCH',
        `${W}/race`,
        { metadata: { labels: { b: '2' } } },
        { contentType: 'application/merge-patch+json' },
      ),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await raw(c, 'GET', `${W}/race`)).body.metadata.labels).toEqual({ a: '1', b: '2' });
    const cur = (await raw(c, 'GET', `${W}/race`)).body;
    const puts = await Promise.all([2, 3].map((size) => raw(c, 'PUT', `${W}/race`, { ...cur, spec: { size } })));
    expect(puts.map((p) => p.status).sort()).toEqual([200, 409]);
  });

  it('honours timeoutSeconds with failurePolicy Fail (500) and Ignore (admitted)', async () => {
    const slow = await hook(() => 'hang');
    await configure('Validating', slow, { timeoutSeconds: 1, failurePolicy: 'Fail' }, 'slow.sandbox.test');
    const r = await raw(c, 'POST', W, widget('t1'));
    expect(r.status).toBe(500);
    expect(r.body.reason).toBe('InternalError');
    expect(r.body.message).toMatch(
      /^Internal error occurred: failed calling webhook "slow\.sandbox\.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/admit\?timeout=1s": context deadline exceeded$/,
    );
    await raw(c, 'DELETE', configs.pop()!);
    await configure('Validating', slow, { timeoutSeconds: 1, failurePolicy: 'Ignore' }, 'slow.sandbox.test');
    expect((await raw(c, 'POST', W, widget('t2'))).status).toBe(201);
  });

  it('passes dry runs to side-effect-free webhooks without storing, validates configurations, and fails calls to untrusted certificates', async () => {
    const h = await hook(() => ({ allowed: true }));
    await configure('Validating', h, { sideEffects: 'NoneOnDryRun' });
    expect((await raw(c, 'POST', `${W}?dryRun=All`, widget('d1'))).status).toBe(201);
    expect((await raw(c, 'GET', `${W}/d1`)).status).toBe(404);
    await raw(c, 'DELETE', configs.pop()!);
    const bad = await raw(c, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
      metadata: { name: 'x' },
      webhooks: [
        { name: 'x.sandbox.test', clientConfig: { url: h.url }, sideEffects: 'Some', admissionReviewVersions: ['v1'] },
      ],
    });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain('webhooks[0].sideEffects: Unsupported value: "Some"');
    await configure('Validating', { ...h, caBundle: b64(sb.caPem) }, {}, 'wrongca.sandbox.test');
    const r = await raw(c, 'POST', W, widget('d2'));
    expect(r.status).toBe(500);
    expect(r.body.message).toContain('failed calling webhook "wrongca.sandbox.test"');
  });

  it('reaches a webhook configured with clientConfig.service through a route, verifying <svc>.<ns>.svc', async () => {
    const h = await hook(() => ({ allowed: false, status: { code: 422, message: 'routed and denied' } }));
    const { namespace, name } = TEST_WEBHOOK_SERVICE;
    await configure(
      'Validating',
      h,
      { clientConfig: { service: { namespace, name, path: '/validate', port: 443 }, caBundle: h.caBundle } },
      'svc.sandbox.test',
    );
    const unrouted = await raw(c, 'POST', W, widget('v1'));
    expect(unrouted.status).toBe(500);
    expect(unrouted.body.message).toContain(`service "${namespace}/${name}" is not routed in the sandbox`);
    c.routeService(namespace, name, Number(new URL(h.url).port));
    const r = await raw(c, 'POST', W, widget('v1'));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('admission webhook "svc.sandbox.test" denied the request: routed and denied');
    // a Service whose certificate does not carry its DNS name fails TLS verification
    c.routeService('webhooks', 'other', Number(new URL(h.url).port));
    await raw(c, 'DELETE', configs.pop()!);
    await configure(
      'Validating',
      h,
      { clientConfig: { service: { namespace: 'webhooks', name: 'other', path: '/validate' }, caBundle: h.caBundle } },
      'svc.sandbox.test',
    );
    const wrongName = await raw(c, 'POST', W, widget('v2'));
    expect(wrongName.status).toBe(500);
    expect(wrongName.body.message).toMatch(/other\.webhooks\.svc/);
  });
});
