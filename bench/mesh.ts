// A mesh in the sandbox for the benchmarks that need one (rotate.ts, status.ts): a management
// cluster "mgmt" and N managed clusters c001..cNNN, root Secrets in the management cluster, and
// one IssuedCertificate of one VirtualMesh per managed cluster, driven to FINISHED by the engine
// (driveIssuance), so its issued Secret (istio-system/cacerts) is in place. Not timed.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRootCa, generateRsaKey } from '#schemas/x509/index.js';
import { sandboxFixture, type Sandbox } from './fixtures.js';
import { loadKubeconfig, kubeConfigFor } from '../plugin/src/lib/kubeconfig.js';
import { K8s } from '../plugin/src/lib/k8s.js';
import { K8sClusterApi } from '../plugin/src/engine/k8s-cluster-api.js';
import type { ClusterApi } from '../plugin/src/engine/cluster-api.js';
import type { IssuedCertificate, ObjectRef } from '../plugin/src/engine/objects.js';
import { CERT_API_VERSION } from '../plugin/src/engine/resources.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { parentsAnnotation } from '../plugin/src/engine/parents.js';
import { driveIssuance } from '../plugin/src/engine/issuance/drive.js';
import type { KeyMaker } from '../plugin/src/engine/issuance/agent.js';
import { textBase64 as b64 } from '#schemas/x509/pem.js';

export const MGMT = 'mgmt';
export const ISSUED = { namespace: 'istio-system', name: 'istiod-ca' } as const;

/** c001, c002, ...: sorted the same way as numbers, so `status` lists them in order. */
export function clusterNames(n: number): string[] {
  const width = Math.max(2, String(n).length);
  return Array.from({ length: n }, (_, i) => `c${String(i + 1).padStart(width, '0')}`);
}

export interface MeshSandbox {
  sandbox: Sandbox;
  names: string[];
  mgmt: ClusterApi;
  managed: ClusterApi[];
  stop(): Promise<void>;
}

/** The sandbox with namespaces gloo-mesh and istio-system in every cluster; nothing else yet. */
export async function startMeshSandbox(managedCount: number): Promise<MeshSandbox> {
  const names = clusterNames(managedCount);
  const { startSandbox } = await sandboxFixture();
  const sandbox = await startSandbox({ clusters: [MGMT, ...names] });
  try {
    const merged = await loadKubeconfig(sandbox.kubeconfigPath);
    const apis: ClusterApi[] = await Promise.all(
      [MGMT, ...names].map(async (n) => {
        const k8s = await K8s.forKubeConfig(n, await kubeConfigFor(merged, n));
        await k8s.ensureNamespace('gloo-mesh');
        await k8s.ensureNamespace('istio-system');
        return new K8sClusterApi(k8s);
      }),
    );
    const [mgmt, ...managed] = apis as [ClusterApi, ...ClusterApi[]];
    return { sandbox, names, mgmt, managed, stop: () => sandbox.stop() };
  } catch (err) {
    await sandbox.stop();
    throw err;
  }
}

/** A self-signed RSA-2048 root in the Istio layout, in the management cluster. */
export async function createRootSecret(mgmt: ClusterApi, ref: ObjectRef, cn: string, ttlDays: number): Promise<void> {
  const { privateKeyPem } = await generateRsaKey(2048);
  const pem = createRootCa({ privateKeyPem, subject: { O: 'bench', CN: cn }, ttlDays });
  await mgmt.createSecret({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ref.name, namespace: ref.namespace },
    type: 'Opaque',
    data: {
      [ISTIO_KEYS.caCert]: b64(pem),
      [ISTIO_KEYS.caKey]: b64(privateKeyPem),
      [ISTIO_KEYS.rootCert]: b64(pem),
      [ISTIO_KEYS.certChain]: b64(pem),
    },
  });
}

/**
 * One IssuedCertificate of VirtualMesh `vm` per managed cluster (RSA-2048, signed by `signing`),
 * each driven to FINISHED: the mesh as it stands before a rotation.
 */
export async function issueMesh(o: {
  mgmt: ClusterApi;
  managed: ClusterApi[];
  vm: ObjectRef;
  signing: ObjectRef;
  ttlDays: number;
  timeoutMs?: number;
  /** default: a new RSA key each (the engine's own); a bench that only reads the mesh may share one */
  makeKey?: KeyMaker;
}): Promise<void> {
  const deadline = Date.now() + (o.timeoutMs ?? 300_000);
  await Promise.all(
    o.managed.map(async (c) => {
      const ic: IssuedCertificate = {
        apiVersion: CERT_API_VERSION,
        kind: 'IssuedCertificate',
        metadata: {
          name: ISSUED.name,
          namespace: ISSUED.namespace,
          annotations: { 'parents.networking.mesh.gloo.solo.io': parentsAnnotation(undefined, o.vm) },
        },
        spec: {
          hosts: [`spiffe://${c.name}.local/ns/istio-system/sa/istiod`],
          certOptions: { rsaKeySizeBytes: 2048, ttlDays: o.ttlDays },
          glooMeshCa: { signingCertificateSecret: o.signing },
        },
      };
      await c.createCustom('IssuedCertificate', ic);
      const r = await driveIssuance(
        { cluster: c, namespace: ISSUED.namespace, name: ISSUED.name },
        { mgmt: o.mgmt, deadline, ...(o.makeKey ? { makeKey: o.makeKey } : {}) },
      );
      if (r.outcome !== 'finished') throw new Error(`initial issuance in ${c.name}: ${r.outcome}: ${r.error}`);
    }),
  );
}

/** True when this module is the process's entry point (`npx tsx bench/x.ts`), not imported. */
export function isMain(metaUrl: string): boolean {
  const strip = (p: string) => p.replace(/\.[cm]?[jt]s$/, '');
  return !!process.argv[1] && strip(resolve(process.argv[1])) === strip(fileURLToPath(metaUrl));
}
