// approve / deny of VirtualMeshCertificateSigningRequests, and `inspect certificaterequest`, on
// each backend (the sandbox, then the real control plane).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import {
  apply,
  b64,
  buildPlugin,
  kubectl,
  kubectlMeshCert,
  opensslFingerprint,
  patchStatus,
  privateKeyBlocks,
  tempDir,
} from './helpers.js';
import { GLOO, makeIntermediate, makeRoot, namespace, rootSecret, ZEPHYR, type Ca } from './fixtures.js';

let world: Backend;
let env: Record<string, string>;
let root: Ca;
let other: Ca;
let dir: string;
let csrPem: string;

const vmcsr = (name: string, csr: string) => ({
  apiVersion: ZEPHYR,
  kind: 'VirtualMeshCertificateSigningRequest',
  metadata: { name, namespace: 'istio-system' },
  spec: {
    csrData: b64(csr),
    certConfig: { hosts: ['spiffe://east.local'], org: 'mesh-cert-test', meshType: 'ISTIO' },
    virtualMeshRef: { name: 'vm', namespace: 'gloo-mesh', cluster: 'mgmt' },
  },
});

async function getJson(
  context: string,
  resource: string,
  ns: string,
  name: string,
): Promise<{ metadata: { generation: number }; status?: Record<string, any> }> {
  return JSON.parse(await kubectl(world.kubeconfigPath, context, ['get', resource, name, '-n', ns, '-o', 'json']));
}

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      dir = tempDir();
      world = await startBackend(backend, ['mgmt', 'east']);
      env = { KUBECONFIG: world.kubeconfigPath };
      [root, other] = await Promise.all([makeRoot('approve root'), makeRoot('other root')]);
      const inter = await makeIntermediate(root, 'east', 100, ['spiffe://east.local']);
      csrPem = inter.csrPem;
      await apply(
        world.kubeconfigPath,
        'mgmt',
        namespace('gloo-mesh'),
        rootSecret('gloo-mesh', 'root-ca', root),
        rootSecret('gloo-mesh', 'other-root', other),
      );
      await apply(
        world.kubeconfigPath,
        'east',
        namespace('istio-system'),
        vmcsr('to-approve', csrPem),
        vmcsr('to-deny', csrPem),
        {
          apiVersion: GLOO,
          kind: 'IssuedCertificate',
          metadata: { name: 'east-ca', namespace: 'istio-system' },
          spec: {
            hosts: ['spiffe://east.local'],
            glooMeshCa: { signingCertificateSecret: { name: 'root-ca', namespace: 'gloo-mesh' } },
            issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
          },
        },
        {
          apiVersion: GLOO,
          kind: 'CertificateRequest',
          metadata: { name: 'east-ca', namespace: 'istio-system' },
          spec: { certificateSigningRequest: b64(csrPem) },
        },
        {
          apiVersion: GLOO,
          kind: 'CertificateRequest',
          metadata: { name: 'pending', namespace: 'istio-system' },
          spec: { certificateSigningRequest: b64(csrPem) },
        },
      );
      const st = {
        observedGeneration: 1,
        state: 'FINISHED',
        signedCertificate: b64(inter.certPem),
        signingRootCa: b64(root.certPem),
      };
      await patchStatus(
        world.kubeconfigPath,
        'east',
        'certificaterequests.certificates.mesh.gloo.solo.io',
        'istio-system',
        'east-ca',
        st,
      );
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await world?.stop();
    });

    describe('approve and deny', () => {
      it('approves through the status subresource, once', async () => {
        const r = await kubectlMeshCert(
          [
            'approve',
            'to-approve',
            '-n',
            'istio-system',
            '--context',
            'east',
            '--reason',
            'Reviewed',
            '--message',
            'ticket SEC-1',
          ],
          { env },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout.trim()).toBe(
          'virtualmeshcertificatesigningrequest.security.zephyr.solo.io/to-approve approved in namespace istio-system on cluster east',
        );
        const o = await getJson(
          'east',
          'virtualmeshcertificatesigningrequests.security.zephyr.solo.io',
          'istio-system',
          'to-approve',
        );
        expect(o.status?.thirdPartyApproval).toMatchObject({
          approvalStatus: 'APPROVED',
          message: 'Reviewed: ticket SEC-1',
        });
        expect(Date.parse(o.status?.thirdPartyApproval.lastUpdatedTime)).toBeGreaterThan(Date.now() - 120_000);
        expect(o.metadata.generation).toBe(1); // a status write, not a spec write
        const again = await kubectlMeshCert(['deny', 'istio-system/to-approve', '--context', 'east'], { env });
        expect(again.code).toBe(1);
        expect(again.stderr.trim()).toMatch(
          /^error: VirtualMeshCertificateSigningRequest istio-system\/to-approve was already APPROVED at \S+; a decision is final for its csrData$/,
        );
      });

      it('denies with -o json, and refuses a second decision', async () => {
        const r = await kubectlMeshCert(
          ['deny', 'istio-system/to-deny', '--context', 'east', '--message', 'unknown hosts', '-o', 'json'],
          { env },
        );
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({
          cluster: 'east',
          namespace: 'istio-system',
          name: 'to-deny',
          approvalStatus: 'DENIED',
          message: 'unknown hosts',
        });
        const again = await kubectlMeshCert(['approve', 'istio-system/to-deny', '--context', 'east'], { env });
        expect(again.code).toBe(1);
        expect(again.stderr).toContain('was already DENIED');
        expect(
          (
            await getJson(
              'east',
              'virtualmeshcertificatesigningrequests.security.zephyr.solo.io',
              'istio-system',
              'to-deny',
            )
          ).status?.thirdPartyApproval.approvalStatus,
        ).toBe('DENIED');
      });

      it('names a missing request and its cluster', async () => {
        const r = await kubectlMeshCert(['approve', 'nope', '-n', 'istio-system', '--context', 'east'], { env });
        expect(r.code).toBe(1);
        expect(r.stderr.trim()).toBe(
          'error: VirtualMeshCertificateSigningRequest istio-system/nope not found on cluster "east"',
        );
      });
    });

    describe('inspect certificaterequest', () => {
      it('verifies the CSR, the chain to signingRootCa, the public key and the current root', async () => {
        const r = await kubectlMeshCert(
          [
            'inspect',
            'certificaterequest',
            'istio-system/east-ca',
            '--context',
            'east',
            '--mgmt-context',
            'mgmt',
            '-o',
            'json',
          ],
          { env },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(privateKeyBlocks(r.stdout)).toEqual([]);
        const rep = JSON.parse(r.stdout);
        expect(rep).toMatchObject({
          cluster: 'east',
          state: 'FINISHED',
          csr: { hosts: ['spiffe://east.local'], keyType: 'RSA', keyBits: 2048 },
        });
        expect(rep.csr.subject).toContain('OU=east');
        const signed = rep.certificates.find((c: { source: string }) => c.source === 'status.signedCertificate');
        expect(signed).toMatchObject({ isCA: true, sans: ['spiffe://east.local'] });
        expect(
          rep.certificates.find((c: { source: string }) => c.source === 'status.signingRootCa').fingerprintSha256,
        ).toBe(opensslFingerprint(dir, root.certPem));
        const checks = Object.fromEntries(rep.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]));
        expect(checks).toMatchObject({
          'CSR signature': true,
          'chain to signingRootCa': true,
          'public key': true,
          'signed by the current root': true,
        });
      });

      it('says when the certificate was not signed by the current root', async () => {
        const r = await kubectlMeshCert(
          [
            'inspect',
            'certificaterequest',
            'east-ca',
            '-n',
            'istio-system',
            '--context',
            'east',
            '--root-secret',
            'gloo-mesh/other-root',
          ],
          { env },
        );
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(
          '✗ signed by the current root: does not chain to the root of Secret gloo-mesh/other-root on cluster mgmt',
        );
        expect(r.stdout).toContain('✓ chain to signingRootCa');
      });

      it('reports a request not signed yet, and a missing one', async () => {
        const p = await kubectlMeshCert(
          ['inspect', 'certificaterequest', 'istio-system/pending', '--context', 'east'],
          { env },
        );
        expect(p.code).toBe(0);
        expect(p.stdout).toContain('? signed certificate: none yet (state PENDING)');
        const m = await kubectlMeshCert(['inspect', 'certificaterequest', 'istio-system/absent', '--context', 'east'], {
          env,
        });
        expect(m.code).toBe(1);
        expect(m.stderr.trim()).toBe('error: CertificateRequest istio-system/absent not found on cluster "east"');
      });
    });

    describe('completion against a live cluster', () => {
      const complete = async (...words: string[]) => {
        const r = await kubectlMeshCert(['__complete', ...words], { env });
        expect(r.code).toBe(0);
        const lines = r.stdout.trimEnd().split('\n');
        return { values: lines.slice(0, -1).map((l) => l.split('\t')[0]), directive: lines[lines.length - 1] };
      };

      it('completes namespaces and VirtualMeshCertificateSigningRequest names', async () => {
        expect((await complete('status', '--context', 'east', '-n', 'ist')).values).toEqual(['istio-system']);
        expect((await complete('status', '-n', 'glo')).values).toEqual(['gloo-mesh']);
        expect((await complete('approve', '--context', 'east', '-n', 'istio-system', 'to-')).values.sort()).toEqual([
          'to-approve',
          'to-deny',
        ]);
      });

      it('completes NAMESPACE/NAME of Secrets and CertificateRequests', async () => {
        expect((await complete('inspect', 'secret', 'gloo-mesh/')).values.sort()).toEqual([
          'gloo-mesh/other-root',
          'gloo-mesh/root-ca',
        ]);
        expect((await complete('inspect', 'certificaterequest', '--context', 'east', '')).values.sort()).toEqual([
          'istio-system/east-ca',
          'istio-system/pending',
        ]);
        const ns = await complete('root', 'create', 'glo');
        expect(ns).toEqual({ values: ['gloo-mesh/'], directive: ':6' });
      });
    });
  });
}
