// Valid objects of every kind, in the shapes Gloo Mesh and mesh-cert write, for the tests to
// start from and break one field at a time.
import { b64, type Pki } from './fixtures.js';

export const GLOO = 'certificates.mesh.gloo.solo.io/v1';
export const ZEPHYR = 'security.zephyr.solo.io/v1alpha1';
const meta = (name: string, generation = 1) => ({
  name,
  namespace: 'istio-system',
  generation,
  uid: `uid-${name}`,
  labels: { 'agent.certificates.mesh.gloo.solo.io': 'gloo-mesh' },
});

export type Obj = Record<string, any>;

export function validObjects(pki: Pki): Record<string, Obj[]> {
  const ref = { name: 'cacerts', namespace: 'istio-system' };
  return {
    IssuedCertificate: [
      // As Gloo Mesh 1.1 writes it: deprecated and new fields both set to the same value.
      {
        apiVersion: GLOO,
        kind: 'IssuedCertificate',
        metadata: meta('istiod-cluster1', 3),
        spec: {
          hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod-service-account'],
          org: 'gloo-mesh',
          signingCertificateSecret: { name: 'virtual-mesh', namespace: 'gloo-mesh' },
          issuedCertificateSecret: ref,
          podBounceDirective: { name: 'istiod-cluster1', namespace: 'gloo-mesh' },
          certOptions: {
            ttlDays: 365,
            rsaKeySizeBytes: 4096,
            orgName: 'gloo-mesh',
            secretRotationGracePeriodRatio: 0.1,
          },
          glooMeshCa: { signingCertificateSecret: { name: 'virtual-mesh', namespace: 'gloo-mesh' } },
          rotationState: 'ADDING_NEW_ROOT',
        },
        status: {
          observedGeneration: 3,
          state: 'FINISHED',
          appliedGlooMeshCa: { signingCertificateSecret: { name: 'virtual-mesh', namespace: 'gloo-mesh' } },
          observedRotationState: 'ADDING_NEW_ROOT',
        },
      },
      // Zero values omitted: no state (PENDING), no rotationState (NOT_ROTATING), empty spec fields.
      {
        apiVersion: GLOO,
        kind: 'IssuedCertificate',
        metadata: meta('fresh'),
        spec: { hosts: ['istiod.istio-system.svc', '10.0.0.1'], issuedCertificateSecret: ref },
        status: { observedGeneration: 1 },
      },
      { apiVersion: GLOO, kind: 'IssuedCertificate', metadata: meta('bare') },
      // Agent CA: Vault with Kubernetes auth.
      {
        apiVersion: GLOO,
        kind: 'IssuedCertificate',
        metadata: meta('vault'),
        spec: {
          hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod'],
          agentCa: {
            vault: {
              caPath: 'pki/root/sign-intermediate',
              csrPath: 'pki_int/intermediate/generate/exported',
              server: 'https://vault.vault.svc:8200',
              caBundle: b64(pki.rootCert + pki.otherRootCert),
              namespace: 'admin',
              kubernetesAuth: {
                mountPath: '/v1/auth/kubernetes',
                role: 'gen-int-ca-istio',
                serviceAccountRef: { name: 'istiod', namespace: 'istio-system' },
              },
            },
          },
        },
        status: {
          observedGeneration: 1,
          state: 'FAILED',
          error: 'vault: permission denied',
          appliedAgentCa: { vault: { tokenSecretRef: { name: 'vault-token' } } },
        },
      },
    ],
    CertificateRequest: [
      {
        apiVersion: GLOO,
        kind: 'CertificateRequest',
        metadata: meta('istiod-cluster1', 2),
        spec: { certificateSigningRequest: b64(pki.csr) },
        status: {
          observedGeneration: 2,
          state: 'FINISHED',
          signedCertificate: b64(pki.signedByRoot),
          signingRootCa: b64(pki.rootCert),
          certChain: b64(pki.signedByRoot + pki.rootCert),
        },
      },
      {
        apiVersion: GLOO,
        kind: 'CertificateRequest',
        metadata: meta('new'),
        spec: { certificateSigningRequest: b64(pki.csr) },
      },
      {
        apiVersion: GLOO,
        kind: 'CertificateRequest',
        metadata: meta('zero'),
        spec: { certificateSigningRequest: b64(pki.csr) },
        status: { observedGeneration: 1 },
      },
    ],
    CertificateRotation: [
      {
        apiVersion: GLOO,
        kind: 'CertificateRotation',
        metadata: { ...meta('rotate-1', 1), namespace: 'gloo-mesh' },
        spec: {
          virtualMesh: { name: 'virtual-mesh', namespace: 'gloo-mesh' },
          newRootCaSecret: { name: 'new-root', namespace: 'gloo-mesh' },
        },
        status: {
          observedGeneration: 1,
          state: 'VERIFYING',
          rotationState: 'VERIFYING',
          conditions: [
            {
              timestamp: '2026-11-23T13:30:00Z',
              state: 'ADDING_NEW_ROOT',
              message: 'both roots trusted on 2 clusters',
            },
            {
              timestamp: '2026-11-23T13:31:00.123456789+01:00',
              state: 'PROPAGATING_NEW_INTERMEDIATE',
              message: 'ok',
              errors: [],
            },
          ],
        },
      },
      {
        apiVersion: GLOO,
        kind: 'CertificateRotation',
        metadata: meta('pending'),
        spec: { virtualMesh: { name: 'vm' }, newRootCaSecret: { name: 'root2' } },
      },
    ],
    PodBounceDirective: [
      {
        apiVersion: GLOO,
        kind: 'PodBounceDirective',
        metadata: meta('istiod-cluster1'),
        spec: {
          podsToBounce: [
            {
              namespace: 'istio-system',
              labels: { app: 'istiod', 'app.kubernetes.io/name': 'istiod' },
              waitForReplicas: 1,
              rootCertSync: {
                secretRef: { name: 'cacerts', namespace: 'istio-system' },
                secretKey: 'root-cert.pem',
                configMapRef: { name: 'istio-ca-root-cert', namespace: 'istio-system' },
                configMapKey: 'root-cert.pem',
              },
            },
            { namespace: 'istio-system', labels: { app: 'istio-ingressgateway' } },
          ],
        },
        status: { podsBounced: [{ bouncedPods: ['istiod-6f7c9-abcde'] }, {}] },
      },
      { apiVersion: GLOO, kind: 'PodBounceDirective', metadata: meta('empty'), spec: {} },
    ],
    VirtualMeshCertificateSigningRequest: [
      {
        apiVersion: ZEPHYR,
        kind: 'VirtualMeshCertificateSigningRequest',
        metadata: meta('istio-vm-csr'),
        spec: {
          csrData: b64(pki.csr),
          certConfig: {
            hosts: ['spiffe://cluster.local/ns/istio-system/sa/istiod'],
            org: 'service-mesh-hub',
            meshType: 'ISTIO',
          },
          virtualMeshRef: { name: 'virtual-mesh', namespace: 'service-mesh-hub', cluster: 'management-plane' },
        },
        status: {
          response: { caCertificate: b64(pki.signedByRoot), rootCertificate: b64(pki.rootCert) },
          thirdPartyApproval: {
            lastUpdatedTime: '2026-11-23T13:30:00Z',
            message: 'approved by ops',
            approvalStatus: 'APPROVED',
          },
          computedStatus: { state: 'ACCEPTED', message: '' },
        },
      },
      // Zero values omitted: meshType ISTIO, approval PENDING, computed state UNKNOWN.
      {
        apiVersion: ZEPHYR,
        kind: 'VirtualMeshCertificateSigningRequest',
        metadata: meta('zero'),
        spec: { csrData: b64(pki.csr), certConfig: { hosts: ['a.b'] } },
        status: { thirdPartyApproval: {}, computedStatus: {} },
      },
    ],
  };
}
