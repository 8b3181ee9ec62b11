// `npm pack` of a clone of the working tree (prepack builds the bundles there), then the
// tarball installed globally into a clean prefix from a folder with no repository around,
// offline: kubectl-mesh_cert and mesh-cert-webhook run, the webhook serves and says its version.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildableCopy, cleanup, kubectlOnlyBin, REPO, run, servingCert, tmp } from './helpers.js';

interface PackJson {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
let dir: string;
let pack: PackJson;
let tgz: string;
let prefix: string;

describe('npm pack and npm i -g', () => {
  beforeAll(() => {
    dir = tmp('pack');
    const src = join(dir, 'src');
    buildableCopy(src);
    const t0 = Date.now();
    const r = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: src });
    // prepack's output goes to stdout before the JSON
    pack = (JSON.parse(r.stdout.slice(r.stdout.indexOf('[\n'))) as PackJson[])[0];
    tgz = join(dir, pack.filename);
    process.stdout.write(
      `npm pack: ${pack.filename} ${(statSync(tgz).size / 1e6).toFixed(2)} MB packed, ${(pack.unpackedSize / 1e6).toFixed(1)} MB unpacked, ${pack.entryCount} files, ${((Date.now() - t0) / 1000).toFixed(0)} s (prepack build included)\n`,
    );
  }, 600_000);
  afterAll(() => cleanup(dir));

  it('packs the bundles, the CRDs and the manifests, and nothing test-only', () => {
    const files = pack.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'README.md',
      'plugin/bin/kubectl-mesh_cert',
      'plugin/dist/index.js',
      'webhook/bin/mesh-cert-webhook',
      'webhook/dist/main.js',
      'manifests/kustomization.yaml',
      'manifests/webhook/deployment.yaml',
      'manifests/helm/mesh-cert/Chart.yaml',
      'manifests/helm/mesh-cert/values.yaml',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^manifests\/crds\/.*\.yaml$/.test(f))).toHaveLength(5);
    expect(files.filter((f) => /^plugin\/dist\/chunks\/.*\.js$/.test(f)).length).toBeGreaterThan(5);
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|schemas|\.ci|node_modules)\//.test(f) ||
        /^(plugin|webhook)\/(src|release)\//.test(f) ||
        /\.(map|ts|tmp|log)$/.test(f) ||
        /(^|\/)(build\.mjs|Dockerfile|gen-certs\.sh|tsconfig\.json|package-lock\.json)$/.test(f),
    );
    expect(unwanted).toEqual([]);
    // every chunk the entry can load is in the package (a clean build: no chunks of older builds)
    const index = readFileSync(join(dir, 'src', 'plugin/dist/index.js'), 'utf8');
    for (const m of index.matchAll(/["']\.\/(chunks\/[^"']+\.js)["']/g)) expect(files).toContain(`plugin/dist/${m[1]}`);
  });

  it('declares no runtime dependency: the bundles hold all they need', () => {
    const pj = JSON.parse(run('tar', ['-xzOf', tgz, 'package/package.json']).stdout) as {
      dependencies?: object;
      private?: boolean;
      version: string;
    };
    expect(pj.dependencies ?? {}).toEqual({});
    expect(pj.private).toBeUndefined();
    expect(pj.version).toBe(version);
  });

  it('installs globally into a clean prefix, offline, away from the repository, and both commands run', () => {
    prefix = join(dir, 'prefix');
    const away = join(dir, 'elsewhere');
    mkdirSync(away);
    const env = { ...process.env, npm_config_prefix: undefined, NODE_PATH: undefined };
    run('npm', ['i', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tgz], { cwd: away, env });
    const pkgDir = join(prefix, 'lib', 'node_modules', 'mesh-cert');
    expect(statSync(pkgDir).isDirectory()).toBe(true);
    // nothing but the package itself was installed
    expect(() => statSync(join(pkgDir, 'node_modules'))).toThrow();
    const bin = join(prefix, 'bin');
    const help = run(join(bin, 'kubectl-mesh_cert'), ['--help'], { cwd: away }).stdout;
    expect(help).toContain('kubectl mesh-cert');
    expect(help).toMatch(/version\s/);
    expect(run(join(bin, 'kubectl-mesh_cert'), ['version'], { cwd: away }).stdout).toContain(
      `Client: mesh-cert ${version} (node ${process.version}`,
    );
    expect(run(join(bin, 'mesh-cert-webhook'), ['--version'], { cwd: away }).stdout).toBe(
      `mesh-cert-webhook ${version}\n`,
    );
    // as kubectl finds it
    const path = `${kubectlOnlyBin(dir)}:${bin}:${process.env.PATH}`;
    expect(
      run('kubectl', ['mesh-cert', 'version', '-o', 'json'], { cwd: away, env: { ...process.env, PATH: path } }).stdout,
    ).toContain(`"version": "${version}"`);
  });

  it('the installed webhook serves and its mesh_cert_webhook_build_info says its version', async () => {
    const { cert, key } = servingCert(dir);
    const child = spawn(
      join(prefix, 'bin', 'mesh-cert-webhook'),
      [
        '--port',
        '0',
        '--health-port',
        '0',
        '--tls-cert-file',
        cert,
        '--tls-private-key-file',
        key,
        '--log-level',
        'warn',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      const healthUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the webhook did not start in 30 s: ${out}`)), 30_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /health and metrics on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.stderr.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the webhook exited ${code}: ${out}`));
        });
      });
      const metrics = await (await fetch(`${healthUrl}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(
          `^mesh_cert_webhook_build_info\\{version="${version.replace(/\./g, '\\.')}",node_version="${process.version}"\\} 1$`,
          'm',
        ),
      );
    } finally {
      child.kill('SIGKILL');
    }
  });
});
