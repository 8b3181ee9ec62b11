// Shared by test/plugin/issue*.test.ts and rotate*.test.ts: a sandbox of clusters seen through
// the engine's ClusterApi, roots in the Istio layout, and openssl to cross-check every chain.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createRootCa,
  generateRsaKey,
  signIntermediate,
  createCsr,
  certificatesIn,
  parseCertificate,
} from '#schemas/x509/index.js';
import type { Sandbox } from '../sandbox/index.js';
import { startBackend, type BackendKind } from '../backend/index.js';
import { loadKubeconfig, kubeConfigFor } from '../../plugin/src/lib/kubeconfig.js';
import { K8s } from '../../plugin/src/lib/k8s.js';
import { K8sClusterApi } from '../../plugin/src/engine/k8s-cluster-api.js';
import type { ClusterApi } from '../../plugin/src/engine/cluster-api.js';
import type { IssuedCertificate, ObjectRef, Secret } from '../../plugin/src/engine/objects.js';
import { CERT_API_VERSION } from '../../plugin/src/engine/resources.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { parentsAnnotation } from '../../plugin/src/engine/parents.js';
import { driveIssuance } from '../../plugin/src/engine/issuance/drive.js';
import { startTrustWatcher, type TrustWatcher } from '../trust-watcher/index.js';

