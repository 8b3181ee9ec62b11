// What `issue` writes and what it leaves alone: a CA it did not issue is never replaced without
// force, and then only after a copy; the cacerts Secret is written whole (Istio 1.15+ would load a
// stale tls.crt first); signing Secrets in cert-manager's layout sign; the request status carries
// only Gloo Mesh's fields; objects Gloo Mesh owns are not driven.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveIssuance } from '../../plugin/src/engine/issuance/drive.js';
import type { CertificateRequest, IssuedCertificate } from '../../plugin/src/engine/objects.js';
import { certificatesIn, createCsr, generateRsaKey, parseCertificate, signIntermediate } from '#schemas/x509/index.js';
import {
  b64,
  createIntermediateSigner,
  createRoot,
  issuedCertificate,
  opensslVerify,
  readIssuedSecret,
  startWorld,
  unb64,
  type Root,
  type World,
} from './issue-rotate.helpers.js';
import { BACKENDS, START_TIMEOUT_MS } from '../backend/index.js';

let w: World;
let root: Root;
const ROOT = { namespace: 'gloo-mesh', name: 'root-ca' };
const deadline = () => Date.now() + 45_000;

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      w = await startWorld(['c1'], { backend });
      root = await createRoot(w.mgmt, ROOT, 'issued-secret root');
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await w?.stop();
    });

    /** A plugged-in CA installed by hand, as Istio's docs tell operators to: no mesh-cert label. */
    async function handInstalledCa(name: string, type = 'Opaque'): Promise<Record<string, string>> {
      const { privateKeyPem } = await generateRsaKey(2048);
      const own = await createRoot(w.api('c1'), { namespace: 'default', name: `${name}-own-root` }, `${name} own root`);
      const cert = signIntermediate({
        csrPem: createCsr({ privateKeyPem, subject: { O: 'hand', CN: name }, hosts: [] }),
        issuerCertPem: own.certPem,
        issuerKeyPem: own.keyPem,
        hosts: [],
        ttlDays: 30,
      });
      const data: Record<string, string> =
        type === 'kubernetes.io/tls'
          ? { 'tls.crt': b64(cert), 'tls.key': b64(privateKeyPem), 'ca.crt': b64(own.certPem) }
          : {
              'ca-cert.pem': b64(cert),
              'ca-key.pem': b64(privateKeyPem),
              'root-cert.pem': b64(own.certPem),
              'cert-chain.pem': b64(cert + own.certPem),
            };
      await w
        .api('c1')
        .createSecret({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'istio-system' }, type, data });
      return data;
    }

    describe('the issued Secret', () => {
      it('never replaces a CA mesh-cert did not issue; with force, keeps a copy first and writes the four Istio keys only', async () => {
        const c = w.api('c1');
        const data = await handInstalledCa('plugged-in');
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('plugged', 'istio-system', {
            signing: ROOT,
            issuedSecret: { namespace: 'istio-system', name: 'plugged-in' },
          }),
        );
        const refused = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'plugged' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(refused.outcome).toBe('failed');
        expect(refused.error).toMatch(
          /Secret istio-system\/plugged-in holds a CA that mesh-cert did not issue .*pass --force/,
        );
        expect((await c.getSecret('istio-system', 'plugged-in'))?.data).toEqual(data);

        const forced = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'plugged' },
          { mgmt: w.mgmt, deadline: deadline(), force: true },
        );
        expect(forced.outcome, forced.error).toBe('finished');
        const copies = (await c.listSecrets('istio-system')).filter(
          (s) => s.metadata.labels?.['mesh-cert.solo.io/backup-of'] === 'plugged-in',
        );
        expect(copies).toHaveLength(1);
        expect(copies[0]!.data).toEqual(data);
        const now = (await c.getSecret('istio-system', 'plugged-in'))!;
        expect(Object.keys(now.data ?? {}).sort()).toEqual([
          'ca-cert.pem',
          'ca-key.pem',
          'cert-chain.pem',
          'root-cert.pem',
        ]);
        const s = await readIssuedSecret(c, { namespace: 'istio-system', name: 'plugged-in' });
        expect(opensslVerify(s.caCert, s.chain, root.certPem).ok).toBe(true);
      });

      it('replaces a hand-made kubernetes.io/tls Secret (its type cannot change in place) only with force, keeping a copy', async () => {
        const c = w.api('c1');
        const data = await handInstalledCa('tls-layout', 'kubernetes.io/tls');
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('tlsl', 'istio-system', {
            signing: ROOT,
            issuedSecret: { namespace: 'istio-system', name: 'tls-layout' },
          }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'tlsl' },
          { mgmt: w.mgmt, deadline: deadline(), force: true },
        );
        expect(r.outcome, r.error).toBe('finished');
        const copy = (await c.listSecrets('istio-system')).find(
          (s) => s.metadata.labels?.['mesh-cert.solo.io/backup-of'] === 'tls-layout',
        );
        expect(copy?.type).toBe('kubernetes.io/tls');
        expect(copy?.data).toEqual(data);
        const now = (await c.getSecret('istio-system', 'tls-layout'))!;
        expect(now.type).toBe('Opaque');
        expect(Object.keys(now.data ?? {})).not.toContain('tls.crt');
      });

      it('drops a stale tls.crt/ca.crt from a Secret it issued before (Istio would load those first)', async () => {
        const c = w.api('c1');
        const out = { namespace: 'istio-system', name: 'stale-cacerts' };
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('stale', 'istio-system', { signing: ROOT, issuedSecret: out }),
        );
        expect(
          (
            await driveIssuance(
              { cluster: c, namespace: 'istio-system', name: 'stale' },
              { mgmt: w.mgmt, deadline: deadline() },
            )
          ).outcome,
        ).toBe('finished');
        const before = (await c.getSecret(out.namespace, out.name))!;
        await c.replaceSecret({
          ...before,
          data: { ...before.data, 'tls.crt': b64(root.certPem), 'ca.crt': b64(root.certPem) },
        });
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'stale' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome, r.error).toBe('finished');
        expect(Object.keys((await c.getSecret(out.namespace, out.name))!.data ?? {}).sort()).toEqual([
          'ca-cert.pem',
          'ca-key.pem',
          'cert-chain.pem',
          'root-cert.pem',
        ]);
      });

      it('writes only Gloo Mesh fields in the request status: the signer chain rides in signingRootCa (signer first, root last)', async () => {
        const c = w.api('c1');
        const signer = { namespace: 'gloo-mesh', name: 'chain-signer' };
        await createIntermediateSigner(w.mgmt, signer, root);
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('chained', 'istio-system', {
            signing: signer,
            issuedSecret: { namespace: 'istio-system', name: 'chained-cacerts' },
          }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'chained' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome, r.error).toBe('finished');
        const cr = (await c.getCustom<CertificateRequest>('CertificateRequest', 'istio-system', 'chained'))!;
        expect(Object.keys(cr.status ?? {}).sort()).toEqual([
          'observedGeneration',
          'signedCertificate',
          'signingRootCa',
          'state',
        ]);
        const bundle = certificatesIn(unb64(cr.status?.signingRootCa)).map((p) => parseCertificate(p).subjectText);
        expect(bundle).toEqual([
          expect.stringContaining('signing intermediate'),
          expect.stringContaining('issued-secret root'),
        ]);
        const s = await readIssuedSecret(c, { namespace: 'istio-system', name: 'chained-cacerts' });
        expect(certificatesIn(s.root)).toHaveLength(1);
        expect(certificatesIn(s.chain)).toHaveLength(3);
        expect(opensslVerify(s.caCert, s.chain, s.root).ok).toBe(true);
      });

      it('signs from a cert-manager CA Secret (kubernetes.io/tls: tls.crt, tls.key, ca.crt)', async () => {
        const c = w.api('c1');
        const ref = { namespace: 'gloo-mesh', name: 'cm-ca' };
        await w.mgmt.createSecret({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...ref },
          type: 'kubernetes.io/tls',
          data: { 'tls.crt': b64(root.certPem), 'tls.key': b64(root.keyPem), 'ca.crt': b64(root.certPem) },
        });
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('from-cm', 'istio-system', {
            signing: ref,
            issuedSecret: { namespace: 'istio-system', name: 'from-cm-cacerts' },
          }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'from-cm' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome, r.error).toBe('finished');
        const s = await readIssuedSecret(c, { namespace: 'istio-system', name: 'from-cm-cacerts' });
        expect(opensslVerify(s.caCert, s.chain, root.certPem).ok).toBe(true);
      });

      it('does not drive an IssuedCertificate that Gloo Mesh owns, and writes nothing for it', async () => {
        const c = w.api('c1');
        const ic: IssuedCertificate = issuedCertificate('gm-owned', 'istio-system', {
          signing: ROOT,
          issuedSecret: { namespace: 'istio-system', name: 'gm-cacerts' },
        });
        ic.metadata.labels = { 'owner.networking.mesh.gloo.solo.io': 'gloo-mesh' };
        await c.createCustom('IssuedCertificate', ic);
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'gm-owned' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome).toBe('failed');
        expect(r.error).toMatch(/owned by Gloo Mesh .*--observe/);
        expect(r.writes).toBe(0);
        expect(await c.getSecret('istio-system', 'gm-owned')).toBeUndefined();
        expect(await c.getSecret('istio-system', 'gm-cacerts')).toBeUndefined();
      });
    });
  });
}
