// One version for everything mesh-cert ships: package.json's. The release, the chart and the
// kustomize manifests must agree with it; `npm run release` refuses to run when they do not, and
// test/install/versions.test.ts checks it on every test run.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** package.json's version, e.g. "0.1.0". */
export function packageVersion(root = ROOT) {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
}

/** Every place that names the version, with what it says. */
export function versionSites(root = ROOT) {
  const read = (p) => readFileSync(join(root, p), 'utf8');
  const chart = read('manifests/helm/mesh-cert/Chart.yaml');
  const field = (text, key) => (new RegExp(`^${key}:\\s*["']?([^"'\\s]+)["']?\\s*$`, 'm').exec(text) ?? [])[1];
  const image = (/^\s*image:\s*\S+:([^\s"']+)\s*$/m.exec(read('manifests/webhook/deployment.yaml')) ?? [])[1];
  return [
    { site: 'package.json version', value: packageVersion(root) },
    { site: 'manifests/helm/mesh-cert/Chart.yaml version', value: field(chart, 'version') },
    { site: 'manifests/helm/mesh-cert/Chart.yaml appVersion', value: field(chart, 'appVersion') },
    { site: 'manifests/webhook/deployment.yaml image tag', value: image },
  ];
}

/** The sites that disagree with package.json, as sentences; empty when all agree. */
export function versionMismatches(root = ROOT) {
  const want = packageVersion(root);
  return versionSites(root)
    .filter((s) => s.value !== want)
    .map((s) => `${s.site} is ${JSON.stringify(s.value ?? null)}, package.json says ${want}`);
}
