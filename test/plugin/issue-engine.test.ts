// The issuance engine against the sandbox: two managed clusters, every chain cross-checked with
// openssl, resume after an interruption at every write, retries from FAILED, injected 409/500,
// pod bounce, and no private key of a managed cluster in the management cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import type { K8sClusterApi } from '../../plugin/src/engine/k8s-cluster-api.js';
import { driveIssuance } from '../../plugin/src/engine/issuance/drive.js';
import type { CertificateRequest, IssuedCertificate, PodBounceDirective } from '../../plugin/src/engine/objects.js';
import { CERT_API_VERSION, PRIVATE_KEY_SECRET_TYPE } from '../../plugin/src/engine/resources.js';
import {
  createIntermediateSigner,
  createRoot,
  allText,
  issuedCertificate,
  opensslVerify,
  privateKeysIn,
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
      w = await startWorld(['c1', 'c2'], { backend });
      root = await createRoot(w.mgmt, ROOT, 'old root');
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await w?.stop();
    });

    function subjectOf(pem: string): string {
      return execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], {
        input: pem,
        encoding: 'utf8',
      }).trim();
    }

    describe('issue', () => {
      it('issues in two managed clusters; every chain passes openssl verify against root-cert.pem', async () => {
        const results = await Promise.all(
          w.managed.map(async (c) => {
            await c.createCustom(
              'IssuedCertificate',
              issuedCertificate('istiod-ca', 'istio-system', {
                signing: ROOT,
                hosts: [`spiffe://${c.name}.local/ns/istio-system/sa/istiod`, 'istiod.istio-system.svc'],
              }),
            );
            return driveIssuance(
              { cluster: c, namespace: 'istio-system', name: 'istiod-ca' },
              { mgmt: w.mgmt, deadline: deadline() },
            );
          }),
        );
        for (const [i, r] of results.entries()) {
          const c = w.managed[i]!;
          expect(r.outcome, r.error).toBe('finished');
          const ic = (await c.getCustom<IssuedCertificate>('IssuedCertificate', 'istio-system', 'istiod-ca'))!;
          expect(ic.status?.state).toBe('FINISHED');
          expect(ic.status?.observedGeneration).toBe(ic.metadata.generation);
          const s = await readIssuedSecret(c);
          const v = opensslVerify(s.caCert, s.chain, s.root);
          expect(v.ok, v.output).toBe(true);
          expect(opensslVerify(s.caCert, s.chain, root.certPem).ok).toBe(true);
          expect(s.root.trim()).toBe(root.certPem.trim());
          expect(subjectOf(s.caCert)).toBe('subject=OU=istiod-ca,O=mesh-cert-test');
          const sans = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName,basicConstraints,keyUsage'], {
            input: s.caCert,
            encoding: 'utf8',
          });
          expect(sans).toContain(`URI:spiffe://${c.name}.local/ns/istio-system/sa/istiod`);
          expect(sans).toContain('DNS:istiod.istio-system.svc');
          expect(sans).toMatch(/CA:TRUE/);
          expect(sans).toMatch(/Certificate Sign/);
          // the issued key is the one the cluster generated and kept
          const keySecret = (await c.getSecret('istio-system', 'istiod-ca'))!;
          expect(keySecret.type).toBe(PRIVATE_KEY_SECRET_TYPE);
          expect(unb64(keySecret.data?.['private-key']).trim()).toBe(s.key.trim());
          const bits = execFileSync('openssl', ['pkey', '-noout', '-text'], { input: s.key, encoding: 'utf8' });
          expect(bits).toMatch(/2048 bit/);
        }
      });

      it('runs with the admission webhook in the loop (an illegal state move is denied)', async () => {
        const c = w.api('c1');
        const ic = await c.createCustom<IssuedCertificate>(
          'IssuedCertificate',
          issuedCertificate('illegal', 'istio-system', {
            signing: ROOT,
            issuedSecret: { namespace: 'istio-system', name: 'illegal' },
          }),
        );
        const err = await c
          .replaceCustomStatus('IssuedCertificate', { ...ic, status: { state: 'FINISHED', observedGeneration: 1 } })
          .catch((e: Error) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/PENDING to FINISHED/);
      });

      it('never lets a private key of a managed cluster reach the management cluster', async () => {
        const managedKeys = new Set<string>();
        for (const c of w.managed) {
          for (const s of await c.listSecrets())
            for (const k of privateKeysIn(allText(s))) managedKeys.add(k.replace(/\s+/g, ''));
        }
        expect(managedKeys.size).toBeGreaterThanOrEqual(2);
        const mgmtObjects: unknown[] = [...(await w.mgmt.listSecrets())];
        for (const kind of [
          'IssuedCertificate',
          'CertificateRequest',
          'CertificateRotation',
          'PodBounceDirective',
        ] as const)
          mgmtObjects.push(...(await w.mgmt.listCustom(kind)));
        const mgmtKeys = privateKeysIn(allText(mgmtObjects)).map((k) => k.replace(/\s+/g, ''));
        expect(mgmtKeys.length).toBeGreaterThan(0); // the root's own key is there: the scan sees keys
        for (const k of mgmtKeys) expect(managedKeys.has(k)).toBe(false);
        // and the CertificateRequests in the managed clusters carry only the CSR and certificates
        for (const c of w.managed) {
          const crs = await c.listCustom<CertificateRequest>('CertificateRequest');
          expect(privateKeysIn(allText(crs))).toEqual([]);
        }
      });

      it('resumes after an interruption at every write, without a second key', async () => {
        const c = w.api('c1');
        const out = { namespace: 'istio-system', name: 'resume-cacerts' };
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('resume-ca', 'istio-system', { signing: ROOT, issuedSecret: out }),
        );
        const actions: string[] = [];
        let firstKey: string | undefined;
        for (let run = 0; run < 20; run++) {
          const r = await driveIssuance(
            { cluster: c, namespace: 'istio-system', name: 'resume-ca' },
            { mgmt: w.mgmt, deadline: deadline(), maxWrites: 1 },
          );
          actions.push(...r.actions);
          const key = unb64((await c.getSecret('istio-system', 'resume-ca'))?.data?.['private-key']);
          if (key) {
            firstKey ??= key;
            expect(key).toBe(firstKey);
          }
          if (r.outcome === 'finished') break;
          expect(r.outcome).toBe('stopped');
        }
        expect(actions).toEqual([
          'generate-key',
          'request',
          'mark-requested',
          'sign',
          'write-issued-secret',
          'mark-issued',
          'finish',
        ]);
        const s = await readIssuedSecret(c, out);
        expect(s.key.trim()).toBe(firstKey!.trim());
        expect(opensslVerify(s.caCert, s.chain, s.root).ok).toBe(true);
      });

      it('re-issues with a new key when the spec changes (new generation)', async () => {
        const c = w.api('c2');
        const before = await readIssuedSecret(c);
        await c.mergePatchCustom('IssuedCertificate', 'istio-system', 'istiod-ca', {
          spec: { hosts: ['spiffe://renamed.local/ns/istio-system/sa/istiod'] },
        });
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'istiod-ca' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome, r.error).toBe('finished');
        expect(r.actions[0]).toBe('restart');
        const after = await readIssuedSecret(c);
        expect(after.key).not.toBe(before.key);
        expect(
          execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], {
            input: after.caCert,
            encoding: 'utf8',
          }),
        ).toContain('spiffe://renamed.local');
        expect(opensslVerify(after.caCert, after.chain, after.root).ok).toBe(true);
      });

      it('signs with an intermediate signing Secret; the chain carries it up to the root', async () => {
        const c = w.api('c2');
        const signer = { namespace: 'gloo-mesh', name: 'signing-intermediate' };
        await createIntermediateSigner(w.mgmt, signer, root);
        const out = { namespace: 'istio-system', name: 'via-intermediate-cacerts' };
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('via-intermediate', 'istio-system', { signing: signer, issuedSecret: out }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'via-intermediate' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome, r.error).toBe('finished');
        const s = await readIssuedSecret(c, out);
        expect(s.chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
        expect(opensslVerify(s.caCert, s.chain, s.root).ok).toBe(true);
        // without the intermediate openssl must refuse: the test can fail
        expect(opensslVerify(s.caCert, s.caCert, s.root).ok).toBe(false);
      });

      it('refuses an issued Secret that is the private-key Secret itself (written whole, it would erase the key)', async () => {
        const c = w.api('c2');
        const same = { namespace: 'istio-system', name: 'self-named' };
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('self-named', 'istio-system', { signing: ROOT, issuedSecret: same }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'self-named' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome).toBe('failed');
        expect(r.error).toMatch(
          /^spec\.issuedCertificateSecret: Invalid value: "istio-system\/self-named": names the private-key Secret/,
        );
        expect(await c.getSecret('istio-system', 'self-named')).toBeUndefined();
      });

      it('fails with an error naming the missing signing Secret, making no key or request, then succeeds from FAILED once it exists', async () => {
        const c = w.api('c1');
        const missing = { namespace: 'gloo-mesh', name: 'late-root' };
        const out = { namespace: 'istio-system', name: 'late-cacerts' };
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('late-ca', 'istio-system', { signing: missing, issuedSecret: out }),
        );
        const r1 = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'late-ca' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r1.outcome).toBe('failed');
        expect(r1.error).toContain('gloo-mesh/late-root');
        const failed = (await c.getCustom<IssuedCertificate>('IssuedCertificate', 'istio-system', 'late-ca'))!;
        expect(failed.status?.state).toBe('FAILED');
        expect(failed.status?.error).toContain('gloo-mesh/late-root not found');
        // Nothing half-made: no key and no CertificateRequest for a certificate that cannot be signed.
        expect(await c.getSecret('istio-system', 'late-ca')).toBeUndefined();
        expect(await c.getCustom('CertificateRequest', 'istio-system', 'late-ca')).toBeUndefined();
        await createRoot(w.mgmt, missing, 'late root');
        const r2 = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'late-ca' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r2.outcome, r2.error).toBe('finished');
        expect(r2.actions.filter((a) => a === 'generate-key')).toHaveLength(1);
        const s = await readIssuedSecret(c, out);
        expect(s.key).toBe(unb64((await c.getSecret('istio-system', 'late-ca'))?.data?.['private-key']));
        expect(opensslVerify(s.caCert, s.chain, s.root).ok).toBe(true);
      });

      it('refuses a signing Secret in the wrong layout with an error naming the Secret key', async () => {
        const c = w.api('c1');
        const bad = { namespace: 'gloo-mesh', name: 'bad-layout' };
        await w.mgmt.createSecret({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...bad },
          type: 'Opaque',
          data: { 'ca-cert.pem': Buffer.from(root.certPem).toString('base64') },
        });
        await c.createCustom(
          'IssuedCertificate',
          issuedCertificate('bad-layout', 'istio-system', {
            signing: bad,
            issuedSecret: { namespace: 'istio-system', name: 'bad-layout-out' },
          }),
        );
        const r = await driveIssuance(
          { cluster: c, namespace: 'istio-system', name: 'bad-layout' },
          { mgmt: w.mgmt, deadline: deadline() },
        );
        expect(r.outcome).toBe('failed');
        expect(r.error).toMatch(/signing Secret gloo-mesh\/bad-layout: .*(ca-key\.pem|key\.pem)/);
        expect(await c.getSecret('istio-system', 'bad-layout-out')).toBeUndefined();
      });

      // fault injection: the sandbox only
      if (backend === 'sandbox')
        it('finishes through injected 409 and 500 answers', async () => {
          const c = w.sandbox!.clusters.get('c1')!;
          const api = w.api('c1');
          const out = { namespace: 'istio-system', name: 'faulty-cacerts' };
          await api.createCustom(
            'IssuedCertificate',
            issuedCertificate('faulty-ca', 'istio-system', { signing: ROOT, issuedSecret: out }),
          );
          c.setFaults([
            { status: 500, fraction: 0.25 },
            { status: 409, fraction: 0.3, match: { method: 'PUT' } },
          ]);
          w.sandbox!.clusters.get('mgmt')!.setFaults([{ status: 500, fraction: 0.3 }]);
          try {
            const r = await driveIssuance(
              { cluster: api, namespace: 'istio-system', name: 'faulty-ca' },
              { mgmt: w.mgmt, deadline: deadline() },
            );
            expect(r.outcome, r.error).toBe('finished');
            expect(r.actions).toContain('retry');
            // a write answered 500 may be made again, but no key is generated once a CSR was requested
            expect(r.actions.lastIndexOf('generate-key')).toBeLessThan(r.actions.indexOf('request'));
          } finally {
            c.clearFaults();
            w.sandbox!.clusters.get('mgmt')!.clearFaults();
          }
          const s = await readIssuedSecret(api, out);
          expect(opensslVerify(s.caCert, s.chain, s.root).ok).toBe(true);
          expect(unb64((await api.getSecret('istio-system', 'faulty-ca'))?.data?.['private-key']).trim()).toBe(
            s.key.trim(),
          );
        });
    });

    describe('pod bounce', () => {
      it('deletes the selected pods in order and waits for ready replacements before FINISHED', async () => {
        const api = w.api('c2');
        const cn = await import('@kubernetes/client-node');
        const core = (api as K8sClusterApi).k8s.kubeConfig.makeApiClient(cn.CoreV1Api);
        let serial = 0;
        const createReadyPod = async (app: string) => {
          const name = `${app}-${++serial}`;
          await core.createNamespacedPod({
            namespace: 'istio-system',
            body: {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name, namespace: 'istio-system', labels: { app } },
              spec: { containers: [{ name: 'c', image: 'istio/proxyv2' }] },
            },
          });
          await core.patchNamespacedPodStatus(
            {
              namespace: 'istio-system',
              name,
              body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
            },
            cn.setHeaderOptions('Content-Type', cn.PatchStrategy.MergePatch),
          );
          return name;
        };
        const first = [await createReadyPod('istiod'), await createReadyPod('istiod')];
        const gw = await createReadyPod('gateway');
        await api.createCustom<PodBounceDirective>('PodBounceDirective', {
          apiVersion: CERT_API_VERSION,
          kind: 'PodBounceDirective',
          metadata: { name: 'bounce', namespace: 'istio-system' },
          spec: {
            podsToBounce: [
              { namespace: 'istio-system', labels: { app: 'istiod' }, waitForReplicas: 1 },
              { namespace: 'istio-system', labels: { app: 'gateway' }, waitForReplicas: 0 },
            ],
          },
        });
        // a stand-in for the ReplicaSet controller: recreate one istiod pod once both are gone
        let replaced = '';
        let busy = false;
        const controller = setInterval(async () => {
          if (busy || replaced) return;
          busy = true;
          try {
            if ((await api.listPods('istio-system', { app: 'istiod' })).length === 0)
              replaced = await createReadyPod('istiod');
          } finally {
            busy = false;
          }
        }, 100);
        try {
          await api.createCustom(
            'IssuedCertificate',
            issuedCertificate('bounced-ca', 'istio-system', {
              signing: ROOT,
              issuedSecret: { namespace: 'istio-system', name: 'bounced-cacerts' },
              podBounce: { namespace: 'istio-system', name: 'bounce' },
            }),
          );
          const r = await driveIssuance(
            { cluster: api, namespace: 'istio-system', name: 'bounced-ca' },
            { mgmt: w.mgmt, deadline: deadline() },
          );
          expect(r.outcome, r.error).toBe('finished');
        } finally {
          clearInterval(controller);
        }
        expect(replaced).not.toBe('');
        const pbd = (await api.getCustom<PodBounceDirective>('PodBounceDirective', 'istio-system', 'bounce'))!;
        expect(pbd.status?.podsBounced).toEqual([{ bouncedPods: [...first].sort() }, { bouncedPods: [gw] }]);
        const left = (await api.listPods('istio-system', {})).map((p) => p.metadata.name);
        expect(left).toContain(replaced);
        for (const p of [...first, gw]) expect(left).not.toContain(p);
      });
    });
  });
}
