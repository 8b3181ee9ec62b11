// Root rotation wall time across 20 managed clusters in the sandbox (RSA-2048 keys), unattended
// with the built-in check, next to its floor measured in the same run: generating the same
// number of RSA-2048 keys with node:crypto, with the same concurrency (all at once). Everything
// else a rotation does (CSRs, signing, API round trips, the trust check) is the overhead the
// ratio shows. Target: within 3x of the floor.
// Run alone: npx tsx bench/rotate.ts
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createRootCa, generateRsaKey } from '../schemas/pki/index.js';
import { startSandbox } from '../test/sandbox/index.js';
import { loadKubeconfig, kubeConfigFor } from '../plugin/src/lib/kubeconfig.js';
import { K8s } from '../plugin/src/lib/k8s.js';
import { K8sClusterApi } from '../plugin/src/engine/k8s-cluster-api.js';
import type { ClusterApi } from '../plugin/src/engine/cluster-api.js';
import type { IssuedCertificate, ObjectRef } from '../plugin/src/engine/objects.js';
import { CERT_API_VERSION, ISTIO_KEYS } from '../plugin/src/engine/resources.js';
import { parentsAnnotation } from '../plugin/src/engine/rotation/targets.js';
import { driveIssuance } from '../plugin/src/engine/issuance/drive.js';
import { builtInVerifier, rotate } from '../plugin/src/engine/rotation/driver.js';
import type { BenchResult } from './result.js';

const MANAGED = 20;
const gen = promisify(generateKeyPair);
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function rootSecret(mgmt: ClusterApi, ref: ObjectRef, cn: string): Promise<void> {
  const { privateKeyPem } = await generateRsaKey(2048);
  const pem = createRootCa({ privateKeyPem, subject: { O: 'bench', CN: cn }, ttlDays: 30 });
  await mgmt.createSecret({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ref.name, namespace: ref.namespace },
    type: 'Opaque',
    data: { [ISTIO_KEYS.caCert]: b64(pem), [ISTIO_KEYS.caKey]: b64(privateKeyPem), [ISTIO_KEYS.rootCert]: b64(pem), [ISTIO_KEYS.certChain]: b64(pem) },
  });
}

async function keyFloor(n: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => gen('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })));
  return performance.now() - t0;
}

export async function benchRotate(): Promise<BenchResult[]> {
  const names = Array.from({ length: MANAGED }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
  const sandbox = await startSandbox({ clusters: ['mgmt', ...names] });
  try {
    const merged = await loadKubeconfig(sandbox.kubeconfigPath);
    const apis: ClusterApi[] = [];
    for (const n of ['mgmt', ...names]) {
      const k8s = await K8s.forKubeConfig(n, await kubeConfigFor(merged, n));
      await k8s.ensureNamespace('gloo-mesh');
      await k8s.ensureNamespace('istio-system');
      apis.push(new K8sClusterApi(k8s));
    }
    const [mgmt, ...managed] = apis as [ClusterApi, ...ClusterApi[]];
    const vm = { namespace: 'gloo-mesh', name: 'bench-vm' };
    const oldRef = { namespace: 'gloo-mesh', name: 'old-root' };
    const newRef = { namespace: 'gloo-mesh', name: 'new-root' };
    await rootSecret(mgmt, oldRef, 'old root');
    await rootSecret(mgmt, newRef, 'new root');
    // The mesh as it stands before the rotation (not timed).
    await Promise.all(
      managed.map(async (c) => {
        const ic: IssuedCertificate = {
          apiVersion: CERT_API_VERSION,
          kind: 'IssuedCertificate',
          metadata: { name: 'istiod-ca', namespace: 'istio-system', annotations: { 'parents.networking.mesh.gloo.solo.io': parentsAnnotation(undefined, vm) } },
          spec: { hosts: [`spiffe://${c.name}.local/ns/istio-system/sa/istiod`], certOptions: { rsaKeySizeBytes: 2048, ttlDays: 30 }, glooMeshCa: { signingCertificateSecret: oldRef } },
        };
        await c.createCustom('IssuedCertificate', ic);
        const r = await driveIssuance({ cluster: c, namespace: 'istio-system', name: 'istiod-ca' }, { mgmt, deadline: Date.now() + 120_000 });
        if (r.outcome !== 'finished') throw new Error(`initial issuance in ${c.name}: ${r.error}`);
      }),
    );
    const t0 = performance.now();
    const r = await rotate({ mgmt, clusters: managed, virtualMesh: vm, newRootSecret: newRef, verify: builtInVerifier, stepTimeoutMs: 600_000 });
    const rotateMs = performance.now() - t0;
    if (r.outcome !== 'finished') throw new Error(`rotation ended ${r.outcome}: ${r.error ?? r.rotation.status?.error}`);
    const floorMs = await keyFloor(r.keysGenerated);
    return [
      {
        name: `unattended rotation, ${MANAGED} managed clusters (${r.keysGenerated} RSA-2048 keys)`,
        value: rotateMs / 1000,
        unit: 's',
        baseline: floorMs / 1000,
        baselineName: `node:crypto generating ${r.keysGenerated} RSA-2048 keys (s)`,
        ratio: rotateMs / floorMs,
        target: '<= 3x',
      },
    ];
  } finally {
    await sandbox.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchRotate()) {
    console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}; ${r.baselineName}: ${r.baseline.toFixed(2)}; ratio ${r.ratio.toFixed(2)} (target ${r.target})`);
  }
}
