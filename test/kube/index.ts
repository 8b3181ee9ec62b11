// A real control plane as a library: per named cluster one kube-apiserver and one
// kube-controller-manager of the pinned release (release.json), all on one etcd, on 127.0.0.1.
// Same options and return shape as startSandbox (test/sandbox/index.ts) where they apply.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CRD_DIR, readCrds } from '../sandbox/index.js';
import { findBinaries, type KubeBinaries } from './binaries.js';
import { startApiserver, startControllerManager, waitControllers, type ClusterProcesses } from './cluster.js';
import { installCrds } from './crds.js';
import { startEtcd, type Etcd } from './etcd.js';
import { kubeconfigYaml, type KubeconfigContext } from './kubeconfig.js';
import { makeClientCert } from './pki.js';
import type { Child } from './process.js';
import { KUBE_RELEASE } from './release.js';
import { makeLaunchDir, removeNow } from './launch-dir.js';

export { KUBE_RELEASE } from './release.js';
export { findBinaries, type KubeBinaries } from './binaries.js';
export { deathTied } from './process.js';

export interface KubeOptions {
  clusters: string[];
  kubeconfigPath?: string;
  /** default true: install manifests/crds/*.yaml and wait until they are Established */
  crds?: boolean;
  crdDir?: string;
  /** default: KUBEBUILDER_ASSETS or the ensure.ts cache (never builds: run ensure.ts first) */
  binaries?: KubeBinaries;
  /** per process start-up limit, default 90 s (three apiservers on two cores start in ~10 s) */
  timeoutMs?: number;
  /** default true: wait until each controller-manager runs (it has made the default ServiceAccount) */
  waitForControllers?: boolean;
  /** extra kube-apiserver flags for every cluster, e.g. ['--feature-gates=X=true'] */
  apiserverArgs?: string[];
}

export interface KubeCluster {
  name: string;
  /** https://127.0.0.1:PORT */
  url: string;
  /** the cluster CA: it signed the serving certificate and signs client certificates (--client-ca-file) */
  caPem: string;
  /** the admin user's client certificate (CN=admin, O=system:masters) */
  certPem: string;
  keyPem: string;
  /** this cluster's keys in the shared etcd */
  etcdPrefix: string;
  pids: { apiserver: number; controllerManager: number };
  /** kube-apiserver's log file (removed by stop()) */
  apiserverLog: string;
}

export interface MintUserOptions {
  cluster: string;
  /** user name (certificate CN) */
  user: string;
  /** groups (certificate O, one each) */
  groups?: string[];
  /** where to write the kubeconfig; default a file in the launch's temporary folder */
  kubeconfigPath?: string;
  namespace?: string;
}

export interface KubeUser {
  user: string;
  groups: string[];
  /** a kubeconfig holding only this user's context */
  kubeconfigPath: string;
  /** "<user>@<cluster>" */
  context: string;
  certPem: string;
  keyPem: string;
}

