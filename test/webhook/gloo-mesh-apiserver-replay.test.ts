// Rule zero of the contract (schemas/README.md) against a real API server: the writes Gloo Mesh's
// controllers make (gloo-mesh-writes.ts: its networking translator, cert-agent with its pod
// bouncer, issuer, and zephyr's csr-agent and signer) replayed as the API requests those
// controllers send, on both backends, with our CRDs installed (the CRD schemas and their CEL
// rules) and our webhook registered by clientConfig.url with the rules of manifests/webhook/
// (mutating and validating).
//
// Each write is one request, in the list's order: a CREATE is a POST, a main-resource UPDATE a PUT
// of the object carrying the resourceVersion (and uid) the apiserver returned for the previous
// write on that object, a status write a PUT to the status subresource, as controller-runtime's
// Update and Status().Update do. Asserted for each: admitted (2xx); the admission warnings, which
// the API server returns in `Warning` headers, as the list expects (none at all where it expects
// none, which also catches a field the CRD schema would prune); `metadata.generation` as the list
// has it (spec writes bump it, status writes keep it); and the stored object equal to what was
// sent (spec, status, labels, annotations: not patched, nothing pruned), except for the one object
// no Gloo Mesh controller owns, where the deprecated fields are copied onto their replacements.
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { startWebhook } from '../plugin/issue-rotate.helpers.js';
import { glooMeshWrites, type GlooMeshWrite, type GlooObject } from './gloo-mesh-writes.js';
import { REPO } from './helpers.js';

const writes: GlooMeshWrite[] = await glooMeshWrites();
const CLUSTER = 'cluster-1';

interface Reply {
  status: number;
  body: GlooObject & { status?: unknown; spec?: unknown; message?: string };
  warnings: string[];
}

