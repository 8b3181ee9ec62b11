// The Helm chart (manifests/helm/mesh-cert) and the kustomize manifests share one source: the
// CRDs are manifests/crds, copied here into the chart's files/crds (a chart cannot reach outside
// its folder), and the webhook's templates render the same objects as manifests/webhook for the
// default values, which test/install/helm.test.ts checks with the real helm and kubectl.
//
//   node plugin/release/chart.mjs           copy manifests/crds into the chart
//   node plugin/release/chart.mjs --check   exit 1, naming the files, when the copy is stale
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './versions.mjs';

export const CHART = join(ROOT, 'manifests', 'helm', 'mesh-cert');
const SRC = join(ROOT, 'manifests', 'crds');
const DST = join(CHART, 'files', 'crds');

const yamls = (dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
    : [];

/** Differences between manifests/crds and the chart's copy, as sentences. */
export function staleCrds() {
  const src = yamls(SRC);
  const dst = yamls(DST);
  const out = [];
  for (const f of src) {
    if (!dst.includes(f)) out.push(`${f} is missing from the chart`);
    else if (!readFileSync(join(SRC, f)).equals(readFileSync(join(DST, f))))
      out.push(`${f} differs from manifests/crds/${f}`);
  }
  for (const f of dst) if (!src.includes(f)) out.push(`${f} is in the chart but not in manifests/crds`);
  return out;
}

export function syncCrds() {
  mkdirSync(DST, { recursive: true });
  for (const f of yamls(DST)) if (!yamls(SRC).includes(f)) rmSync(join(DST, f));
  for (const f of yamls(SRC)) copyFileSync(join(SRC, f), join(DST, f));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = staleCrds();
    if (stale.length) {
      process.stderr.write(
        `the chart's CRDs are stale (run node plugin/release/chart.mjs):\n  ${stale.join('\n  ')}\n`,
      );
      process.exit(1);
    }
  } else syncCrds();
}
