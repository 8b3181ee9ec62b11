// `npm run sandbox -- --clusters mgmt,cluster1,cluster2 --kubeconfig FILE [--no-crds] [--crd-dir DIR]`
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startSandbox } from './index.js';

const USAGE =
  'usage: npm run sandbox -- --clusters NAME[,NAME...] --kubeconfig FILE [--no-crds] [--crd-dir DIR] [--service NAMESPACE/NAME=PORT ...] [--replace-pods]';

async function main(): Promise<void> {
  let values: {
    clusters?: string;
    kubeconfig?: string;
    'no-crds'?: boolean;
    'crd-dir'?: string;
    service?: string[];
    'replace-pods'?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        clusters: { type: 'string' },
        kubeconfig: { type: 'string' },
        'no-crds': { type: 'boolean' },
        'crd-dir': { type: 'string' },
        service: { type: 'string', multiple: true },
        'replace-pods': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`sandbox: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.clusters) {
    process.stderr.write(`sandbox: --clusters is required (e.g. --clusters mgmt,cluster1,cluster2)\n${USAGE}\n`);
    process.exit(2);
  }
  if (!values.kubeconfig) {
    process.stderr.write(`sandbox: --kubeconfig is required (the file to write the contexts to)\n${USAGE}\n`);
    process.exit(2);
  }
  const clusters = values.clusters
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const kubeconfigPath = resolve(values.kubeconfig);
  const services: Record<string, number> = {};
  for (const s of values.service ?? []) {
    const m = /^([a-z0-9-]+)\/([a-z0-9-]+)=(\d+)$/.exec(s);
    if (!m) {
      process.stderr.write(
        `sandbox: --service ${s}: expected NAMESPACE/NAME=PORT (e.g. mesh-cert-system/mesh-cert-webhook=8443)\n`,
      );
      process.exit(2);
    }
    services[`${m[1]}/${m[2]}`] = Number(m[3]);
  }
  let sandbox;
  try {
    sandbox = await startSandbox({
      clusters,
      kubeconfigPath,
      crds: !values['no-crds'],
      crdDir: values['crd-dir'],
      services,
      replaceDeletedPods: !!values['replace-pods'],
    });
  } catch (e) {
    process.stderr.write(`sandbox: ${(e as Error).message}\n`);
    process.exit(1);
  }
  for (const c of sandbox.clusters.values()) process.stdout.write(`cluster ${c.name}: ${c.url}\n`);
  process.stdout.write(`sandbox ready: ${clusters.length} cluster(s); export KUBECONFIG=${kubeconfigPath}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`sandbox: ${signal}, stopping\n`);
    sandbox.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