export const b64 = (s: string) => Buffer.from(s).toString('base64');
export const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** The real admission webhook (webhook/), served on 127.0.0.1 with certificates from gen-certs.sh. */
export async function startWebhook(
  kubeconfig?: string,
): Promise<{ url: string; caPem: string; close(): Promise<void> }> {
  const { buildWebhookServer } = await import('../../webhook/src/server.js');
  const dir = mkdtempSync(join(tmpdir(), 'mc-webhook-'));
  execFileSync(join(REPO, 'webhook/gen-certs.sh'), ['--out', dir, '--san', 'IP:127.0.0.1', '--san', 'DNS:localhost'], {
    stdio: 'pipe',
  });
  const server = await buildWebhookServer({
    port: 0,
    healthPort: 0,
    host: '127.0.0.1',
    tlsCertFile: join(dir, 'tls.crt'),
    tlsKeyFile: join(dir, 'tls.key'),
    logLevel: 'silent',
    ...(kubeconfig ? { kubeconfig } : { rotationCache: null }),
  });
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  return {
    url: server.url,
    caPem,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers the webhook for every write (and status write) of our kinds in a cluster. */
export async function registerWebhook(api: ClusterApi, url: string, caPem: string): Promise<void> {
  const cn = await import('@kubernetes/client-node');
  await registerWebhookWith(
    (api as K8sClusterApi).k8s.kubeConfig.makeApiClient(cn.AdmissionregistrationV1Api),
    url,
    caPem,
  );
}

/** The same for a context of a kubeconfig file (CLI tests). */
export async function registerWebhookIn(
  kubeconfigPath: string,
  context: string,
  url: string,
  caPem: string,
): Promise<void> {
  const cn = await import('@kubernetes/client-node');
  const kc = await kubeConfigFor(await loadKubeconfig(kubeconfigPath), context);
  await registerWebhookWith(kc.makeApiClient(cn.AdmissionregistrationV1Api), url, caPem);
}

async function registerWebhookWith(
  adm: import('@kubernetes/client-node').AdmissionregistrationV1Api,
  url: string,
  caPem: string,
): Promise<void> {
  const rules = [
    {
      apiGroups: ['certificates.mesh.gloo.solo.io'],
      apiVersions: ['v1'],
      operations: ['CREATE', 'UPDATE'],
      resources: ['*', '*/status'],
      scope: 'Namespaced',
    },
  ];
  const hook = (name: string, path: string) => ({
    name,
    clientConfig: { url: `${url}${path}`, caBundle: b64(caPem) },
    rules,
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    timeoutSeconds: 5,
  });
  await adm.createValidatingWebhookConfiguration({
    body: { metadata: { name: 'mesh-cert-webhook' }, webhooks: [hook('validate.mesh-cert.io', '/validate')] } as never,
  });
  await adm.createMutatingWebhookConfiguration({
    body: { metadata: { name: 'mesh-cert-webhook' }, webhooks: [hook('mutate.mesh-cert.io', '/mutate')] } as never,
  });
}

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** kubectl against the in-process sandbox: asynchronous, since a blocking call would starve it. */
export function kubectlAsync(kubeconfig: string, context: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      '/usr/bin/kubectl',
      ['--kubeconfig', kubeconfig, '--context', context, ...args],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

/**
 * For CLI tests: the sandbox (management cluster first), the webhook registered in every
 * cluster, and the istio-system and gloo-mesh namespaces everywhere.
 */
export async function startCliSandbox(
  clusters: string[],
  backend: BackendKind = 'sandbox',
): Promise<{
  kubeconfigPath: string;
  sandbox?: Sandbox;
  kubectl(context: string, args: string[]): Promise<string>;
  stop(): Promise<void>;
}> {
  const b = await startBackend(backend, clusters);
  const webhook = await startWebhook(b.kubeconfigPath);
  const kubectl = (context: string, args: string[]) => kubectlAsync(b.kubeconfigPath, context, args);
  for (const c of clusters) {
    await registerWebhookIn(b.kubeconfigPath, c, webhook.url, webhook.caPem);
    await kubectl(c, ['create', 'namespace', 'istio-system']);
    await kubectl(c, ['create', 'namespace', 'gloo-mesh']);
  }
  return {
    kubeconfigPath: b.kubeconfigPath,
    sandbox: b.sandbox,
    kubectl,
    stop: async () => {
      await b.stop();
      await webhook.close();
    },
  };
}

export interface World {
  backend: BackendKind;
  /** The sandbox's internals for fault injection; undefined on the real control plane. */
  sandbox?: Sandbox;
  /** One cluster stops answering (both backends: test/backend's pause), and comes back. */
  pause(cluster: string): Promise<void>;
  resume(cluster: string): Promise<void>;
  kubeconfigPath: string;
  mgmt: ClusterApi;
  managed: ClusterApi[];
  api(name: string): ClusterApi;
  stop(): Promise<void>;
}

export async function startWorld(
  managedNames: string[],
  opts: { webhook?: boolean; backend?: BackendKind } = {},
): Promise<World> {
  const backend = await startBackend(opts.backend ?? 'sandbox', ['mgmt', ...managedNames]);
  // The webhook in the loop: every write the engine makes must be one it admits. Its rotation
  // cache watches the management cluster (the kubeconfig's current context).
  const webhook = opts.webhook === false ? undefined : await startWebhook(backend.kubeconfigPath);
  const merged = await loadKubeconfig(backend.kubeconfigPath);
  const apis = new Map<string, ClusterApi>();
  for (const name of ['mgmt', ...managedNames]) {
    const k8s = await K8s.forKubeConfig(name, await kubeConfigFor(merged, name));
    await k8s.ensureNamespace('gloo-mesh');
    await k8s.ensureNamespace('istio-system');
    const api = new K8sClusterApi(k8s);
    if (webhook) await registerWebhook(api, webhook.url, webhook.caPem);
    apis.set(name, api);
  }
  return {
    backend: backend.kind,
    sandbox: backend.sandbox,
    pause: (c) => backend.pause(c),
    resume: (c) => backend.resume(c),
    kubeconfigPath: backend.kubeconfigPath,
    mgmt: apis.get('mgmt')!,
    managed: managedNames.map((n) => apis.get(n)!),
    api: (n) => apis.get(n)!,
    stop: async () => {
      await backend.stop();
      await webhook?.close();
    },
  };
}

export interface Root {
  ref: ObjectRef;
  certPem: string;
  keyPem: string;
}

/** A self-signed root in a Secret of the management cluster (Istio layout). */
export async function createRoot(mgmt: ClusterApi, ref: ObjectRef, cn: string): Promise<Root> {
  const { privateKeyPem } = await generateRsaKey(2048);
  const certPem = createRootCa({ privateKeyPem, subject: { O: 'mesh-cert-test', CN: cn }, ttlDays: 30 });
  await mgmt.createSecret(rootSecret(ref, certPem, privateKeyPem));
  return { ref, certPem, keyPem: privateKeyPem };
}

export function rootSecret(ref: ObjectRef, certPem: string, keyPem: string): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ref.name, namespace: ref.namespace },
    type: 'Opaque',
    data: {
      [ISTIO_KEYS.caCert]: b64(certPem),
      [ISTIO_KEYS.caKey]: b64(keyPem),
      [ISTIO_KEYS.rootCert]: b64(certPem),
      [ISTIO_KEYS.certChain]: b64(certPem),
    },
  };
}

/** An intermediate signing CA (signed by root) in a Secret: signing Secrets need not be roots. */
export async function createIntermediateSigner(mgmt: ClusterApi, ref: ObjectRef, root: Root): Promise<void> {
  const { privateKeyPem } = await generateRsaKey(2048);
  const csr = createCsr({ privateKeyPem, subject: { O: 'mesh-cert-test', CN: 'signing intermediate' }, hosts: [] });
  const cert = signIntermediate({
    csrPem: csr,
    issuerCertPem: root.certPem,
    issuerKeyPem: root.keyPem,
    hosts: [],
    ttlDays: 20,
  });
  await mgmt.createSecret({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ref.name, namespace: ref.namespace },
    type: 'Opaque',
    data: {
      [ISTIO_KEYS.caCert]: b64(cert),
      [ISTIO_KEYS.caKey]: b64(privateKeyPem),
      [ISTIO_KEYS.rootCert]: b64(root.certPem),
      [ISTIO_KEYS.certChain]: b64(cert + root.certPem),
    },
  });
}

