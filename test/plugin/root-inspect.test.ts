// `root create` and `inspect secret` on each backend (the sandbox, then the real control plane),
// through the real kubectl, with openssl as the independent judge of every certificate written.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import {
  apply,
  b64,
  buildPlugin,
  kubectl,
  kubectlMeshCert,
  opensslFingerprint,
  opensslVerify,
  privateKeyBlocks,
  tempDir,
  unb64,
  writeFile,
} from './helpers.js';

let world: Backend;
let env: Record<string, string>;
let dir: string;

for (const backend of BACKENDS) {
  describe(backend, () => {
    beforeAll(async () => {
      buildPlugin();
      world = await startBackend(backend, ['mgmt', 'east']);
      env = { KUBECONFIG: world.kubeconfigPath };
      dir = tempDir();
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await world?.stop();
    });

    async function secretData(context: string, ns: string, name: string): Promise<Record<string, string>> {
      const s = JSON.parse(
        await kubectl(world.kubeconfigPath, context, ['get', 'secret', name, '-n', ns, '-o', 'json']),
      ) as { data: Record<string, string> };
      return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, unb64(v)]));
    }

    async function secretExists(context: string, ns: string, name: string): Promise<boolean> {
      try {
        await kubectl(world.kubeconfigPath, context, ['get', 'secret', name, '-n', ns]);
        return true;
      } catch {
        return false;
      }
    }

    /** A root and an intermediate made by the openssl CLI, as an operator would bring them. */
    function opensslCa(sub: string): { dir: string; rootCert: string; caCert: string; caKey: string } {
      const d = join(dir, sub);
      mkdirSync(d, { recursive: true });
      const run = (...args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
      run(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'root.key',
        '-out',
        'root-cert.pem',
        '-days',
        '400',
        '-subj',
        '/O=acme/CN=acme root',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      );
      run(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca-key.pem',
        '-out',
        'ca.csr',
        '-subj',
        '/O=acme/CN=acme intermediate',
      );
      writeFile(
        d,
        'ext.cnf',
        'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n',
      );
      run(
        'x509',
        '-req',
        '-in',
        'ca.csr',
        '-CA',
        'root-cert.pem',
        '-CAkey',
        'root.key',
        '-CAcreateserial',
        '-out',
        'ca-cert.pem',
        '-days',
        '200',
        '-extfile',
        'ext.cnf',
      );
      execFileSync('rm', [join(d, 'root.key'), join(d, 'ca.csr'), join(d, 'ext.cnf')]);
      const read = (f: string) => execFileSync('cat', [join(d, f)], { encoding: 'utf8' });
      return { dir: d, rootCert: read('root-cert.pem'), caCert: read('ca-cert.pem'), caKey: read('ca-key.pem') };
    }

    describe('root create', () => {
      it('generates a self-signed root into the Istio layout that openssl verifies', async () => {
        const r = await kubectlMeshCert(
          [
            'root',
            'create',
            'gloo-mesh/root-ca',
            '--org',
            'acme',
            '--ttl-days',
            '400',
            '--key-size',
            '2048',
            '-o',
            'json',
          ],
          { env },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out).toMatchObject({
          cluster: 'mgmt',
          secret: { namespace: 'gloo-mesh', name: 'root-ca' },
          action: 'created',
          chainLength: 1,
          roots: 1,
        });
        expect(privateKeyBlocks(r.stdout)).toEqual([]);
        const d = await secretData('mgmt', 'gloo-mesh', 'root-ca');
        expect(Object.keys(d).sort()).toEqual([
          'ca-cert.pem',
          'ca-key.pem',
          'cert-chain.pem',
          'key.pem',
          'root-cert.pem',
        ]);
        expect(d['ca-cert.pem']).toBe(d['root-cert.pem']);
        // key.pem too, for Gloo Mesh's own issuer (its legacy layout)
        expect(d['key.pem']).toBe(d['ca-key.pem']);
        expect(opensslVerify(dir, d['ca-cert.pem'], d['root-cert.pem']).ok).toBe(true);
        expect(out.root.fingerprintSha256).toBe(opensslFingerprint(dir, d['root-cert.pem']));
        const text = execFileSync(
          'openssl',
          [
            'x509',
            '-noout',
            '-subject',
            '-enddate',
            '-ext',
            'basicConstraints,keyUsage',
            '-in',
            writeFile(dir, 'root.pem', d['root-cert.pem']),
          ],
          { encoding: 'utf8' },
        );
        expect(text).toMatch(/subject=O\s*=\s*acme, CN\s*=\s*acme root CA/);
        expect(text).toContain('CA:TRUE');
        expect(text).toContain('Certificate Sign');
        // The key is the certificate's, and 2048 bits.
        const mod = (args: string[], input: string) => execFileSync('openssl', args, { input, encoding: 'utf8' });
        expect(mod(['rsa', '-noout', '-modulus'], d['ca-key.pem'])).toBe(
          mod(['x509', '-noout', '-modulus'], d['ca-cert.pem']),
        );
        expect(mod(['rsa', '-noout', '-text'], d['ca-key.pem'])).toContain('2048 bit');
      });

      it('refuses to overwrite without --force, and replaces with it', async () => {
        const before = (await secretData('mgmt', 'gloo-mesh', 'root-ca'))['root-cert.pem'];
        const r = await kubectlMeshCert(['root', 'create', 'gloo-mesh/root-ca', '--key-size', '2048'], { env });
        expect(r.code).toBe(1);
        expect(r.stderr.trim()).toBe(
          'error: Secret gloo-mesh/root-ca already exists on cluster "mgmt": pass --force to overwrite it',
        );
        expect((await secretData('mgmt', 'gloo-mesh', 'root-ca'))['root-cert.pem']).toBe(before);
        const f = await kubectlMeshCert(['root', 'create', 'gloo-mesh/root-ca', '--key-size', '2048', '--force'], {
          env,
        });
        expect(f.code, f.stderr).toBe(0);
        expect(f.stdout).toContain('secret/root-ca replaced in namespace gloo-mesh on cluster mgmt');
        expect((await secretData('mgmt', 'gloo-mesh', 'root-ca'))['root-cert.pem']).not.toBe(before);
      });

      it('writes to --mgmt-context and prints -o name', async () => {
        const r = await kubectlMeshCert(
          ['root', 'create', 'gloo-mesh/east-root', '--key-size', '2048', '--mgmt-context', 'east', '-o', 'name'],
          { env },
        );
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('secret/east-root\n');
        expect(await secretExists('east', 'gloo-mesh', 'east-root')).toBe(true);
        expect(await secretExists('mgmt', 'gloo-mesh', 'east-root')).toBe(false);
      });

      it('imports an openssl-made intermediate with its chain from a directory', async () => {
        const ca = opensslCa('import-ok');
        const r = await kubectlMeshCert(
          ['root', 'create', 'gloo-mesh/imported', '--from-files', ca.dir, '-o', 'yaml'],
          { env },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('imported: true');
        expect(r.stdout).toContain('chainLength: 2');
        expect(privateKeyBlocks(r.stdout)).toEqual([]);
        const d = await secretData('mgmt', 'gloo-mesh', 'imported');
        expect(d['ca-cert.pem'].trim()).toBe(ca.caCert.trim());
        expect(d['root-cert.pem'].trim()).toBe(ca.rootCert.trim());
        expect(d['cert-chain.pem'].replace(/\s/g, '')).toBe((ca.caCert + ca.rootCert).replace(/\s/g, ''));
        expect(opensslVerify(dir, d['ca-cert.pem'], d['root-cert.pem']).ok).toBe(true);
      });

      it('imports from a comma list of files', async () => {
        const ca = opensslCa('import-list');
        const files = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem'].map((f) => join(ca.dir, f)).join(',');
        const r = await kubectlMeshCert(['root', 'create', 'gloo-mesh/imported-list', '--from-files', files], { env });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('chain:  2 certificate(s), 1 trusted root(s)');
      });

      it('refuses material that does not verify and writes nothing', async () => {
        const a = opensslCa('bad-a');
        const b = opensslCa('bad-b');
        // b's key with a's certificates: the key matches no certificate.
        const mismatch = [join(a.dir, 'ca-cert.pem'), join(a.dir, 'root-cert.pem'), join(b.dir, 'ca-key.pem')].join(
          ',',
        );
        const r1 = await kubectlMeshCert(['root', 'create', 'gloo-mesh/bad1', '--from-files', mismatch], { env });
        expect(r1.code).toBe(1);
        expect(r1.stderr.trim()).toBe(
          'error: --from-files: the private key in ca-key.pem matches none of the certificates',
        );
        // The intermediate without its root: the chain stops.
        const noRoot = [join(a.dir, 'ca-cert.pem'), join(a.dir, 'ca-key.pem')].join(',');
        const r2 = await kubectlMeshCert(['root', 'create', 'gloo-mesh/bad2', '--from-files', noRoot], { env });
        expect(r2.code).toBe(1);
        expect(r2.stderr).toMatch(
          /error: --from-files: the chain of .*acme intermediate stops: its issuer \(.*acme root\) is not among the files/,
        );
        const r3 = await kubectlMeshCert(['root', 'create', 'gloo-mesh/bad3', '--from-files', join(dir, 'nope')], {
          env,
        });
        expect(r3.code).toBe(1);
        expect(r3.stderr).toContain('no such file or directory');
        for (const n of ['bad1', 'bad2', 'bad3']) expect(await secretExists('mgmt', 'gloo-mesh', n)).toBe(false);
        for (const r of [r1, r2, r3]) expect(privateKeyBlocks(r.stderr + r.stdout)).toEqual([]);
      });
    });

    describe('inspect secret', () => {
      it('decodes and verifies a root Secret; JSON carries no key material', async () => {
        const r = await kubectlMeshCert(['inspect', 'secret', 'gloo-mesh/imported', '-o', 'json'], { env });
        expect(r.code).toBe(0);
        expect(privateKeyBlocks(r.stdout)).toEqual([]);
        const rep = JSON.parse(r.stdout);
        expect(rep).toMatchObject({ cluster: 'mgmt', namespace: 'gloo-mesh', name: 'imported', layout: 'istio' });
        const ca = rep.certificates.find((c: { source: string }) => c.source === 'ca-cert.pem');
        expect(ca).toMatchObject({ isCA: true, keyType: 'RSA', keyBits: 2048, selfSigned: false });
        expect(ca.subject).toContain('acme intermediate');
        expect(ca.fingerprintSha256).toBe(
          opensslFingerprint(dir, (await secretData('mgmt', 'gloo-mesh', 'imported'))['ca-cert.pem']),
        );
        expect(rep.privateKeys).toEqual([
          { source: 'ca-key.pem', keyType: 'RSA', keyBits: 2048, matchesCertificate: true },
        ]);
        const byName = Object.fromEntries(rep.checks.map((c: { name: string; ok: boolean | null }) => [c.name, c.ok]));
        expect(byName['signing Secret layout']).toBe(true);
        expect(byName['chain to root-cert.pem']).toBe(true);
        expect(byName['signed by the current root']).toBe(null);
      });

      it('tells whether the CA is signed by the current root (--root-secret)', async () => {
        const yes = await kubectlMeshCert(
          ['inspect', 'secret', 'gloo-mesh/imported', '--root-secret', 'gloo-mesh/imported', '-o', 'json'],
          { env },
        );
        expect(
          JSON.parse(yes.stdout).checks.find((c: { name: string }) => c.name === 'signed by the current root').ok,
        ).toBe(true);
        const no = await kubectlMeshCert(
          ['inspect', 'secret', 'gloo-mesh/imported', '--root-secret', 'gloo-mesh/root-ca'],
          { env },
        );
        expect(no.code).toBe(1);
        expect(no.stdout).toMatch(
          /✗ signed by the current root: does not chain to the root of Secret gloo-mesh\/root-ca on cluster mgmt/,
        );
      });

      it('renders a readable report', async () => {
        const r = await kubectlMeshCert(['inspect', 'secret', 'root-ca', '-n', 'gloo-mesh'], { env });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('Secret gloo-mesh/root-ca on cluster mgmt');
        expect(r.stdout).toMatch(/CA:\s+yes, no path length limit/);
        expect(r.stdout).toContain('✓ chain to root-cert.pem');
        expect(r.stdout).toContain('ca-key.pem: RSA 2048 bits, matches the CA certificate');
        expect(privateKeyBlocks(r.stdout)).toEqual([]);
      });

      it('fails clearly on a missing Secret and on a Secret in the wrong layout', async () => {
        const missing = await kubectlMeshCert(['inspect', 'secret', 'gloo-mesh/nothing-here'], { env });
        expect(missing.code).toBe(1);
        expect(missing.stderr.trim()).toBe('error: Secret gloo-mesh/nothing-here not found on cluster "mgmt"');
        await apply(world.kubeconfigPath, 'mgmt', {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'wrong', namespace: 'gloo-mesh' },
          data: { 'tls.pem': b64('hello') },
        });
        const wrong = await kubectlMeshCert(['inspect', 'secret', 'gloo-mesh/wrong'], { env });
        expect(wrong.code).toBe(1);
        expect(wrong.stdout).toContain('✗ known layout: keys tls.pem match no known layout');
        // ca-cert.pem and a key that does not match it.
        const a = opensslCa('layout-a');
        const b = opensslCa('layout-b');
        await apply(world.kubeconfigPath, 'mgmt', {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'mismatch', namespace: 'gloo-mesh' },
          data: {
            'ca-cert.pem': b64(a.caCert),
            'ca-key.pem': b64(b.caKey),
            'root-cert.pem': b64(a.rootCert),
            'cert-chain.pem': b64(a.caCert + a.rootCert),
          },
        });
        const mm = await kubectlMeshCert(['inspect', 'secret', 'gloo-mesh/mismatch', '-o', 'json'], { env });
        expect(mm.code).toBe(1);
        const rep = JSON.parse(mm.stdout);
        expect(rep.checks.find((c: { name: string }) => c.name === 'signing Secret layout').ok).toBe(false);
        expect(rep.privateKeys[0].matchesCertificate).toBe(false);
        expect(privateKeyBlocks(mm.stdout + mm.stderr)).toEqual([]);
      });

      it('looks in the cluster of --context', async () => {
        const r = await kubectlMeshCert(
          ['inspect', 'secret', 'gloo-mesh/east-root', '--context', 'east', '-o', 'json'],
          { env },
        );
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).cluster).toBe('east');
      });
    });
  });
}