export interface Kube {
  release: string;
  /** the launch's temporary folder (certificates, etcd data, logs), removed by stop() */
  dir: string;
  kubeconfigPath: string;
  clusters: Map<string, KubeCluster>;
  etcd: { url: string; pid: number };
  binaries: KubeBinaries;
  /** a client-certificate user signed by the cluster's CA, for RBAC tests: no permission until you bind one */
  mintUser(opts: MintUserOptions): Promise<KubeUser>;
  /** every process stopped (SIGTERM, then SIGKILL after 5 s), the temporary folder removed */
  stop(): Promise<void>;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function adminContext(c: ClusterProcesses): KubeconfigContext {
  return {
    name: c.name,
    cluster: { name: c.name, url: c.url, caPem: c.caPem },
    user: { name: `${c.name}-admin`, certPem: c.admin.certPem, keyPem: c.admin.keyPem },
  };
}

export async function startKube(opts: KubeOptions): Promise<Kube> {
  if (!opts.clusters.length) throw new Error('startKube: at least one cluster name is required');
  const dup = opts.clusters.find((c, i) => opts.clusters.indexOf(c) !== i);
  if (dup) throw new Error(`startKube: cluster name "${dup}" given twice`);
  const bad = opts.clusters.find((c) => !NAME.test(c));
  if (bad !== undefined)
    throw new Error(`startKube: cluster name "${bad}" must be a lowercase RFC 1123 label (e.g. mgmt, cluster1)`);
  const bins = opts.binaries ?? findBinaries();
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const crds = opts.crds === false ? [] : await readCrds(opts.crdDir ?? DEFAULT_CRD_DIR);

  const dir = await makeLaunchDir();
  const children: Child[] = [];
  // a launcher that exits without stop() (a crashed test) still takes its processes and files along
  const onExit = (): void => {
    for (const c of children) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    removeNow(dir);
  };
  process.on('exit', onExit);
  const stopAll = async (): Promise<void> => {
    // apiservers and controller-managers first, etcd (children[0]) last, so nothing logs etcd errors on the way out
    await Promise.all(children.slice(1).map((c) => c.stop()));
    await children[0]?.stop();
    process.off('exit', onExit);
    removeNow(dir);
  };

  try {
    const etcd: Etcd = await startEtcd(bins.etcd, join(dir, 'etcd'), timeoutMs);
    children.push(etcd.child);
    // allSettled: a cluster that fails must not leave its siblings starting after stopAll has run
    const settled = await Promise.allSettled(
      opts.clusters.map(async (name) => {
        const cdir = join(dir, name);
        await mkdir(cdir, { recursive: true });
        const c = await startApiserver({
          name,
          dir: cdir,
          bins,
          etcdUrl: etcd.url,
          timeoutMs,
          apiserverArgs: opts.apiserverArgs,
        });
        children.push(c.apiserver);
        c.controllerManager = await startControllerManager(c, bins);
        children.push(c.controllerManager);
        await Promise.all([
          crds.length ? installCrds(c.admin, crds, name, timeoutMs) : undefined,
          opts.waitForControllers === false ? undefined : waitControllers(c, timeoutMs),
        ]);
        return c;
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const procs = settled.map((r) => (r as PromiseFulfilledResult<ClusterProcesses>).value);

    const kubeconfigPath = opts.kubeconfigPath ?? join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(procs.map(adminContext)), { mode: 0o600 });
    const byName = new Map(procs.map((c) => [c.name, c]));
    const clusters = new Map<string, KubeCluster>(
      procs.map((c) => [
        c.name,
        {
          name: c.name,
          url: c.url,
          caPem: c.caPem,
          certPem: c.admin.certPem,
          keyPem: c.admin.keyPem,
          etcdPrefix: c.etcdPrefix,
          pids: { apiserver: c.apiserver.pid, controllerManager: c.controllerManager?.pid ?? 0 },
          apiserverLog: c.apiserver.logFile,
        },
      ]),
    );
    let users = 0;
    return {
      release: KUBE_RELEASE,
      dir,
      kubeconfigPath,
      clusters,
      binaries: bins,
      etcd: { url: etcd.url, pid: etcd.child.pid },
      async mintUser(u: MintUserOptions): Promise<KubeUser> {
        const c = byName.get(u.cluster);
        if (!c) throw new Error(`mintUser: no cluster "${u.cluster}" (have ${[...byName.keys()].join(', ')})`);
        const groups = u.groups ?? [];
        const cert = await makeClientCert(c.ca, u.user, groups);
        const context = `${u.user}@${c.name}`;
        const path = u.kubeconfigPath ?? join(dir, `user-${++users}.kubeconfig`);
        await writeFile(
          path,
          kubeconfigYaml([
            {
              name: context,
              namespace: u.namespace,
              cluster: { name: c.name, url: c.url, caPem: c.caPem },
              user: { name: context, certPem: cert.certPem, keyPem: cert.keyPem },
            },
          ]),
          { mode: 0o600 },
        );
        return { user: u.user, groups, kubeconfigPath: path, context, certPem: cert.certPem, keyPem: cert.keyPem };
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
