// The writes Gloo Mesh's own controllers make, in order, as data: its networking translator, the
// cert-agent (with its pod bouncer) and the issuer, v1.0 to v1.2 and the cert-rotation-api
// branch, and zephyr's csr-agent and signer (Service Mesh Hub). Rule zero of the contract
// (schemas/README.md): every one must be admitted, and none of those on an object a Gloo Mesh
// controller owns may be patched.
//
// The list is replayable against a real apiserver as well as through the webhook's handler:
// writes on one object form a chain (each `oldObject` is the `object` of the write before it on
// that object, as the apiserver stores it); `metadata.generation` is what validating admission
// sees (1 on CREATE, bumped by each spec change, kept by status writes); `subResource: 'status'`
// writes go through the status subresource, as the controllers' SyncStatuses do. A main-resource
// UPDATE carries the stored status, which is what the apiserver keeps in any case. A replayer
// against an apiserver takes uid and resourceVersion from what it stored (the ones here are
// placeholders) and lets the apiserver set generation.
//
// Sources read: gloo-mesh pkg/certificates/{agent,issuer}/reconciliation (state moves, labels,
// observedGeneration), agent/translation and agent/utils (CSR, AppendParentCerts), issuer/utils
// (the certificate), pkg/mesh-networking/translation/.../mtls (the IssuedCertificate and the
// PodBounceDirective), zephyr's cert-signer (VMCSR status).
import type { KindName } from '#schemas/src/index.js';
import { createCsr, createRootCa, generateRsaKey } from '#schemas/x509/index.js';
import { istioSignedCa } from './istio-certs.js';

/** A Kubernetes object as JSON. */
export type GlooObject = { [k: string]: unknown; metadata: Record<string, unknown> };

export interface GlooMeshWrite {
  description: string;
  /** The component that makes the write, and the versions. */
  writer: string;
  kind: KindName;
  operation: 'CREATE' | 'UPDATE';
  /** Through the status subresource. */
  subResource?: 'status';
  oldObject?: GlooObject;
  object: GlooObject;
  /** Whether the mutating webhook patches it: never when a Gloo Mesh controller owns the object. */
  expectPatched: boolean;
  /** Text each of which one of the validating webhook's warnings must contain. */
  expectWarnings?: readonly string[];
}

const GLOO = 'certificates.mesh.gloo.solo.io/v1';
const ZEPHYR = 'security.zephyr.solo.io/v1alpha1';
const NS = 'gloo-mesh';
/** metautils.TranslatedObjectLabels() of the networking translator. */
const OWNED = { 'owner.networking.mesh.gloo.solo.io': NS };
/** agentLabels() of the cert-agent. */
const AGENT = { 'agent.certificates.mesh.gloo.solo.io': NS };
const PARENTS = {
  'parents.networking.mesh.gloo.solo.io':
    '{"networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh":[{"name":"virtual-mesh","namespace":"gloo-mesh"}]}',
};
const ROOT_SECRET = { name: 'virtual-mesh.gloo-mesh', namespace: NS };

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const clone = <T>(v: T): T => structuredClone(v);

