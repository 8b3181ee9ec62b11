// Valid objects of every kind, as a Gloo Mesh installation holds them.
import type { KindName } from '#schemas/src/index.js';
import { meta, type Pki } from './helpers.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export function issuedCertificate(
  name = 'cluster-1',
  spec: Record<string, unknown> = {},
  status?: Record<string, unknown>,
  generation = 1,
): Record<string, unknown> {
  const o: Record<string, unknown> = {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'IssuedCertificate',
    metadata: meta(name, generation, {
      labels: { 'cluster.multicluster.solo.io': 'cluster-1' },
      annotations: {
        'parents.networking.mesh.gloo.solo.io':
          '{"networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh":[{"name":"virtual-mesh","namespace":"gloo-mesh"}]}',
      },
    }),
    spec: {
      hosts: ['spiffe://cluster-1/ns/istio-system/sa/istiod-service-account'],
      issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
      podBounceDirective: { name: 'cluster-1', namespace: 'istio-system' },
      certOptions: { ttlDays: 365, rsaKeySizeBytes: 2048, secretRotationGracePeriodRatio: 0.1 },
      ...spec,
    },
  };
  if (status) o.status = status;
  return o;
}

export function certificateRequest(
  pki: Pki,
  name = 'cluster-1',
  status?: Record<string, unknown>,
  generation = 1,
): Record<string, unknown> {
  const o: Record<string, unknown> = {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRequest',
    metadata: meta(name, generation),
    spec: { certificateSigningRequest: b64(pki.csrPem) },
  };
  if (status) o.status = status;
  return o;
}

export function finishedStatus(pki: Pki, over: Record<string, unknown> = {}, generation = 1): Record<string, unknown> {
  return {
    observedGeneration: generation,
    state: 'FINISHED',
    signedCertificate: b64(pki.signedPem),
    signingRootCa: b64(pki.rootPem),
    ...over,
  };
}

export function certificateRotation(
  name = 'rotate-1',
  vm = 'virtual-mesh',
  status?: Record<string, unknown>,
): Record<string, unknown> {
  const o: Record<string, unknown> = {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRotation',
    metadata: { ...meta(name), namespace: 'gloo-mesh', uid: `uid-${name}` },
    spec: {
      virtualMesh: { name: vm, namespace: 'gloo-mesh' },
      newRootCaSecret: { name: 'new-root-ca', namespace: 'gloo-mesh' },
    },
  };
  if (status) o.status = status;
  return o;
}

export function podBounceDirective(name = 'cluster-1'): Record<string, unknown> {
  return {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'PodBounceDirective',
    metadata: meta(name),
    spec: {
      podsToBounce: [
        {
          namespace: 'istio-system',
          labels: { app: 'istiod' },
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
  };
}

export function vmcsr(pki: Pki, name = 'istio-cluster-1', status?: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {
    apiVersion: 'security.zephyr.solo.io/v1alpha1',
    kind: 'VirtualMeshCertificateSigningRequest',
    metadata: meta(name),
    spec: {
      csrData: b64(pki.csrPem),
      certConfig: {
        hosts: ['spiffe://cluster-1/ns/istio-system/sa/istiod'],
        org: 'service-mesh-hub',
        meshType: 'ISTIO',
      },
      virtualMeshRef: { name: 'virtual-mesh', namespace: 'service-mesh-hub', cluster: 'management' },
    },
  };
  if (status) o.status = status;
  return o;
}

/** One valid object of each kind, and a legal status write for it (old -> new). */
export function everyKind(pki: Pki): {
  kind: KindName;
  object: Record<string, unknown>;
  statusOld: Record<string, unknown>;
  statusNew: Record<string, unknown>;
}[] {
  return [
    {
      kind: 'IssuedCertificate',
      object: issuedCertificate(),
      statusOld: issuedCertificate('cluster-1', {}, { state: 'PENDING', observedGeneration: 1 }),
      statusNew: issuedCertificate('cluster-1', {}, { state: 'REQUESTED', observedGeneration: 1 }),
    },
    {
      kind: 'CertificateRequest',
      object: certificateRequest(pki),
      statusOld: certificateRequest(pki, 'cluster-1', { state: 'PENDING', observedGeneration: 1 }),
      statusNew: certificateRequest(pki, 'cluster-1', finishedStatus(pki)),
    },
    {
      kind: 'CertificateRotation',
      object: certificateRotation(),
      statusOld: certificateRotation('rotate-1', 'virtual-mesh', { state: 'PENDING' }),
      statusNew: certificateRotation('rotate-1', 'virtual-mesh', {
        state: 'ROTATING',
        rotationState: 'ADDING_NEW_ROOT',
        observedGeneration: 1,
      }),
    },
    {
      kind: 'PodBounceDirective',
      object: podBounceDirective(),
      statusOld: { ...podBounceDirective(), status: { podsBounced: [] } },
      statusNew: { ...podBounceDirective(), status: { podsBounced: [{ bouncedPods: ['istiod-7d9c-abcde'] }] } },
    },
    {
      kind: 'VirtualMeshCertificateSigningRequest',
      object: vmcsr(pki),
      statusOld: vmcsr(pki, 'istio-cluster-1', { thirdPartyApproval: { approvalStatus: 'PENDING' } }),
      statusNew: vmcsr(pki, 'istio-cluster-1', {
        thirdPartyApproval: { approvalStatus: 'APPROVED', lastUpdatedTime: '2026-11-23T10:05:00Z', message: 'ok' },
      }),
    },
  ];
}
