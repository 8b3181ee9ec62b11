// Against each backend's API server (the sandbox, then a real kube-apiserver), through real
// kubectl writes: the CertificateRotation cache (list, watch; reconnect after a restart on the
// sandbox, which can stop a cluster), and the webhook registered with the shipped webhook
// configurations by clientConfig.url and caBundle, called by the API server itself.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { startRotationInformer, type RotationCache } from '../../webhook/src/rotation-cache.js';
import { certificateRequest, certificateRotation, finishedStatus, issuedCertificate } from './fixtures.js';
import { genPki, genServingCert, post, REPO, review, startHarness, tmp } from './helpers.js';

let world: Backend;
// Asynchronous: the sandbox API server runs in this process, so a blocking child would starve it.
function run(file: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env: opts.env, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
    child.stdin!.end(opts.input ?? '');
  });
}
function runWithStderr(file: string, args: string[], input: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}
const kubectl = (args: string[], input?: string): Promise<string> =>
  run('/usr/bin/kubectl', ['--kubeconfig', world.kubeconfigPath, ...args], { input });
/** The stderr of a kubectl command that must fail. */
const refused = (args: string[], input?: string): Promise<string> =>
  kubectl(args, input).then(
    (out) => `unexpectedly succeeded: ${out}`,
    (err: { stderr?: string }) => String(err.stderr),
  );

/**
 * A request of our own to the API server, to read its Status as it sends it; authenticated as the
 * kubeconfig's current context is (a bearer token on the sandbox, a client certificate on kube).
 */
