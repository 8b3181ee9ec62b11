// `check` reports each webhook's own serving certificate (issue 19), not only its caBundle: a
// caBundle of a CA good for ten years says nothing of a serving certificate with days left. For a
// webhook registered by URL the certificate is read by a TLS handshake; for one registered by
// Service, from the Secret its Deployment serves from (manifests/webhook/deployment.yaml as shipped).
// End to end on each backend (the sandbox, then the real control plane); the cases no live server
// can show (an expired certificate: the API server and this test would need another clock) are
// checked on the evaluation itself.
import { copyFileSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { buildWebhookServer, type WebhookServer } from '../../webhook/src/server.js';
import { evaluateServingCert, servingSecretOf } from '../../plugin/src/report/check-serving-cert.js';
import { apply, b64, buildPlugin, kubectl, kubectlMeshCert, privateKeyBlocks, REPO, tempDir } from './helpers.js';
import { namespace, webhookConfigs, type ClientConfig } from './fixtures.js';
import { SERVING_CERTIFICATE_ANNOTATION } from '#schemas/src/annotations.js';

interface Line {
  category: string;
  cluster: string;
  name: string;
  result: 'pass' | 'warn' | 'fail';
  message: string;
  check?: string;
  hint?: string;
}
interface Pki {
  dir: string;
  caPem: string;
  certPem: string;
}

const SUBJECT = '"O=mesh-cert, CN=mesh-cert-webhook.mesh-cert-system.svc"';
const VALIDATING = 'ValidatingWebhookConfiguration mesh-cert-webhook / validate.mesh-cert.io serving certificate';

/** webhook/gen-certs.sh into a new folder; `ca` reuses that folder's CAs (a new serving certificate only). */
function genCerts(args: string[], ca?: Pki): Pki {
  const dir = tempDir('mesh-cert-serving-');
  if (ca)
    for (const f of ['ca.crt', 'ca.key', 'client-ca.crt', 'client-ca.key']) copyFileSync(join(ca.dir, f), join(dir, f));
  execFileSync(join(REPO, 'webhook/gen-certs.sh'), ['--out', dir, ...(ca ? ['--reuse-ca'] : []), ...args], {
    stdio: 'pipe',
  });
  return { dir, caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), certPem: readFileSync(join(dir, 'tls.crt'), 'utf8') };
}

const serve = (p: Pki): Promise<WebhookServer> =>
  buildWebhookServer({
    port: 0,
    healthPort: 0,
    host: '127.0.0.1',
    tlsCertFile: join(p.dir, 'tls.crt'),
    tlsKeyFile: join(p.dir, 'tls.key'),
    logLevel: 'silent',
    rotationCache: null,
  });

const byUrl =
  (w: WebhookServer) =>
  (path: string): ClientConfig => ({ url: `${w.url}${path}` });
const byService = (): ClientConfig => ({
  service: { name: 'mesh-cert-webhook', namespace: 'mesh-cert-system', port: 443 },
});

