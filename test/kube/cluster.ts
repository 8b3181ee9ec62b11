// One real cluster: its PKI, a kube-apiserver on a free port of 127.0.0.1 storing under its own
// prefix of the shared etcd, and a kube-controller-manager (namespace deletion, garbage
// collection, service accounts, CSR signing... everything envtest lacks).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeBinaries } from './binaries.js';
import { kubeRequest, sleep, type Creds } from './http.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { makeCa, makeClientCert, makeServiceAccountKey, makeServingCert, type ClusterCa } from './pki.js';
import { ADDRESS_IN_USE, freePort } from './ports.js';
import { logTail, startChild, type Child } from './process.js';

/** The ClusterIP range of every cluster; its first address is the kubernetes Service's. */
export const SERVICE_CIDR = '10.0.0.0/24';
const SERVICE_IP = '10.0.0.1';

export interface ClusterStartOptions {
  name: string;
  dir: string;
  bins: KubeBinaries;
  etcdUrl: string;
  timeoutMs: number;
  /** extra kube-apiserver flags ("--name=value"), after ours so they win */
  apiserverArgs?: string[];
}

export interface ClusterProcesses {
  name: string;
  url: string;
  caPem: string;
  ca: ClusterCa;
  admin: Creds;
  etcdPrefix: string;
  apiserver: Child;
  controllerManager?: Child;
  dir: string;
}

function apiserverArgs(
  o: ClusterStartOptions,
  port: number,
  files: Record<string, string>,
  etcdPrefix: string,
): string[] {
  return [
    '--advertise-address=127.0.0.1', // else it looks for a host address through the default route
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(o.dir, 'cert-dir')}`,
    `--tls-cert-file=${files.servingCert}`,
    `--tls-private-key-file=${files.servingKey}`,
    `--client-ca-file=${files.ca}`,
    `--etcd-servers=${o.etcdUrl}`,
    `--etcd-prefix=${etcdPrefix}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${files.saPub}`,
    `--service-account-signing-key-file=${files.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--authorization-mode=RBAC',
    '--endpoint-reconciler-type=none', // the loopback address is not a valid Endpoints address
    '--allow-privileged=true',
    '--profiling=false',
    ...(o.apiserverArgs ?? []),
  ];
}

async function waitReady(creds: Creds, child: Child, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.hasExited())
      throw new Error(
        `kube: ${what} exited (${await child.exited}) before it was ready; its log ends:\n${await logTail(child.logFile)}`,
      );
    try {
      const r = await kubeRequest(creds, 'GET', '/readyz', undefined, 2000);
      if (r.status === 200) return;
      last = `${r.status} ${r.text
        .trim()
        .split('\n')
        .filter((l) => l.includes('[-]'))
        .join('; ')}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(
    `kube: ${what} not ready after ${timeoutMs} ms (last /readyz: ${last}); its log ends:\n${await logTail(child.logFile)}`,
  );
}

/** PKI and kube-apiserver, ready (GET /readyz is 200). */
export async function startApiserver(o: ClusterStartOptions): Promise<ClusterProcesses> {
  const pki = join(o.dir, 'pki');
  await mkdir(pki, { recursive: true });
  const ca = await makeCa(pki, `${o.name}-ca`);
  const [serving, admin, sa] = await Promise.all([
    makeServingCert(ca, SERVICE_IP),
    makeClientCert(ca, 'admin', ['system:masters'], 'admin'),
    makeServiceAccountKey(pki),
  ]);
  const files = {
    ca: ca.certFile,
    servingCert: serving.certFile,
    servingKey: serving.keyFile,
    saKey: sa.keyFile,
    saPub: sa.pubFile,
  };
  const etcdPrefix = `/registry-${o.name}`;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const apiserver = startChild(
      `kube-apiserver ${o.name}`,
      o.bins.apiserver,
      apiserverArgs(o, port, files, etcdPrefix),
      join(o.dir, `kube-apiserver-${attempt}.log`),
    );
    const creds: Creds = { url, caPem: ca.caPem, certPem: admin.certPem, keyPem: admin.keyPem };
    try {
      await waitReady(creds, apiserver, `kube-apiserver of cluster ${o.name}`, o.timeoutMs);
      return { name: o.name, url, caPem: ca.caPem, ca, admin: creds, etcdPrefix, apiserver, dir: o.dir };
    } catch (e) {
      await apiserver.stop(1000);
      if (attempt < 3 && ADDRESS_IN_USE.test(await logTail(apiserver.logFile, 50))) continue;
      throw e;
    }
  }
}

/** kube-controller-manager as kubeadm runs it: its own user, one service account per controller. */
export async function startControllerManager(
  c: ClusterProcesses,
  bins: KubeBinaries,
  saKeyFile = join(c.dir, 'pki', 'sa.key'),
): Promise<Child> {
  // the user the bootstrap RBAC policy grants system:kube-controller-manager to
  const cert = await makeClientCert(c.ca, 'system:kube-controller-manager', [], 'controller-manager');
  const kubeconfig = join(c.dir, 'controller-manager.kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigYaml([
      {
        name: c.name,
        cluster: { name: c.name, url: c.url, caPem: c.caPem },
        user: { name: 'kube-controller-manager', ...cert },
      },
    ]),
    { mode: 0o600 },
  );
  return startChild(
    `kube-controller-manager ${c.name}`,
    bins.controllerManager,
    [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0', // nothing scrapes it; saves a port and a self-signed certificate
      '--use-service-account-credentials=true', // each controller acts with its own RBAC role, as in kubeadm clusters
      `--service-account-private-key-file=${saKeyFile}`,
      `--root-ca-file=${c.ca.certFile}`, // published as ConfigMap kube-root-ca.crt in every namespace
      `--cluster-signing-cert-file=${c.ca.certFile}`,
      `--cluster-signing-key-file=${c.ca.keyFile}`, // CSRs get signed, as in kubeadm
      `--cluster-name=${c.name}`,
      // client-go's default 20 QPS throttles the start-up (a service account and a token per
      // controller, then every informer's list): ~5 s to a running service-account controller
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--profiling=false',
    ],
    join(c.dir, 'kube-controller-manager.log'),
  );
}

/** Wait until the controller-manager has made the default ServiceAccount: its controllers run. */
export async function waitControllers(c: ClusterProcesses, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kcm = c.controllerManager;
  while (Date.now() < deadline) {
    if (kcm?.hasExited())
      throw new Error(
        `kube: kube-controller-manager of cluster ${c.name} exited (${await kcm.exited}); its log ends:\n${await logTail(kcm.logFile)}`,
      );
    const r = await kubeRequest(c.admin, 'GET', '/api/v1/namespaces/default/serviceaccounts/default').catch(
      () => undefined,
    );
    if (r?.status === 200) return;
    await sleep(100);
  }
  throw new Error(
    `kube: kube-controller-manager of cluster ${c.name} made no default ServiceAccount within ${timeoutMs} ms; its log ends:\n${kcm ? await logTail(kcm.logFile) : '(not started)'}`,
  );
}