export function issuedCertificate(
  name: string,
  namespace: string,
  opts: { signing: ObjectRef; vm?: ObjectRef; hosts?: string[]; podBounce?: ObjectRef; issuedSecret?: ObjectRef },
): IssuedCertificate {
  return {
    apiVersion: CERT_API_VERSION,
    kind: 'IssuedCertificate',
    metadata: {
      name,
      namespace,
      ...(opts.vm
        ? { annotations: { 'parents.networking.mesh.gloo.solo.io': parentsAnnotation(undefined, opts.vm) } }
        : {}),
    },
    spec: {
      hosts: opts.hosts ?? [`spiffe://${name}.local/ns/istio-system/sa/istiod`],
      certOptions: { rsaKeySizeBytes: 2048, ttlDays: 7, orgName: 'mesh-cert-test' },
      glooMeshCa: { signingCertificateSecret: opts.signing },
      issuedCertificateSecret: opts.issuedSecret ?? { namespace: 'istio-system', name: 'cacerts' },
      ...(opts.podBounce ? { podBounceDirective: opts.podBounce } : {}),
    },
  };
}

export interface IssuedFiles {
  caCert: string;
  chain: string;
  root: string;
  key: string;
}

export async function readIssuedSecret(
  api: ClusterApi,
  ref: ObjectRef = { namespace: 'istio-system', name: 'cacerts' },
): Promise<IssuedFiles> {
  const s = await api.getSecret(ref.namespace, ref.name);
  if (!s) throw new Error(`${api.name}: Secret ${ref.namespace}/${ref.name} missing`);
  return {
    caCert: unb64(s.data?.[ISTIO_KEYS.caCert]),
    chain: unb64(s.data?.[ISTIO_KEYS.certChain]),
    root: unb64(s.data?.[ISTIO_KEYS.rootCert]),
    key: unb64(s.data?.[ISTIO_KEYS.caKey]),
  };
}

/**
 * `openssl verify -CAfile roots -untrusted chain cert`: the intermediate (with the chain its
 * Secret carries, roots removed) against a trust bundle. Returns openssl's verdict text.
 */
export function opensslVerify(certPem: string, chainPem: string, rootsPem: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mc-verify-'));
  try {
    const norm = (p: string) => p.replace(/\s+/g, '');
    const certs = certificatesIn(chainPem).filter((p) => norm(p) !== norm(certPem));
    writeFileSync(join(dir, 'cert.pem'), certPem);
    writeFileSync(join(dir, 'roots.pem'), rootsPem);
    const args = ['verify', '-CAfile', join(dir, 'roots.pem')];
    // openssl treats a self-signed certificate in -untrusted as untrusted: only non-roots go there.
    const untrusted = certs.filter((p) => !isSelfSigned(p));
    if (untrusted.length) {
      writeFileSync(join(dir, 'chain.pem'), untrusted.join('\n'));
      args.push('-untrusted', join(dir, 'chain.pem'));
    }
    args.push(join(dir, 'cert.pem'));
    try {
      return {
        ok: true,
        output: execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
      };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function isSelfSigned(pem: string): boolean {
  return parseCertificate(pem).selfSigned;
}

/** Every private key PEM block in any object of a cluster (Secrets and custom objects). */
export function privateKeysIn(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g)].map(
    (m) => m[0],
  );
}

/** Decodes every base64 string in an object tree, so a key hidden in `data` or `bytes` shows. */
export function allText(obj: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      parts.push(v);
      if (/^[A-Za-z0-9+/=\s]{40,}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(obj);
  return parts.join('\n');
}

/**
 * A VirtualMesh with one IssuedCertificate per managed cluster of `w`, issued by `signing`, and the
 * independent trust watcher (test/trust-watcher) already watching every managed cluster's issued
 * Secret, so that every later change is checked. The caller stops the watcher and asserts no gaps.
 */
export async function watchedMesh(
  w: World,
  vmName: string,
  signing: ObjectRef,
): Promise<{ vm: ObjectRef; out: ObjectRef; watcher: TrustWatcher }> {
  const vm = { namespace: 'gloo-mesh', name: vmName };
  const out = { namespace: 'istio-system', name: `${vmName}-cacerts` };
  const watcher = await startTrustWatcher({
    kubeconfigPath: w.kubeconfigPath,
    contexts: w.managed.map((c) => c.name),
    secret: out,
  });
  await Promise.all(
    w.managed.map(async (c) => {
      await c.createCustom(
        'IssuedCertificate',
        issuedCertificate(vmName, 'istio-system', { signing, vm, issuedSecret: out }),
      );
      const r = await driveIssuance(
        { cluster: c, namespace: 'istio-system', name: vmName },
        { mgmt: w.mgmt, deadline: Date.now() + 30_000 },
      );
      if (r.outcome !== 'finished') throw new Error(`issuing ${vmName} in ${c.name}: ${r.outcome}: ${r.error}`);
    }),
  );
  return { vm, out, watcher };
}

/** Waits for a watcher to have seen everything written, stops it, and fails on any gap it saw. */
export async function assertWatchedNoGaps(watcher: TrustWatcher): Promise<void> {
  await watcher.waitForQuiet(300, 20_000);
  await watcher.stop();
  watcher.assertNoGaps();
}
