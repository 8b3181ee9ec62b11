// FINISHED CertificateRequest status reviews for the webhook benchmark, each answering with a
// certificate of its own: in a mesh every request is answered once, so the webhook meets each
// signed certificate for the first time. More of them than the parsed-certificate cache holds
// (schemas/x509/parse.ts keeps 32), so cycling through them never finds the leaf parsed already.
// The root is shared, as it is across a VirtualMesh.
import { createCsr, createRootCa, generateRsaKey, signIntermediate, textBase64 as b64 } from '#schemas/x509/index.js';
import { webhookHelpersFixture } from './fixtures.js';

export async function finishedCertificateRequestBodies(count: number): Promise<string[]> {
  const { meta, review } = await webhookHelpersFixture();
  const [rootKey, agentKey] = await Promise.all([generateRsaKey(2048), generateRsaKey(2048)]);
  const root = createRootCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { O: 'gloo-mesh', CN: 'relay-root-ca' },
    ttlDays: 365,
  });
  const hosts = ['spiffe://cluster-1/ns/istio-system/sa/istiod-service-account', 'istiod.istio-system.svc'];
  const csr = createCsr({ privateKeyPem: agentKey.privateKeyPem, subject: { O: 'gloo-mesh', OU: 'cluster-1' }, hosts });
  const base = {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRequest',
    metadata: meta('cluster-1', 1, { labels: { 'cluster.multicluster.solo.io': 'cluster-1' } }),
    spec: { certificateSigningRequest: b64(csr) },
  };
  const old = { ...base, status: { state: 'PENDING', observedGeneration: 1 } };
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const signed = signIntermediate({
      csrPem: csr,
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts,
      ttlDays: 30,
    });
    const status = {
      state: 'FINISHED',
      observedGeneration: 1,
      signedCertificate: b64(signed),
      signingRootCa: b64(root),
      certChain: b64(signed + root),
    };
    bodies.push(
      JSON.stringify(review('CertificateRequest', 'UPDATE', { ...base, status }, old, { subResource: 'status' })),
    );
  }
  return bodies;
}