/** One API request as a controller sends it: JSON in and out, the admission warnings read from the `Warning` headers. */
async function api(kc: KubeConfig, method: string, path: string, body?: unknown): Promise<Reply> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const opts: import('node:https').RequestOptions = {
    method,
    headers: { accept: 'application/json' },
    agent: false,
    timeout: 30_000,
  };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload)
    Object.assign(opts.headers as Record<string, string | number>, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    });
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, cluster.server), opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const warnings: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]!.toLowerCase() === 'warning') warnings.push(warningText(res.rawHeaders[i + 1]!));
        }
        let parsed: Reply['body'];
        try {
          parsed = JSON.parse(text) as Reply['body'];
        } catch {
          parsed = { metadata: {}, message: text };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** RFC 7234 warning-value as Kubernetes writes it: `299 - "text"`, with `\"` and `\\` escaped. */
function warningText(value: string): string {
  const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(value);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : value;
}

function resourcePath(obj: GlooObject, name?: string, sub?: string): string {
  const [group, version] = String(obj.apiVersion).split('/');
  const plural = `${String(obj.kind).toLowerCase()}s`;
  return `/apis/${group}/${version}/namespaces/${String(obj.metadata.namespace)}/${plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
}

/** Our webhook configurations (manifests/webhook/), pointed at a URL instead of the in-cluster Service. */
function webhookConfigurations(url: string, caPem: string): { path: string; body: Record<string, unknown> }[] {
  const files = [
    ['mutatingwebhookconfiguration.yaml', 'mutatingwebhookconfigurations', '/mutate'],
    ['validatingwebhookconfiguration.yaml', 'validatingwebhookconfigurations', '/validate'],
  ] as const;
  return files.map(([file, resource, endpoint]) => {
    const doc = parseAllDocuments(readFileSync(join(REPO, 'manifests/webhook', file), 'utf8'))[0]!.toJS() as {
      webhooks: Record<string, unknown>[];
    };
    for (const w of doc.webhooks) {
      const path = (w.clientConfig as { service?: { path?: string } }).service?.path ?? endpoint;
      w.clientConfig = { url: `${url}${path}`, caBundle: Buffer.from(caPem).toString('base64') };
      // fail closed on both: a webhook that is not called must show as a failed write, never as an unpatched one
      w.failurePolicy = 'Fail';
    }
    return { path: `/apis/admissionregistration.k8s.io/v1/${resource}`, body: doc as Record<string, unknown> };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The user's edit of the deprecation table: the old fields copied onto their replacements, the old ones kept. */
function patchedSpec(spec: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(spec);
  if (out.org !== undefined)
    out.certOptions = { ...((out.certOptions as Record<string, unknown> | undefined) ?? {}), orgName: out.org };
  if (out.signingCertificateSecret !== undefined)
    out.glooMeshCa = {
      ...((out.glooMeshCa as Record<string, unknown> | undefined) ?? {}),
      signingCertificateSecret: out.signingCertificateSecret,
    };
  return out;
}

/** The parts of an object a writer controls and the apiserver must keep as sent. */
function content(obj: {
  spec?: unknown;
  status?: unknown;
  metadata: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    spec: obj.spec,
    status: obj.status,
    labels: obj.metadata.labels ?? {},
    annotations: obj.metadata.annotations ?? {},
  };
}

const title = (i: number, w: GlooMeshWrite) =>
  `${String(i + 1).padStart(2, '0')} ${w.kind} ${w.operation}${w.subResource ? ' status' : ''}: ${w.description} [${w.writer}]`;

for (const backend of BACKENDS) {
  describe(backend, () => {
    let b: Backend | undefined;
    let webhook: Awaited<ReturnType<typeof startWebhook>> | undefined;
    const kc = new KubeConfig();
    /** What the apiserver returned for the last write on each object: the next write starts from it. */
    const stored = new Map<string, GlooObject>();
    /** What each object must hold after the replay. */
    const expected = new Map<string, Record<string, unknown>>();
    /** A failed write makes the writes after it on the same object meaningless: they are reported as such. */
    const broken = new Map<string, string>();

    beforeAll(async () => {
      b = await startBackend(backend, [CLUSTER]);
      webhook = await startWebhook();
      kc.loadFromFile(b.kubeconfigPath);
      kc.setCurrentContext(CLUSTER);
      for (const ns of ['gloo-mesh']) {
        const r = await api(kc, 'POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns },
        });
        if (r.status !== 201 && r.status !== 409)
          throw new Error(`creating namespace ${ns}: ${r.status} ${r.body.message ?? ''}`);
      }
      for (const cfg of webhookConfigurations(webhook.url, webhook.caPem)) {
        const r = await api(kc, 'POST', cfg.path, cfg.body);
        if (r.status !== 201)
          throw new Error(`registering the webhook (${cfg.path}): ${r.status} ${r.body.message ?? ''}`);
      }
      // kube-apiserver sees a new webhook configuration through an informer, a moment later: wait
      // until a dry run shows both webhooks in the path (the mutating one patches a user's object,
      // the validating one adds its own warning), so no write below slips past them.
      const probe = {
        apiVersion: 'certificates.mesh.gloo.solo.io/v1',
        kind: 'IssuedCertificate',
        metadata: { name: 'webhook-probe', namespace: 'gloo-mesh' },
        spec: { hosts: ['spiffe://probe.local/ns/istio-system/sa/istiod'], org: 'probe' },
      };
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await api(kc, 'POST', `${resourcePath(probe as GlooObject)}?dryRun=All`, probe);
        const mutated =
          (r.body.spec as { certOptions?: { orgName?: string } } | undefined)?.certOptions?.orgName === 'probe';
        const validated = r.warnings.filter((x) => x.includes('spec.org is deprecated')).length >= 2;
        if (r.status === 201 && mutated && validated) break;
        if (Date.now() > deadline)
          throw new Error(
            `the webhook is not in the path after 30 s: ${r.status} ${JSON.stringify(r.body).slice(0, 300)} warnings ${JSON.stringify(r.warnings)}`,
          );
        await sleep(200);
      }
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await b?.stop();
      await webhook?.close();
    });

    for (const [i, w] of writes.entries()) {
      it(title(i, w), async () => {
        const name = String(w.object.metadata.name);
        const key = `${w.kind}/${name}`;
        const before = broken.get(key);
        if (before) throw new Error(`not replayed: an earlier write on ${key} failed (${before})`);
        try {
          await replay(w, key, name);
        } catch (e) {
          broken.set(key, title(i, w));
          throw e;
        }
      });
    }

    async function replay(w: GlooMeshWrite, key: string, name: string): Promise<void> {
      let sent: GlooObject;
      let r: Reply;
      if (w.operation === 'CREATE') {
        // what a controller creates: no uid, resourceVersion or generation (the apiserver sets them)
        const { uid: _u, resourceVersion: _rv, generation: _g, ...metadata } = w.object.metadata;
        sent = { ...structuredClone(w.object), metadata: structuredClone(metadata) };
        r = await api(kc, 'POST', resourcePath(w.object), sent);
        expect(r.status, `${r.status}: ${r.body.message ?? ''}`).toBe(201);
      } else {
        const prev = stored.get(key);
        if (!prev) throw new Error(`${key}: UPDATE before any CREATE in the write list`);
        // the object as the controller holds it (read back from the apiserver) with its change made:
        // uid, resourceVersion and generation are the stored ones
        const { uid, resourceVersion, generation } = prev.metadata;
        sent = {
          ...structuredClone(w.object),
          metadata: { ...structuredClone(w.object.metadata), uid, resourceVersion, generation },
        };
        r = await api(kc, 'PUT', resourcePath(w.object, name, w.subResource), sent);
        expect(r.status, `${r.status}: ${r.body.message ?? ''}`).toBe(200);
        expect(r.body.metadata.resourceVersion, 'a new resourceVersion').not.toBe(resourceVersion);
      }
      stored.set(key, r.body);

      const got = r.body;
      expect(got.metadata.generation, 'metadata.generation as the write list has it').toBe(
        w.object.metadata.generation,
      );
      const warnings = r.warnings.join('\n');
      for (const text of w.expectWarnings ?? []) expect(warnings, 'Warning headers').toContain(text);

      const want = content(w.object);
      if (w.expectPatched) {
        // not Gloo Mesh's: the deprecated fields copied onto their replacements, with a warning naming both
        want.spec = patchedSpec(w.object.spec as Record<string, unknown>);
        expect(want.spec, 'the write list expects a patch where there is nothing to copy').not.toEqual(w.object.spec);
        for (const text of [
          'spec.org is deprecated',
          'spec.certOptions.orgName',
          'spec.signingCertificateSecret is deprecated',
          'spec.glooMeshCa.signingCertificateSecret',
        ]) {
          expect(warnings, 'Warning headers').toContain(text);
        }
      } else if (!w.expectWarnings) {
        expect(r.warnings, 'no warning expected').toEqual([]);
      }
      expect(
        content(got),
        w.expectPatched ? 'stored as patched' : 'stored as sent (not patched, nothing pruned)',
      ).toEqual(want);
      expected.set(key, want);
    }

    it('holds, read back after the replay, what the last write on each object left', async () => {
      expect(expected.size, 'objects replayed').toBe(
        new Set(writes.map((w) => `${w.kind}/${String(w.object.metadata.name)}`)).size,
      );
      for (const [key, want] of expected) {
        const w = writes.find((x) => `${x.kind}/${String(x.object.metadata.name)}` === key)!;
        const r = await api(kc, 'GET', resourcePath(w.object, String(w.object.metadata.name)));
        expect(r.status, key).toBe(200);
        expect(content(r.body), key).toEqual(want);
      }
    });
  });
}
