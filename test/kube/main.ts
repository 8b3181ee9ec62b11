// `npm run kube -- --clusters mgmt,cluster1,cluster2 --kubeconfig FILE [--no-crds] [--crd-dir DIR]`
// The real-control-plane twin of `npm run sandbox`: builds the binaries first if they are
// missing (needs Go; see README.md), then runs until SIGINT/SIGTERM.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBinaries } from './ensure.js';
import { startKube, type Kube } from './index.js';
import { KUBE_RELEASE } from './release.js';

const USAGE = 'usage: npm run kube -- --clusters NAME[,NAME...] --kubeconfig FILE [--no-crds] [--crd-dir DIR]';

async function main(): Promise<void> {
  let values: { clusters?: string; kubeconfig?: string; 'no-crds'?: boolean; 'crd-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        clusters: { type: 'string' },
        kubeconfig: { type: 'string' },
        'no-crds': { type: 'boolean' },
        'crd-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`kube: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.clusters) {
    process.stderr.write(`kube: --clusters is required (e.g. --clusters mgmt,cluster1,cluster2)\n${USAGE}\n`);
    process.exit(2);
  }
  if (!values.kubeconfig) {
    process.stderr.write(`kube: --kubeconfig is required (the file to write the contexts to)\n${USAGE}\n`);
    process.exit(2);
  }
  const clusters = values.clusters
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const kubeconfigPath = resolve(values.kubeconfig);

  let kube: Kube | undefined;
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`kube: ${why}, stopping\n`);
    (kube ? kube.stop() : Promise.resolve()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // `npm run` and tsx put processes between the shell and us: if the one above us dies without
  // passing a signal on, we notice the new parent and stop rather than run on unseen
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('parent process gone');
  }, 1000).unref();

  const t0 = Date.now();
  try {
    const binaries = await ensureBinaries({ log: (l) => process.stderr.write(`${l}\n`) });
    if (stopping) return;
    kube = await startKube({ clusters, kubeconfigPath, crds: !values['no-crds'], crdDir: values['crd-dir'], binaries });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  if (stopping) {
    await kube.stop();
    return;
  }
  for (const c of kube.clusters.values())
    process.stdout.write(`cluster ${c.name}: ${c.url} (kube-apiserver pid ${c.pids.apiserver})\n`);
  process.stdout.write(
    `kube ${KUBE_RELEASE} ready: ${clusters.length} cluster(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s; export KUBECONFIG=${kubeconfigPath}\n`,
  );
}

void main();