describe('the serving certificate, evaluated', () => {
  let good: Pki;
  let other: Pki;
  beforeAll(() => {
    good = genCerts(['--san', 'IP:127.0.0.1']);
    other = genCerts(['--san', 'IP:127.0.0.1']);
  });

  it('fails an expired one with its date, before anything else', () => {
    const notAfter = Date.parse(new X509Certificate(good.certPem).validTo);
    const l = evaluateServingCert(
      'c',
      'hook',
      { pems: [good.certPem], source: 'TLS handshake with 127.0.0.1:9443', host: '127.0.0.1' },
      [good.caPem],
      notAfter + 86_400_000,
    );
    expect(l).toMatchObject({
      check: 'webhook-serving-cert',
      name: 'hook serving certificate',
      result: 'fail',
      hint: expect.stringContaining('webhook/gen-certs.sh'),
    });
    expect(l.message).toBe(
      `the serving certificate ${SUBJECT} (TLS handshake with 127.0.0.1:9443) expired on ${new Date(notAfter).toISOString()}: the API server refuses it`,
    );
  });

  it('passes, warns and fails by days left, chain and host', () => {
    const now = Date.now();
    const at = (host: string, ca: Pki, t = now) =>
      evaluateServingCert('c', 'hook', { pems: [good.certPem], source: 's', host }, [ca.caPem], t);
    expect(at('127.0.0.1', good)).toMatchObject({
      result: 'pass',
      message: `the serving certificate ${SUBJECT} (s) chains to the caBundle and is valid for 364 more days`,
    });
    expect(at('mesh-cert-webhook.mesh-cert-system.svc', good).result).toBe('pass');
    expect(at('127.0.0.1', good, now + 340 * 86_400_000)).toMatchObject({
      result: 'warn',
      message: expect.stringMatching(/^the serving certificate .* \(s\) expires in 2[34] days \(< 30\), on \d{4}-/),
    });
    expect(at('127.0.0.2', good)).toMatchObject({
      result: 'fail',
      message: `the serving certificate ${SUBJECT} (s) is not valid for 127.0.0.2, the name the API server verifies`,
    });
    expect(at('127.0.0.1', other)).toMatchObject({
      result: 'fail',
      message: expect.stringMatching(/^the serving certificate .* \(s\) does not chain to the caBundle: /),
    });
  });

  it('finds the Secret a Deployment serves from: where --tls-cert-file points, through items, else the first Secret volume', () => {
    const deployment = parseYaml(readFileSync(join(REPO, 'manifests/webhook/deployment.yaml'), 'utf8'));
    expect(servingSecretOf(deployment.spec.template.spec)).toEqual({
      secret: 'mesh-cert-webhook-certs',
      key: 'tls.crt',
      how: 'kept by',
    });
    expect(
      servingSecretOf({
        containers: [
          {
            args: ['--tls-cert-file', '/tls/serving.pem'],
            volumeMounts: [
              { name: 'cfg', mountPath: '/cfg' },
              { name: 'tls', mountPath: '/tls/' },
            ],
          },
        ],
        volumes: [
          { name: 'cfg', secret: { secretName: 'config' } },
          { name: 'tls', secret: { secretName: 'serving', items: [{ key: 'cert', path: 'serving.pem' }] } },
        ],
      }),
    ).toEqual({ secret: 'serving', key: 'cert', how: 'mounted by' });
    expect(
      servingSecretOf({
        containers: [{}],
        volumes: [{ name: 'x' }, { name: 'tls', secret: { secretName: 'webhook-certs' } }],
      }),
    ).toEqual({ secret: 'webhook-certs', key: 'tls.crt', how: 'mounted by' });
    expect(servingSecretOf({ containers: [{}], volumes: [{ name: 'x' }] })).toBeUndefined();
  });
});