async function apiRequest(
  method: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: { message: string } }> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(world.kubeconfigPath);
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, kc.getCurrentCluster()!.server),
      { ...opts, method, headers: { ...opts.headers, 'content-type': 'application/merge-patch+json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { message: string } }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const namespace = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

function manifest(name: string, vm: string): string {
  const r = certificateRotation(name, vm);
  const m = r.metadata as Record<string, unknown>;
  return JSON.stringify({ ...r, metadata: { name: m.name, namespace: m.namespace } });
}

const names = (c: RotationCache): string[] =>
  c
    .list()
    .map((r) => String((r as { metadata: { name: string } }).metadata.name))
    .sort();

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      world = await startBackend(backend, ['mgmt']);
      await kubectl(['apply', '-f', '-'], namespace('gloo-mesh'));
      await kubectl(['apply', '-f', '-'], manifest('rotate-a', 'mesh-a'));
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await world?.stop();
    });

    describe('CertificateRotation cache', () => {
      it('lists and follows the watch', async () => {
        const errors: string[] = [];
        const cache = await startRotationInformer({
          kubeconfig: world.kubeconfigPath,
          onError: (m) => errors.push(m),
          retryMs: 100,
        });
        try {
          expect(cache.synced()).toBe(true);
          expect(names(cache)).toEqual(['rotate-a']);
          await kubectl(['apply', '-f', '-'], manifest('rotate-b', 'mesh-b'));
          await expect.poll(() => names(cache), { timeout: 10_000 }).toEqual(['rotate-a', 'rotate-b']);
          await kubectl([
            'delete',
            'certificaterotations.certificates.mesh.gloo.solo.io',
            '-n',
            'gloo-mesh',
            'rotate-b',
          ]);
          await expect.poll(() => names(cache), { timeout: 10_000 }).toEqual(['rotate-a']);

          await kubectl(['apply', '-f', '-'], manifest('rotate-c', 'mesh-c'));
          await expect.poll(() => names(cache), { timeout: 10_000 }).toEqual(['rotate-a', 'rotate-c']);
          expect(errors).toEqual([]);
          await kubectl([
            'delete',
            'certificaterotations.certificates.mesh.gloo.solo.io',
            '-n',
            'gloo-mesh',
            'rotate-c',
          ]);
        } finally {
          await cache.stop();
        }
      });

      // fault injection: the sandbox only
      if (backend === 'sandbox')
        it('starts unsynced while the API server is down, and syncs once it is back', async () => {
          const cluster = world.sandbox!.clusters.get('mgmt')!;
          await cluster.stop();
          const errors: string[] = [];
          let cache: RotationCache | undefined;
          try {
            cache = await startRotationInformer({
              kubeconfig: world.kubeconfigPath,
              onError: (m) => errors.push(m),
              retryMs: 100,
            });
            expect(cache.synced()).toBe(false);
            expect(errors[0]).toMatch(
              /^CertificateRotation list\/watch on https:\/\/127\.0\.0\.1:\d+ failed \(.*\); retrying in 100 ms$/,
            );
          } finally {
            await cluster.start();
          }
          try {
            await expect.poll(() => cache!.synced(), { timeout: 15_000 }).toBe(true);
            expect(names(cache!)).toEqual(['rotate-a']);
          } finally {
            await cache!.stop();
          }
        });

      it('is what the webhook reads, given --kubeconfig: a second active rotation of a VirtualMesh is denied until the first ends', async () => {
        const h = await startHarness({ kubeconfig: world.kubeconfigPath, rotationCache: undefined });
        try {
          expect((await fetch(`${h.server.healthUrl}/readyz`)).status).toBe(200);
          const second = review('CertificateRotation', 'CREATE', certificateRotation('rotate-a2', 'mesh-a'));
          const denied = await h.send('/validate', second);
          expect(denied.allowed).toBe(false);
          expect(denied.status.code).toBe(403);
          expect(denied.status.message).toContain('gloo-mesh/rotate-a');
          await kubectl([
            'patch',
            'certificaterotations.certificates.mesh.gloo.solo.io',
            '-n',
            'gloo-mesh',
            'rotate-a',
            '--subresource=status',
            '--type=merge',
            '-p',
            '{"status":{"state":"FAILED","error":"rolled back"}}',
          ]);
          await expect
            .poll(
              async () =>
                (await h.send('/validate', { ...second, request: { ...second.request, uid: `retry-${Date.now()}` } }))
                  .allowed,
              { timeout: 10_000 },
            )
            .toBe(true);
        } finally {
          await h.close();
        }
      });
    });

    describe('the bundled command with --kubeconfig', () => {
      it('syncs the cache and enforces the rule', async () => {
        const out = tmp('mesh-cert-webhook-build-');
        await run(process.execPath, [join(REPO, 'webhook/build.mjs'), '--outdir', out]);
        const cert = genServingCert();
        const child = spawn(
          process.execPath,
          [
            join(out, 'main.js'),
            '--port',
            '0',
            '--health-port',
            '0',
            '--tls-cert-file',
            cert.certFile,
            '--tls-private-key-file',
            cert.keyFile,
            '--kubeconfig',
            world.kubeconfigPath,
            '--log-level',
            'warn',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        try {
          let stdout = '';
          let stderr = '';
          child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
          const line = await new Promise<string>((resolve, reject) => {
            child.stdout!.on('data', (d: Buffer) => {
              stdout += d.toString();
              const l = stdout.split('\n').find((x) => x.includes('"msg":"mesh-cert-webhook serving'));
              if (l) resolve(l);
            });
            child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
          });
          const [, url, healthUrl] = /on (https:\S+) .*on (http:\S+) /.exec(line)!;
          expect((await fetch(`${healthUrl}/readyz`)).status).toBe(200);
          await kubectl(['apply', '-f', '-'], manifest('rotate-bin', 'mesh-bin'));
          const body = review('CertificateRotation', 'CREATE', certificateRotation('rotate-bin-2', 'mesh-bin'));
          await expect
            .poll(
              async () =>
                JSON.parse(
                  (
                    await post(
                      url!,
                      '/validate',
                      JSON.stringify({ ...body, request: { ...body.request, uid: `u-${Date.now()}` } }),
                      { ca: cert.caPem },
                    )
                  ).text,
                ).response.status?.message ?? 'allowed',
              { timeout: 10_000 },
            )
            .toContain('already has an active CertificateRotation gloo-mesh/rotate-bin');
          expect(stderr).not.toContain('Error');
        } finally {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      });
    });

    describe('webhook/gen-certs.sh --apply', () => {
      it('creates the TLS Secret and patches the caBundle into every webhook of both configurations', async () => {
        await kubectl(['apply', '-f', join(REPO, 'manifests/webhook/namespace.yaml')]);
        for (const f of ['mutatingwebhookconfiguration.yaml', 'validatingwebhookconfiguration.yaml'])
          await kubectl(['apply', '-f', join(REPO, 'manifests/webhook', f)]);
        const out = tmp('mesh-cert-gen-certs-');
        const printed = await run(join(REPO, 'webhook/gen-certs.sh'), ['--out', out, '--apply'], {
          env: { ...process.env, KUBECONFIG: world.kubeconfigPath },
        });
        const caBundle = Buffer.from(readFileSync(join(out, 'ca.crt'))).toString('base64');
        expect(printed).toContain(`caBundle: ${caBundle}`);
        const secret = JSON.parse(
          await kubectl(['get', 'secret', '-n', 'mesh-cert-system', 'mesh-cert-webhook-tls', '-o', 'json']),
        ) as { type: string; data: Record<string, string> };
        expect(secret.type).toBe('kubernetes.io/tls');
        expect(Buffer.from(secret.data['tls.crt']!, 'base64').toString()).toBe(
          readFileSync(join(out, 'tls.crt'), 'utf8'),
        );
        for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
          const cfg = JSON.parse(await kubectl(['get', kind, 'mesh-cert-webhook', '-o', 'json'])) as {
            webhooks: { clientConfig: { caBundle?: string } }[];
          };
          expect(cfg.webhooks.map((w) => w.clientConfig.caBundle)).toEqual(cfg.webhooks.map(() => caBundle));
        }
        // the certificate is for the Service, signed by that CA (openssl's own verdict)
        const san = execFileSync('openssl', ['x509', '-in', join(out, 'tls.crt'), '-noout', '-ext', 'subjectAltName'], {
          encoding: 'utf8',
        });
        expect(san).toContain('DNS:mesh-cert-webhook.mesh-cert-system.svc');
        expect(
          execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')], {
            encoding: 'utf8',
          }),
        ).toContain(': OK');
      });
    });

    describe('behind the API server, configured from manifests/webhook', () => {
      it('maps deprecated fields (not on owned objects), denies illegal moves and a second active rotation, for real kubectl writes', async () => {
        const h = await startHarness({ kubeconfig: world.kubeconfigPath, rotationCache: undefined });
        try {
          // the shipped configurations, pointed at this server by url instead of the in-cluster Service
          for (const file of ['mutatingwebhookconfiguration.yaml', 'validatingwebhookconfiguration.yaml']) {
            const doc = parseAllDocuments(readFileSync(join(REPO, 'manifests/webhook', file), 'utf8'))[0]!.toJS() as {
              webhooks: { clientConfig: Record<string, unknown> }[];
            };
            for (const w of doc.webhooks) {
              const path = (w.clientConfig.service as { path: string }).path;
              w.clientConfig = {
                url: `${h.server.url}${path}`,
                caBundle: Buffer.from(h.cert.caPem).toString('base64'),
              };
            }
            await kubectl(['apply', '-f', '-'], JSON.stringify(doc));
          }
          await kubectl(['apply', '-f', '-'], namespace('istio-system'));

          const ic = issuedCertificate('cluster-1', { org: 'acme' }) as { metadata: Record<string, unknown> };
          ic.metadata = { name: 'cluster-1', namespace: 'istio-system' };
          const applied = await runWithStderr(
            '/usr/bin/kubectl',
            ['--kubeconfig', world.kubeconfigPath, 'apply', '-f', '-'],
            JSON.stringify(ic),
          );
          expect(applied.stdout).toContain('created');
          // the mutating webhook's warning, relayed by the API server to kubectl
          expect(applied.stderr).toContain('Warning: spec.org is deprecated: copied to spec.certOptions.orgName');
          const storedIc = JSON.parse(
            await kubectl([
              'get',
              'issuedcertificates.certificates.mesh.gloo.solo.io',
              '-n',
              'istio-system',
              'cluster-1',
              '-o',
              'json',
            ]),
          ) as { spec: { org: string; certOptions: { orgName: string } } };
          expect(storedIc.spec.certOptions.orgName).toBe('acme');
          expect(storedIc.spec.org).toBe('acme');

          // a deprecated field that differs from its replacement, as Gloo Mesh writes `org: Istio` next to a
          // VirtualMesh's orgName: admitted, the replacement wins, and the warning names both
          const differing = issuedCertificate('cluster-2', { org: 'Istio', certOptions: { orgName: 'acme' } }) as {
            metadata: Record<string, unknown>;
          };
          differing.metadata = { name: 'cluster-2', namespace: 'istio-system' };
          const admitted = await runWithStderr(
            '/usr/bin/kubectl',
            ['--kubeconfig', world.kubeconfigPath, 'apply', '-f', '-'],
            JSON.stringify(differing),
          );
          expect(admitted.stdout).toContain('created');
          expect(admitted.stderr).toContain(
            'Warning: spec.org is deprecated and differs from spec.certOptions.orgName ("Istio" vs "acme"): spec.certOptions.orgName is the one read',
          );
          // an IssuedCertificate Gloo Mesh's translator owns: never patched, only warned about
          const owned = issuedCertificate('cluster-3', { org: 'Istio' }) as {
            metadata: Record<string, unknown>;
            spec: Record<string, unknown>;
          };
          owned.metadata = {
            name: 'cluster-3',
            namespace: 'istio-system',
            labels: { 'owner.networking.mesh.gloo.solo.io': 'gloo-mesh' },
          };
          delete owned.spec.certOptions;
          const ownedApplied = await runWithStderr(
            '/usr/bin/kubectl',
            ['--kubeconfig', world.kubeconfigPath, 'apply', '-f', '-'],
            JSON.stringify(owned),
          );
          expect(ownedApplied.stdout).toContain('created');
          expect(ownedApplied.stderr).toContain(
            'Warning: spec.org is deprecated: not copied to spec.certOptions.orgName, since a Gloo Mesh controller owns this IssuedCertificate',
          );
          const storedOwned = JSON.parse(
            await kubectl([
              'get',
              'issuedcertificates.certificates.mesh.gloo.solo.io',
              '-n',
              'istio-system',
              'cluster-3',
              '-o',
              'json',
            ]),
          ) as { spec: Record<string, unknown> };
          expect(storedOwned.spec).toEqual(owned.spec);
          // a FINISHED CertificateRequest whose certificate is for another key: no CRD rule can see that
          const pki = genPki();
          const cr = certificateRequest(pki, 'cluster-1') as { metadata: Record<string, unknown> };
          cr.metadata = { name: 'cluster-1', namespace: 'istio-system' };
          await kubectl(['apply', '-f', '-'], JSON.stringify(cr));
          const finish = (signed: string): string[] => [
            'patch',
            'certificaterequests.certificates.mesh.gloo.solo.io',
            '-n',
            'istio-system',
            'cluster-1',
            '--subresource=status',
            '--type=merge',
            '-p',
            JSON.stringify({ status: finishedStatus(pki, { signedCertificate: pki.b64(signed) }) }),
          ];
          // kubectl words an Invalid status from its causes; the API server's own message says who denied it
          expect(await refused(finish(pki.wrongKeyPem))).toContain(
            'The CertificateRequest "cluster-1" is invalid: status.signedCertificate',
          );
          const raw = await apiRequest(
            'PATCH',
            '/apis/certificates.mesh.gloo.solo.io/v1/namespaces/istio-system/certificaterequests/cluster-1/status',
            { status: finishedStatus(pki, { signedCertificate: pki.b64(pki.wrongKeyPem) }) },
          );
          expect(raw.status).toBe(422);
          expect(raw.body.message).toMatch(
            /^admission webhook "validate\.mesh-cert\.io" denied the request: CertificateRequest\.certificates\.mesh\.gloo\.solo\.io "cluster-1" is invalid: status\.signedCertificate: Invalid value: .*/,
          );
          await kubectl(finish(pki.signedPem));
          const stored = JSON.parse(
            await kubectl([
              'get',
              'certificaterequests.certificates.mesh.gloo.solo.io',
              '-n',
              'istio-system',
              'cluster-1',
              '-o',
              'json',
            ]),
          ) as { status: { state: string } };
          expect(stored.status.state).toBe('FINISHED');
          // an illegal move: the CRD's own rules or the webhook refuse it, naming the field
          const illegal = await refused([
            'patch',
            'issuedcertificates.certificates.mesh.gloo.solo.io',
            '-n',
            'istio-system',
            'cluster-1',
            '--subresource=status',
            '--type=merge',
            '-p',
            '{"status":{"state":"FINISHED"}}',
          ]);
          expect(illegal).toContain('status.state');
          expect(illegal).toContain('PENDING to FINISHED');
          await kubectl([
            'patch',
            'issuedcertificates.certificates.mesh.gloo.solo.io',
            '-n',
            'istio-system',
            'cluster-1',
            '--subresource=status',
            '--type=merge',
            '-p',
            '{"status":{"state":"REQUESTED"}}',
          ]);

          // rotate-a is FAILED by now (previous test); two new ones for mesh-a: the second is refused
          await kubectl(['apply', '-f', '-'], manifest('rotate-x', 'mesh-a'));
          await expect
            .poll(() => refused(['apply', '-f', '-'], manifest('rotate-y', 'mesh-a')), { timeout: 10_000 })
            .toContain('already has an active CertificateRotation gloo-mesh/rotate-x');
        } finally {
          await h.close();
        }
      });
    });
  });
}