function object(
  apiVersion: string,
  kind: KindName,
  name: string,
  labels: Record<string, string>,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): GlooObject {
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${kind.toLowerCase()}-${name}`,
      generation: 1,
      labels: { ...labels },
      ...(annotations ? { annotations: { ...annotations } } : {}),
    },
    spec,
  };
}

/** Builds the list, keeping each object's stored state so that every UPDATE starts from it. */
class Timeline {
  readonly writes: GlooMeshWrite[] = [];

  create(
    description: string,
    writer: string,
    obj: GlooObject,
    expectPatched = false,
    expectWarnings?: readonly string[],
  ): GlooObject {
    this.writes.push({
      description,
      writer,
      kind: obj.kind as KindName,
      operation: 'CREATE',
      object: clone(obj),
      expectPatched,
      ...(expectWarnings ? { expectWarnings } : {}),
    });
    return obj;
  }

  /** A main-resource write of a new spec: generation goes up, the stored status stays. */
  spec(
    description: string,
    writer: string,
    prev: GlooObject,
    spec: Record<string, unknown>,
    expectWarnings?: readonly string[],
  ): GlooObject {
    const next = clone(prev);
    next.spec = clone(spec);
    next.metadata.generation = Number(prev.metadata.generation) + 1;
    this.writes.push({
      description,
      writer,
      kind: prev.kind as KindName,
      operation: 'UPDATE',
      oldObject: clone(prev),
      object: clone(next),
      expectPatched: false,
      ...(expectWarnings ? { expectWarnings } : {}),
    });
    return next;
  }

  /** A status-subresource write: the whole status replaced, spec and generation kept. */
  status(description: string, writer: string, prev: GlooObject, status: Record<string, unknown>): GlooObject {
    const next = clone(prev);
    next.status = clone(status);
    this.writes.push({
      description,
      writer,
      kind: prev.kind as KindName,
      operation: 'UPDATE',
      subResource: 'status',
      oldObject: clone(prev),
      object: clone(next),
      expectPatched: false,
    });
    return next;
  }
}

/** One selector for istiod, then one per workload: 150 in all, as the translator writes for a big mesh. */
function podsToBounce(count: number): Record<string, unknown>[] {
  const sync = (ns: string) => ({
    secretRef: { name: 'cacerts', namespace: 'istio-system' },
    secretKey: 'root-cert.pem',
    configMapRef: { name: 'istio-ca-root-cert', namespace: ns },
    configMapKey: 'root-cert.pem',
  });
  return Array.from({ length: count }, (_, i) =>
    i === 0
      ? {
          namespace: 'istio-system',
          labels: { app: 'istiod', istio: 'pilot' },
          waitForReplicas: 1,
          rootCertSync: sync('istio-system'),
        }
      : {
          namespace: `team-${i % 30}`,
          labels: { app: `service-${i}`, version: 'v1' },
          rootCertSync: sync(`team-${i % 30}`),
        },
  );
}

/** `perSelector` pod names bounced for each of `count` selectors. */
function podsBounced(count: number, perSelector: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    bouncedPods: Array.from({ length: perSelector }, (_, j) => `service-${i}-7d9c8b-${String(j).padStart(5, '0')}`),
  }));
}

export async function glooMeshWrites(): Promise<GlooMeshWrite[]> {
  const t = new Timeline();
  const [rootKey, key1, key1b, key2, key2b, vmcsrKey] = await Promise.all(
    Array.from({ length: 6 }, () => generateRsaKey(2048)),
  );
  // Gloo Mesh's generated VirtualMesh root (issued by its networking translator into a Secret).
  const root = createRootCa({ privateKeyPem: rootKey!.privateKeyPem, subject: { O: 'gloo-mesh' }, ttlDays: 365 });
  const host = (cluster: string) => `spiffe://${cluster}/ns/istio-system/sa/istiod-service-account`;
  // The agent's CSR (istio's GenCSRTemplate): O = org, OU = the IssuedCertificate's name, SANs from hosts.
  const csr = (keyPem: string, org: string, name: string, hosts: string[]) =>
    createCsr({ privateKeyPem: keyPem, subject: { O: org, OU: name }, hosts });
  const sign = (csrPem: string, hosts: string[], subject: 'empty' | 'csr' = 'empty') =>
    istioSignedCa({ csrPem, issuerCertPem: root, issuerKeyPem: rootKey!.privateKeyPem, hosts, ttlDays: 365, subject });

  // --- cluster-1: Gloo Mesh v1.0 end to end, then a spec edit restarts issuance (v1.1 issuer) ---
  const name1 = 'istiod-istio-system-cluster-1';
  const hosts1 = [host('cluster.local')];
  let pbd1 = t.create(
    'translator: a PodBounceDirective with 150 selectors (istiod, then one per workload)',
    'networking translator v1.0-v1.2',
    object(GLOO, 'PodBounceDirective', name1, OWNED, { podsToBounce: podsToBounce(150) }),
  );
  const icSpec1 = {
    hosts: hosts1,
    org: 'Istio',
    signingCertificateSecret: ROOT_SECRET,
    issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
    podBounceDirective: { name: name1, namespace: NS },
  };
  let ic1 = t.create(
    'translator v1.0: an IssuedCertificate with the deprecated fields only (v1.0 knows no others)',
    'networking translator v1.0',
    object(GLOO, 'IssuedCertificate', name1, OWNED, icSpec1),
    false,
    ['spec.org is deprecated', 'spec.signingCertificateSecret is deprecated'],
  );
  const csr1 = csr(key1!.privateKeyPem, 'Istio', name1, hosts1);
  let cr1 = t.create(
    'agent: the CertificateRequest for the new key',
    'cert-agent v1.0-v1.2',
    object(GLOO, 'CertificateRequest', name1, AGENT, { certificateSigningRequest: b64(csr1) }),
  );
  ic1 = t.status('agent: PENDING (no state) -> REQUESTED, observedGeneration 1', 'cert-agent v1.0-v1.2', ic1, {
    observedGeneration: 1,
    state: 'REQUESTED',
  });
  cr1 = t.status(
    'issuer v1.0: FINISHED with a certificate made by istio pki/util (empty subject, critical SAN)',
    'issuer v1.0',
    cr1,
    {
      observedGeneration: 1,
      state: 'FINISHED',
      signedCertificate: b64(sign(csr1, hosts1)),
      signingRootCa: b64(root),
    },
  );
  ic1 = t.status('agent: REQUESTED -> ISSUED (cacerts written)', 'cert-agent v1.0-v1.2', ic1, {
    observedGeneration: 1,
    state: 'ISSUED',
  });
  pbd1 = t.status('pod bouncer: 1500 pods bounced over the 150 selectors', 'cert-agent pod bouncer v1.0-v1.2', pbd1, {
    podsBounced: podsBounced(150, 10),
  });
  ic1 = t.status('agent: ISSUED -> FINISHED (pods bounced)', 'cert-agent v1.0-v1.2', ic1, {
    observedGeneration: 1,
    state: 'FINISHED',
  });

  const hosts1b = [host('mesh.example.com')];
  ic1 = t.spec(
    'translator: a spec edit (new trust domain) restarts issuance',
    'networking translator v1.0-v1.2',
    ic1,
    { ...icSpec1, hosts: hosts1b },
    ['spec.org is deprecated'],
  );
  ic1 = t.status(
    'agent: FINISHED -> REQUESTED as observedGeneration advances (PENDING and REQUESTED in one write)',
    'cert-agent v1.0-v1.2',
    ic1,
    {
      observedGeneration: 2,
      state: 'REQUESTED',
    },
  );
  pbd1 = t.status(
    'agent: the PodBounceDirective status reset for the new certificate',
    'cert-agent v1.1-v1.2',
    pbd1,
    {},
  );
  const csr1b = csr(key1b!.privateKeyPem, 'Istio', name1, hosts1b);
  cr1 = t.spec(
    'agent: a new CSR for the new key; the FINISHED status it leaves is stale',
    'cert-agent v1.0-v1.2',
    cr1,
    { certificateSigningRequest: b64(csr1b) },
  );
  const signed1b = sign(csr1b, hosts1b, 'csr');
  cr1 = t.status(
    "issuer v1.1: FINISHED -> FINISHED for the new generation, the CSR's subject kept, certChain set",
    'issuer v1.1-v1.2',
    cr1,
    {
      observedGeneration: 2,
      state: 'FINISHED',
      signedCertificate: b64(signed1b),
      signingRootCa: b64(root),
      certChain: b64(signed1b + root),
    },
  );
  ic1 = t.status('agent: REQUESTED -> ISSUED, observedGeneration 2', 'cert-agent v1.0-v1.2', ic1, {
    observedGeneration: 2,
    state: 'ISSUED',
  });
  pbd1 = t.status('pod bouncer: 1500 pods bounced again', 'cert-agent pod bouncer v1.0-v1.2', pbd1, {
    podsBounced: podsBounced(150, 10),
  });
  void pbd1;
  ic1 = t.status('agent: ISSUED -> FINISHED, observedGeneration 2', 'cert-agent v1.0-v1.2', ic1, {
    observedGeneration: 2,
    state: 'FINISHED',
  });
  void ic1;

  // --- cluster-2: Gloo Mesh v1.1, both field generations, a VirtualMesh's own cert options, failures ---
  const name2 = 'istiod-istio-system-cluster-2';
  const hosts2 = [host('cluster-2.local')];
  let ic2 = t.create(
    'translator v1.1: org "Istio" next to the VirtualMesh orgName "acme", an 8192-bit key, ttlDays 40000',
    'networking translator v1.1-v1.2',
    object(
      GLOO,
      'IssuedCertificate',
      name2,
      OWNED,
      {
        hosts: hosts2,
        certOptions: { ttlDays: 40000, rsaKeySizeBytes: 8192, orgName: 'acme', secretRotationGracePeriodRatio: 0.1 },
        org: 'Istio',
        signingCertificateSecret: ROOT_SECRET,
        glooMeshCa: { signingCertificateSecret: ROOT_SECRET },
        issuedCertificateSecret: { name: 'cacerts', namespace: 'istio-system' },
      },
      PARENTS,
    ),
    false,
    [
      'spec.org is deprecated and differs from spec.certOptions.orgName ("Istio" vs "acme")',
      'spec.certOptions.ttlDays: 40000 is above 36500',
    ],
  );
  const csr2 = csr(key2!.privateKeyPem, 'acme', name2, hosts2);
  let cr2 = t.create(
    'agent: the CertificateRequest',
    'cert-agent v1.1-v1.2',
    object(GLOO, 'CertificateRequest', name2, AGENT, { certificateSigningRequest: b64(csr2) }),
  );
  ic2 = t.status('agent: PENDING -> REQUESTED', 'cert-agent v1.1-v1.2', ic2, {
    observedGeneration: 1,
    state: 'REQUESTED',
  });
  cr2 = t.status('issuer: FAILED, the signing Secret is missing', 'issuer v1.0-v1.2', cr2, {
    observedGeneration: 1,
    state: 'FAILED',
    error: `failed to find issuer's signing certificate matching issued request ${name2}.${NS}: secrets "virtual-mesh.gloo-mesh" not found`,
  });
  const signed2 = sign(csr2, hosts2);
  cr2 = t.status('issuer: FAILED -> FINISHED on its next reconcile (same generation)', 'issuer v1.1-v1.2', cr2, {
    observedGeneration: 1,
    state: 'FINISHED',
    signedCertificate: b64(signed2),
    signingRootCa: b64(root),
    certChain: b64(signed2 + root),
  });
  ic2 = t.status('agent: REQUESTED -> ISSUED', 'cert-agent v1.1-v1.2', ic2, { observedGeneration: 1, state: 'ISSUED' });
  ic2 = t.status('agent: ISSUED -> FAILED (the issued Secret vanished)', 'cert-agent v1.1-v1.2', ic2, {
    observedGeneration: 1,
    state: 'FAILED',
    error: 'secrets "cacerts" not found',
  });
  ic2 = t.status('agent: FAILED -> REQUESTED straight away, with a new key', 'cert-agent v1.1-v1.2', ic2, {
    observedGeneration: 1,
    state: 'REQUESTED',
  });
  const csr2b = csr(key2b!.privateKeyPem, 'acme', name2, hosts2);
  cr2 = t.spec('agent: the new CSR', 'cert-agent v1.1-v1.2', cr2, { certificateSigningRequest: b64(csr2b) });
  const signed2b = sign(csr2b, hosts2);
  cr2 = t.status('issuer: re-signed for generation 2', 'issuer v1.1-v1.2', cr2, {
    observedGeneration: 2,
    state: 'FINISHED',
    signedCertificate: b64(signed2b),
    signingRootCa: b64(root),
    certChain: b64(signed2b + root),
  });
  void cr2;
  ic2 = t.status('agent: REQUESTED -> ISSUED -> (next write) FINISHED', 'cert-agent v1.1-v1.2', ic2, {
    observedGeneration: 1,
    state: 'ISSUED',
  });
  ic2 = t.status('agent: FINISHED', 'cert-agent v1.1-v1.2', ic2, { observedGeneration: 1, state: 'FINISHED' });
  void ic2;

  // --- cluster-3: a Vault agent CA on the cert-rotation-api branch ---
  const name3 = 'istiod-istio-system-cluster-3';
  let ic3 = t.create(
    'translator (cert-rotation-api): Vault kubernetesAuth without role, NOT_APPLICABLE rotation state, a 1024-bit key',
    'networking translator, cert-rotation-api branch',
    object(
      GLOO,
      'IssuedCertificate',
      name3,
      OWNED,
      {
        hosts: [host('cluster-3.local')],
        certOptions: { rsaKeySizeBytes: 1024, orgName: 'Istio' },
        org: 'Istio',
        agentCa: {
          vault: {
            server: 'https://vault.vault.svc:8200',
            caPath: 'pki/root/sign-intermediate',
            csrPath: 'pki_int/intermediate/generate/exported',
            kubernetesAuth: {
              mountPath: '/v1/auth/kubernetes',
              serviceAccountRef: { name: 'istiod', namespace: 'istio-system' },
            },
          },
        },
        rotationState: 'NOT_APPLICABLE',
      },
      PARENTS,
    ),
    false,
    ['spec.certOptions.rsaKeySizeBytes: 1024 is below 2048'],
  );
  ic3 = t.status(
    'agent (cert-rotation-api): the zero rotation state under its name, state omitted (PENDING)',
    'cert-agent, cert-rotation-api branch',
    ic3,
    {
      observedGeneration: 1,
      observedRotationState: 'NOT_APPLICABLE',
    },
  );
  void ic3;

  // --- not Gloo Mesh's: a user's IssuedCertificate with the old fields only is patched ---
  const { podBounceDirective: _none, ...userSpec } = icSpec1;
  t.create(
    "a user's IssuedCertificate with the deprecated fields only (no owner label): copied onto the new ones",
    'a user (kubectl apply)',
    object(GLOO, 'IssuedCertificate', 'hand-made', {}, userSpec),
    true,
  );

  // --- zephyr (Service Mesh Hub): the signer answers PENDING requests as it does APPROVED ones ---
  const vmHosts = ['spiffe://cluster.local/ns/istio-system/sa/istio-citadel-service-account'];
  const vmcsrCsr = createCsr({
    privateKeyPem: vmcsrKey!.privateKeyPem,
    subject: { O: 'service-mesh-hub' },
    hosts: vmHosts,
  });
  const vmcsrSpec = {
    csrData: b64(vmcsrCsr),
    certConfig: { hosts: vmHosts, org: 'service-mesh-hub', meshType: 'ISTIO' },
    virtualMeshRef: { name: 'virtual-mesh', namespace: 'service-mesh-hub', cluster: 'management-plane' },
  };
  // GenCertFromEncodedCSR(csr, root, key, nil subject IDs, ...): empty subject, no SAN at all.
  const vmcsrCert = istioSignedCa({
    csrPem: vmcsrCsr,
    issuerCertPem: root,
    issuerKeyPem: rootKey!.privateKeyPem,
    hosts: [],
    ttlDays: 365,
  });
  const answered = {
    response: { caCertificate: b64(vmcsrCert), rootCertificate: b64(root) },
    computedStatus: { state: 'ACCEPTED' },
  };
  let vm1 = t.create(
    'csr-agent: a VirtualMeshCertificateSigningRequest',
    'zephyr csr-agent',
    object(ZEPHYR, 'VirtualMeshCertificateSigningRequest', 'istio-cluster-1', {}, vmcsrSpec),
  );
  vm1 = t.status('signer: the response, no approval workflow (PENDING)', 'zephyr cert-signer', vm1, answered);
  void vm1;
  let vm2 = t.create(
    'csr-agent: a request with an approval workflow',
    'zephyr csr-agent',
    object(ZEPHYR, 'VirtualMeshCertificateSigningRequest', 'istio-cluster-2', {}, vmcsrSpec),
  );
  vm2 = t.status('a third party opens the workflow: PENDING', 'third-party approver', vm2, {
    thirdPartyApproval: { approvalStatus: 'PENDING', lastUpdatedTime: '2026-11-23T10:00:00Z' },
  });
  vm2 = t.status('signer: the response while approval is still PENDING', 'zephyr cert-signer', vm2, {
    ...answered,
    thirdPartyApproval: { approvalStatus: 'PENDING', lastUpdatedTime: '2026-11-23T10:00:00Z' },
  });
  void vm2;

  return t.writes;
}