for (const backend of BACKENDS) {
  describe(backend, () => {
    let world: Backend;
    let env: Record<string, string>;
    let good: Pki;
    let short: Pki;
    const servers: Record<'good' | 'short' | 'foreign' | 'noIp' | 'mtls', WebhookServer | undefined> = {
      good: undefined,
      short: undefined,
      foreign: undefined,
      noIp: undefined,
      mtls: undefined,
    };

    /** Replaces the two webhook configurations (apply would merge a url and a service into one clientConfig). */
    const register = async (configs: object[]) => {
      await kubectl(world.kubeconfigPath, 'mgmt', [
        'delete',
        'validatingwebhookconfiguration,mutatingwebhookconfiguration',
        'mesh-cert-webhook',
        '--ignore-not-found',
      ]);
      await apply(world.kubeconfigPath, 'mgmt', ...configs);
    };
    const check = async (): Promise<{ code: number; lines: Line[]; stdout: string }> => {
      const r = await kubectlMeshCert(['check', '-o', 'json', '--mgmt-context', 'mgmt', '--managed-clusters', 'mgmt'], {
        env,
      });
      return { code: r.code, lines: JSON.parse(r.stdout).checks, stdout: r.stdout };
    };
    const servingLines = (lines: Line[]) => lines.filter((l) => l.check === 'webhook-serving-cert');

    beforeAll(async () => {
      buildPlugin();
      good = genCerts(['--san', 'IP:127.0.0.1']);
      short = genCerts(['--san', 'IP:127.0.0.1', '--days', '10'], good);
      const foreign = genCerts(['--san', 'IP:127.0.0.1']);
      const noIp = genCerts([], good);
      [servers.good, servers.short, servers.foreign, servers.noIp] = await Promise.all([
        serve(good),
        serve(short),
        serve(foreign),
        serve(noIp),
      ]);
      // As deployed (manifests/webhook/deployment.yaml): only a client with the API server's certificate completes a request.
      servers.mtls = await buildWebhookServer({
        port: 0,
        healthPort: 0,
        host: '127.0.0.1',
        tlsCertFile: join(good.dir, 'tls.crt'),
        tlsKeyFile: join(good.dir, 'tls.key'),
        clientCaFile: join(good.dir, 'client-ca.crt'),
        logLevel: 'silent',
        rotationCache: null,
      });
      world = await startBackend(backend, ['mgmt']);
      env = { KUBECONFIG: world.kubeconfigPath };
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await world?.stop();
      await Promise.all(Object.values(servers).map((s) => s?.close()));
    });

    describe('a webhook registered by URL: the certificate of a TLS handshake', () => {
      it('passes one that chains to the caBundle with a year left, one line per webhook', async () => {
        await register(webhookConfigs(byUrl(servers.good!), good.caPem));
        const { lines } = await check();
        const host = new URL(servers.good!.url).host;
        expect(servingLines(lines).map((l) => `${l.name}: ${l.result}: ${l.message}`)).toEqual([
          `${VALIDATING}: pass: the serving certificate ${SUBJECT} (TLS handshake with ${host}) chains to the caBundle and is valid for 364 more days`,
          `MutatingWebhookConfiguration mesh-cert-webhook / mutate.mesh-cert.io serving certificate: pass: the serving certificate ${SUBJECT} (TLS handshake with ${host}) chains to the caBundle and is valid for 364 more days`,
        ]);
        // The caBundle's line says how long the CA lasts; the serving certificate has its own.
        expect(
          lines.find((l) => l.name === 'ValidatingWebhookConfiguration mesh-cert-webhook / validate.mesh-cert.io'),
        ).toMatchObject({
          result: 'pass',
          message: `routes the mesh-cert kinds to ${servers.good!.url}/validate; its caBundle is valid for 3649 more days`,
        });
        expect(lines.find((l) => l.check === 'webhook-dry-run')!.result).toBe('pass');
      });

      it('warns, in the table as linkerd check does, when the serving certificate has 10 days left and the CA ten years', async () => {
        await register(webhookConfigs(byUrl(servers.short!), good.caPem));
        const { code, lines } = await check();
        expect(code).toBe(3); // warnings only
        const host = new URL(servers.short!.url).host;
        expect(servingLines(lines).map((l) => l.result)).toEqual(['warn', 'warn']);
        expect(servingLines(lines)[0]).toMatchObject({
          message: expect.stringMatching(
            new RegExp(
              `^the serving certificate ${SUBJECT} \\(TLS handshake with ${host.replace(/\./g, '\\.')}\\) expires in 9 days \\(< 30\\), on \\d{4}-\\d\\d-\\d\\dT`,
            ),
          ),
          hint: expect.stringContaining('manual TLS: webhook/gen-certs.sh --reuse-ca --apply (the caBundle stays)'),
        });
        expect(
          lines.find((l) => l.name === 'ValidatingWebhookConfiguration mesh-cert-webhook / validate.mesh-cert.io')!
            .result,
        ).toBe('pass');
        const table = await kubectlMeshCert(['check', '--mgmt-context', 'mgmt', '--managed-clusters', 'mgmt'], { env });
        expect(table.stdout).toMatch(
          new RegExp(
            `\\n‼ \\[mgmt\\] the serving certificate ${SUBJECT} \\(TLS handshake with [^)]+\\) expires in 9 days \\(< 30\\), on [^\\n]+\\n    hint: tls mode self renews it at 2/3 of its life: [^\\n]*webhook/gen-certs\\.sh --reuse-ca --apply \\(the caBundle stays\\)\\n`,
          ),
        );
      });

      it("fails a serving certificate another CA signed, and one not valid for the URL's host", async () => {
        await register(webhookConfigs(byUrl(servers.foreign!), good.caPem));
        let { code, lines } = await check();
        expect(code).toBe(1);
        expect(servingLines(lines)[0]).toMatchObject({
          result: 'fail',
          message: expect.stringMatching(
            new RegExp(
              `^the serving certificate ${SUBJECT} \\(TLS handshake with [^)]+\\) does not chain to the caBundle: `,
            ),
          ),
        });
        // The API server agrees: it cannot call the webhook.
        expect(lines.find((l) => l.check === 'webhook-dry-run')!.result).toBe('fail');

        await register(webhookConfigs(byUrl(servers.noIp!), good.caPem));
        ({ code, lines } = await check());
        expect(code).toBe(1);
        expect(servingLines(lines)[0]).toMatchObject({
          result: 'fail',
          message: expect.stringMatching(/ is not valid for 127\.0\.0\.1, the name the API server verifies$/),
        });
      });

      it('reads the certificate of a webhook that requires a client certificate, which check has not', async () => {
        await register(webhookConfigs(byUrl(servers.mtls!), good.caPem));
        const { lines } = await check();
        expect(servingLines(lines).map((l) => l.result)).toEqual(['pass', 'pass']);
        expect(servingLines(lines)[0]!.message).toContain(
          `(TLS handshake with ${new URL(servers.mtls!.url).host}) chains to the caBundle`,
        );
      });
    });

    describe('a webhook registered by Service: the Secret its Deployment serves from', () => {
      it('reads the serving certificate from that Secret and says so', async () => {
        const deployment = parseYaml(readFileSync(join(REPO, 'manifests/webhook/deployment.yaml'), 'utf8'));
        await apply(world.kubeconfigPath, 'mgmt', namespace('mesh-cert-system'), deployment, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'mesh-cert-webhook-certs', namespace: 'mesh-cert-system' },
          type: 'kubernetes.io/tls',
          data: { 'tls.crt': b64(short.certPem), 'tls.key': b64(readFileSync(join(short.dir, 'tls.key'), 'utf8')) },
        });
        await register(webhookConfigs(byService, good.caPem));
        const { lines, stdout } = await check();
        expect(privateKeyBlocks(stdout)).toEqual([]);
        const source =
          'Secret mesh-cert-system/mesh-cert-webhook-certs key tls.crt, kept by Deployment mesh-cert-system/mesh-cert-webhook';
        expect(servingLines(lines)).toEqual([
          expect.objectContaining({
            name: VALIDATING,
            result: 'warn',
            message: expect.stringMatching(
              new RegExp(`^the serving certificate ${SUBJECT} \\(${source}\\) expires in 9 days \\(< 30\\)`),
            ),
          }),
          expect.objectContaining({ result: 'warn' }),
        ]);
        expect(
          lines.find((l) => l.name === 'ValidatingWebhookConfiguration mesh-cert-webhook / validate.mesh-cert.io')!
            .message,
        ).toBe(
          'routes the mesh-cert kinds to service mesh-cert-system/mesh-cert-webhook; its caBundle is valid for 3649 more days',
        );
      });

      it('warns when the Secret cannot be read, naming what is missing and how to look', async () => {
        await kubectl(world.kubeconfigPath, 'mgmt', [
          'delete',
          'secret',
          'mesh-cert-webhook-certs',
          '-n',
          'mesh-cert-system',
        ]);
        const { lines } = await check();
        expect(servingLines(lines)[0]).toMatchObject({
          result: 'warn',
          message:
            'the serving certificate of service mesh-cert-system/mesh-cert-webhook could not be read: Secret mesh-cert-system/mesh-cert-webhook-certs key tls.crt, kept by Deployment mesh-cert-system/mesh-cert-webhook: the Secret does not exist',
          hint: expect.stringContaining('kubectl -n mesh-cert-system get secret SECRET'),
        });
      });

      it('reads the certificate the webhook published on its configuration, with no access to its Secret', async () => {
        // the Secret is gone (previous test): only the annotation can tell
        const published = webhookConfigs(byService, good.caPem).map((c) => {
          const o = c as { metadata: { name: string; annotations?: Record<string, string> } };
          return {
            ...o,
            metadata: { ...o.metadata, annotations: { [SERVING_CERTIFICATE_ANNOTATION]: short.certPem } },
          };
        });
        await register(published);
        const { lines } = await check();
        expect(servingLines(lines)).toEqual([
          expect.objectContaining({
            name: VALIDATING,
            result: 'warn',
            message: expect.stringMatching(
              new RegExp(
                `^the serving certificate ${SUBJECT} \\(published by the webhook on ValidatingWebhookConfiguration mesh-cert-webhook\\) expires in 9 days \\(< 30\\)`,
              ),
            ),
          }),
          expect.objectContaining({ result: 'warn' }),
        ]);
      });
    });
  });
}
