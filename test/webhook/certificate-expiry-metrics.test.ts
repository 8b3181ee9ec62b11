// mesh_cert_certificate_expiration_timestamp_seconds: the expiry of the mesh's intermediates and
// roots, read by the webhook from the CertificateRequests of its cluster (list and watch).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { CERTIFICATE_EXPIRY, certificateExpiries, startExpiryExporter } from '../../webhook/src/certificate-expiry.js';
import { applyFinished, genChain, kubectl, parseExposition, type Chain } from './expiry-fixtures.js';
import { issuedCertificate } from './fixtures.js';
import { review, startHarness, tmp } from './helpers.js';

const series = async (healthUrl: string): Promise<{ labels: Record<string, string>; value: number }[]> =>
  parseExposition(await (await fetch(`${healthUrl}/metrics`)).text()).filter((s) => s.name === CERTIFICATE_EXPIRY);

describe('the certificates of one CertificateRequest', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const c = genChain({ root: 30, signer: 20, intermediate: 10 });

  it('a root as the whole of signingRootCa is the root; signedCertificate alone, the intermediate', () => {
    expect(
      certificateExpiries({ status: { signedCertificate: b64(c.intermediatePem), signingRootCa: b64(c.rootPem) } }).map(
        (e) => [e.role, e.field, e.notAfterSeconds],
      ),
    ).toEqual([
      ['intermediate', 'signedCertificate', c.notAfter.intermediate],
      ['root', 'signingRootCa', c.notAfter.root],
    ]);
    expect(certificateExpiries({ status: { signedCertificate: b64(c.intermediatePem) } }).map((e) => e.role)).toEqual([
      'intermediate',
    ]);
  });

  it('nothing from a status without certificates, or with fields that are not base64 of PEM', () => {
    expect(certificateExpiries({})).toEqual([]);
    expect(certificateExpiries({ status: { signedCertificate: '', signingRootCa: 42 } })).toEqual([]);
    expect(
      certificateExpiries({
        status: {
          signedCertificate: c.intermediatePem,
          signingRootCa: b64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
        },
      }),
    ).toEqual([]);
  });
});

for (const backend of BACKENDS) {
  describe(backend, () => {
    let world: Backend;
    let chain: Chain;
    beforeAll(async () => {
      world = await startBackend(backend, ['mgmt']);
      await kubectl(world.kubeconfigPath, ['create', 'namespace', 'istio-system']);
      chain = genChain({ root: 400, signer: 200, intermediate: 60 });
      await applyFinished(world.kubeconfigPath, 'cluster-1', 'istio-system', chain);
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await world?.stop();
    });

    it('exports the intermediate and each certificate of the chain above it, the root last, and follows the watch', async () => {
      const h = await startHarness({ kubeconfig: world.kubeconfigPath, rotationCache: null });
      try {
        await expect.poll(async () => (await series(h.server.healthUrl)).length, { timeout: 15_000 }).toBe(3);
        const got = (await series(h.server.healthUrl)).map((s) => ({ ...s.labels, value: s.value }));
        expect(got).toEqual(
          expect.arrayContaining([
            {
              namespace: 'istio-system',
              name: 'cluster-1',
              role: 'intermediate',
              field: 'signedCertificate',
              subject: 'O=gloo-mesh, OU=cluster-1',
              serial: '16',
              value: chain.notAfter.intermediate,
            },
            {
              namespace: 'istio-system',
              name: 'cluster-1',
              role: 'intermediate',
              field: 'signingRootCa',
              subject: 'O=gloo-mesh, OU=signer',
              serial: '15',
              value: chain.notAfter.signer,
            },
            {
              namespace: 'istio-system',
              name: 'cluster-1',
              role: 'root',
              field: 'signingRootCa',
              subject: expect.stringContaining('CN=root-ca'),
              serial: expect.stringMatching(/^[0-9a-f]+$/),
              value: chain.notAfter.root,
            },
          ]),
        );

        const next = genChain({ root: 300, signer: 100, intermediate: 30 });
        await applyFinished(world.kubeconfigPath, 'cluster-2', 'istio-system', next);
        await expect
          .poll(
            async () =>
              (await series(h.server.healthUrl))
                .filter((s) => s.labels.name === 'cluster-2')
                .map((s) => s.value)
                .sort(),
            { timeout: 15_000 },
          )
          .toEqual([next.notAfter.intermediate, next.notAfter.signer, next.notAfter.root].sort());
        await kubectl(world.kubeconfigPath, [
          'delete',
          'certificaterequests.certificates.mesh.gloo.solo.io',
          '-n',
          'istio-system',
          'cluster-2',
        ]);
        await expect
          .poll(async () => [...new Set((await series(h.server.healthUrl)).map((s) => s.labels.name))], {
            timeout: 15_000,
          })
          .toEqual(['cluster-1']);
      } finally {
        await h.close();
      }
    });

    it('is off with certificateExpiry: false (--no-certificate-expiry-metrics)', async () => {
      const h = await startHarness({ kubeconfig: world.kubeconfigPath, rotationCache: null, certificateExpiry: false });
      try {
        await h.send('/validate', review('IssuedCertificate', 'CREATE', issuedCertificate()));
        // not even registered (the exporter registers its gauge before the server starts)
        expect(await (await fetch(`${h.server.healthUrl}/metrics`)).text()).not.toContain(CERTIFICATE_EXPIRY);
      } finally {
        await h.close();
      }
    });

    // RBAC exists on the real API server only: the sandbox gives every token cluster-admin.
    if (backend === 'kube') {
      it('without RBAC to list CertificateRequests: no metric, one warning, and reviews still served', async () => {
        await kubectl(world.kubeconfigPath, ['create', 'serviceaccount', 'nobody', '-n', 'default']);
        const token = (await kubectl(world.kubeconfigPath, ['create', 'token', 'nobody', '-n', 'default'])).trim();
        const kc = parse(await kubectl(world.kubeconfigPath, ['config', 'view', '--raw', '--minify'])) as {
          users: { user: Record<string, unknown> }[];
        };
        kc.users[0]!.user = { token };
        const restricted = join(tmp('mesh-cert-nobody-'), 'kubeconfig');
        writeFileSync(restricted, stringify(kc));

        const warnings: string[] = [];
        const exporter = await startExpiryExporter({
          kubeconfig: restricted,
          registry: new Registry(),
          warn: (m) => warnings.push(m),
          forbiddenRetryMs: 100,
        });
        try {
          await expect.poll(() => warnings.length, { timeout: 15_000 }).toBe(1);
          // retried ten times over, still the one warning
          await new Promise((r) => setTimeout(r, 1000));
          expect(warnings).toHaveLength(1);
          expect(warnings[0]).toContain('forbidden');
          expect(warnings[0]).toContain('list and watch certificaterequests.certificates.mesh.gloo.solo.io');
        } finally {
          await exporter.stop();
        }

        const lines: string[] = [];
        const stream = new PassThrough();
        stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
        const h = await startHarness({
          kubeconfig: restricted,
          rotationCache: null,
          logLevel: 'warn',
          logStream: stream,
        });
        try {
          await expect
            .poll(() => lines.filter((l) => l.includes('certificate-expiry-error')).length, { timeout: 15_000 })
            .toBe(1);
          expect((await h.send('/validate', review('IssuedCertificate', 'CREATE', issuedCertificate()))).allowed).toBe(
            true,
          );
          expect(await series(h.server.healthUrl)).toEqual([]);
          expect((await fetch(`${h.server.healthUrl}/readyz`)).status).toBe(200);
        } finally {
          await h.close();
        }
      });
    }
  });
}
