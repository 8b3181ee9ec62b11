// `npm run release` (plugin/release/release.mjs): the plugin as a Node single-executable binary
// for linux-x64, its .tar.gz and SHA-256, a krew manifest; then the real krew (test/krew:
// sigs.k8s.io/krew) installs it from the archive into a temporary KREW_ROOT, and kubectl finds
// `mesh-cert` on a PATH without node, including against a real control plane.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKrew } from '../krew/ensure.js';
import { startKube, type Kube } from '../kube/index.js';
import { cleanup, kubectlOnlyBin, REPO, run, tmp } from './helpers.js';

type Obj = any;
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const krew = findKrew();
const ARCHIVE = `kubectl-mesh_cert-v${version}-linux-amd64.tar.gz`;

describe('the single binary and krew', () => {
  let dir: string;
  let out: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    dir = tmp('krew');
    out = join(dir, 'release');
    const t0 = Date.now();
    const r = run(
      process.execPath,
      [join(REPO, 'plugin/release/release.mjs'), '--out', out, '--base-url', 'https://example.invalid/releases'],
      { cwd: REPO },
    );
    process.stdout.write(`npm run release: ${((Date.now() - t0) / 1000).toFixed(0)} s\n${r.stderr}`);
    // kubectl and the krew plugin, the plugins krew installs; no node on this PATH
    const krewBin = join(dir, 'krew-bin');
    mkdirSync(krewBin);
    symlinkSync(krew, join(krewBin, 'kubectl-krew'));
    const root = join(dir, 'krew-root');
    env = {
      HOME: dir,
      KREW_ROOT: root,
      KREW_NO_UPGRADE_CHECK: '1',
      PATH: [kubectlOnlyBin(dir), krewBin, join(root, 'bin')].join(':'),
    };
  }, 900_000);
  afterAll(() => cleanup(dir));

  it("writes the archive, its SHA-256 and a krew manifest in krew's format", () => {
    const sum = createHash('sha256')
      .update(readFileSync(join(out, ARCHIVE)))
      .digest('hex');
    expect(readFileSync(join(out, `${ARCHIVE}.sha256`), 'utf8')).toBe(`${sum}  ${ARCHIVE}\n`);
    expect(readFileSync(join(out, 'SHA256SUMS'), 'utf8')).toContain(`${sum}  ${ARCHIVE}\n`);
    expect(run('tar', ['-tzf', join(out, ARCHIVE)]).stdout).toBe('kubectl-mesh_cert\n');
    const m = parse(readFileSync(join(out, 'mesh-cert.yaml'), 'utf8')) as Obj;
    expect(m).toMatchObject({
      apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
      kind: 'Plugin',
      metadata: { name: 'mesh-cert' },
      spec: { version: `v${version}` },
    });
    expect(m.spec.platforms).toEqual([
      {
        selector: { matchLabels: { os: 'linux', arch: 'amd64' } },
        uri: `https://example.invalid/releases/${ARCHIVE}`,
        sha256: sum,
        bin: 'kubectl-mesh_cert',
        files: [{ from: 'kubectl-mesh_cert', to: '.' }],
      },
    ]);
    const rel = JSON.parse(readFileSync(join(out, 'release.json'), 'utf8')) as Obj;
    expect(rel.platforms).toHaveLength(1);
    expect(rel.platforms[0]).toMatchObject({ platform: 'linux-x64', tested: true, sha256: sum });
    process.stdout.write(
      `single binary: ${(rel.platforms[0].binaryBytes / 1e6).toFixed(1)} MB, archive ${(rel.platforms[0].archiveBytes / 1e6).toFixed(1)} MB\n`,
    );
  });

  it('the real krew installs it from the archive, and kubectl runs mesh-cert from PATH without node', () => {
    expect(run('kubectl', ['krew', 'version'], { env }).stdout).toMatch(/GitTag\s+v0\.4\.3/);
    const r = run(
      'kubectl',
      ['krew', 'install', `--manifest=${join(out, 'mesh-cert.yaml')}`, `--archive=${join(out, ARCHIVE)}`],
      { env, input: '' },
    );
    expect(r.stderr + r.stdout).toContain('Installed plugin: mesh-cert');
    // krew's receipt (`krew list` wants an index, which needs the network)
    expect(parse(readFileSync(join(env.KREW_ROOT!, 'receipts', 'mesh-cert.yaml'), 'utf8'))).toMatchObject({
      metadata: { name: 'mesh-cert' },
      spec: { version: `v${version}` },
    });
    expect(() => run('node', ['--version'], { env })).toThrow();
    const help = run('kubectl', ['mesh-cert', '--help'], { env }).stdout;
    expect(help).toContain('$ kubectl mesh-cert [COMMAND]');
    expect(help).toMatch(/^ {2}version\s/m);
    expect(run('kubectl', ['mesh-cert', 'version'], { env }).stdout).toBe(
      `Client: mesh-cert ${version} (node ${process.version}, linux/x64)\n`,
    );
  });

  describe('against a real control plane', () => {
    let kube: Kube;
    beforeAll(async () => {
      kube = await startKube({ clusters: ['c1'] });
    }, 180_000);
    afterAll(async () => {
      await kube?.stop();
    });

    it('the single binary reads the CRDs (client-node inside it works): version --context', () => {
      const v = JSON.parse(
        run('kubectl', ['mesh-cert', 'version', '--kubeconfig', kube.kubeconfigPath, '--context', 'c1', '-o', 'json'], {
          env,
        }).stdout,
      ) as Obj;
      expect(v.client.version).toBe(version);
      expect(v.server.context).toBe('c1');
      expect(v.server.apiServer).toMatch(/^v1\./);
      expect(v.server.crds).toHaveLength(5);
      for (const c of v.server.crds)
        expect(c).toMatchObject({ installed: true, owner: 'mesh-cert', match: 'identical' });
      expect(v.server.webhook).toMatchObject({ namespace: 'mesh-cert-system', pods: [], versions: [] });
    });
  });
});
