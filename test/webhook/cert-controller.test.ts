// The certificate controller's decisions (webhook/src/cert-controller/plan.ts) on a simulated
// clock, its flags, and the command line's refusals. What must hold at every step of a renewal:
// the serving certificate a write puts in the Secret is signed by a CA that was already in the
// bundle before that write (the API server trusts only what the configurations carried), so no
// call fails while replicas reload. On the real control plane: test/real/webhook-self-tls.test.ts.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createCa,
  createServingCertificate,
  keyMatches,
  signedBy,
} from '../../webhook/src/cert-controller/certificates.js';
import { durationMs, host, OptionError } from '../../webhook/src/cert-controller/options.js';
import { plan, splitBundle, type SecretData } from '../../webhook/src/cert-controller/plan.js';
import { REPO } from './helpers.js';

const HOSTS = [
  'mesh-cert-webhook',
  'mesh-cert-webhook.ns',
  'mesh-cert-webhook.ns.svc',
  'mesh-cert-webhook.ns.svc.cluster.local',
  '127.0.0.1',
];
const T0 = Date.parse('2030-01-01T00:00:00Z');
const opts = (now: number, promoteNext = false) => ({
  hosts: HOSTS,
  caLifetimeMs: 60_000,
  servingLifetimeMs: 30_000,
  caCommonName: 'mesh-cert-webhook-ca',
  now,
  promoteNext,
});

describe('plan: what the certificate Secret holds next', () => {
  it('fills an empty Secret: an ECDSA P-256 CA, the bundle of it, a serving certificate for the hosts signed by it', () => {
    const p = plan({}, opts(T0));
    expect(p.changes).toEqual(['made the CA', 'made the serving certificate']);
    const ca = new X509Certificate(p.data['ca.crt']!);
    const tls = new X509Certificate(p.data['tls.crt']!);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(tls.ca).toBe(false);
    expect(tls.subjectAltName).toBe(
      'DNS:mesh-cert-webhook, DNS:mesh-cert-webhook.ns, DNS:mesh-cert-webhook.ns.svc, DNS:mesh-cert-webhook.ns.svc.cluster.local, IP Address:127.0.0.1',
    );
    expect(tls.subject).toContain('CN=mesh-cert-webhook.ns.svc');
    expect(signedBy(p.data['tls.crt']!, p.data['ca.crt']!)).toBe(true);
    expect(keyMatches({ certPem: p.data['tls.crt']!, keyPem: p.data['tls.key']! })).toBe(true);
    expect(splitBundle(p.data['ca-bundle.crt'])).toEqual([p.data['ca.crt']]);
    expect(plan(p.data, opts(T0 + 1_000)).changes).toEqual([]);
  });

  it('across two CA lives, every serving certificate it writes chains to a CA the bundle already held', () => {
    let data: SecretData = plan({}, opts(T0)).data;
    let trustedBundle = splitBundle(data['ca-bundle.crt']);
    let nextSeen: string | undefined;
    const seen = { serving: 1, cas: new Set([data['ca.crt']]), bundleOfTwo: false };
    for (let now = T0 + 1_000; now < T0 + 130_000; now += 1_000) {
      // the controller promotes a next CA once both configurations have carried it a while
      const p = plan(data, opts(now, nextSeen !== undefined && nextSeen === data['ca-next.crt']));
      nextSeen = data['ca-next.crt'];
      if (p.data['tls.crt'] !== data['tls.crt']) {
        seen.serving++;
        expect(
          trustedBundle.some((ca) => signedBy(p.data['tls.crt']!, ca)),
          `serving certificate written at +${now - T0} ms`,
        ).toBe(true);
      }
      expect(Date.parse(new X509Certificate(p.data['tls.crt']!).validTo)).toBeGreaterThan(now);
      data = p.data;
      // then the configurations get the new bundle
      trustedBundle = splitBundle(data['ca-bundle.crt']);
      seen.cas.add(data['ca.crt']);
      if (trustedBundle.length === 2) seen.bundleOfTwo = true;
    }
    expect(seen.serving).toBeGreaterThanOrEqual(5);
    // a CA every 40 s or so (2/3 of 60 s, and the promotion)
    expect(seen.cas.size).toBe(4);
    expect(seen.bundleOfTwo).toBe(true);
  });

  it('renews the serving certificate at 2/3 of its life, and the CA in two steps', () => {
    const first = plan({}, opts(T0)).data;
    expect(plan(first, opts(T0 + 15_000)).changes).toEqual([]);
    const renewed = plan(first, opts(T0 + 20_000));
    expect(renewed.changes).toEqual(['serving certificate renewal (2/3 of its life)']);
    expect(renewed.data['ca.crt']).toBe(first['ca.crt']);
    // the CA at 2/3 of its life: a next CA joins the bundle; nothing is signed by it yet
    const next = plan(renewed.data, opts(T0 + 39_000));
    expect(next.changes).toEqual(['CA renewal: made the next CA and added it to the bundle']);
    expect(splitBundle(next.data['ca-bundle.crt'])).toEqual([first['ca.crt'], next.data['ca-next.crt']]);
    expect(next.data['tls.crt']).toBe(renewed.data['tls.crt']);
    // not promoted until the controller says the API server trusts it
    expect(plan(next.data, opts(T0 + 39_100)).changes).toEqual([]);
    const promoted = plan(next.data, opts(T0 + 41_000, true));
    expect(promoted.changes).toEqual([
      'CA renewal: the next CA, trusted by the API server, takes over',
      'the serving certificate is not signed by the current CA: made a new one',
    ]);
    expect(promoted.data['ca.crt']).toBe(next.data['ca-next.crt']);
    expect(promoted.data['ca-next.crt']).toBeUndefined();
    expect(splitBundle(promoted.data['ca-bundle.crt'])).toEqual([next.data['ca-next.crt'], first['ca.crt']]);
    // the old CA leaves the bundle when it expires
    const dropped = plan(promoted.data, opts(T0 + 61_000));
    expect(splitBundle(dropped.data['ca-bundle.crt'])).toEqual([promoted.data['ca.crt']]);
  });

  it('replaces what does not hold together: a serving key of another certificate, other hosts, an expired CA', () => {
    const first = plan({}, opts(T0)).data;
    const other = createServingCertificate({
      ca: createCa({ commonName: 'x', lifetimeMs: 60_000, now: T0 }),
      hosts: ['x'],
      lifetimeMs: 30_000,
      now: T0,
    });
    expect(plan({ ...first, 'tls.key': other.keyPem }, opts(T0 + 1_000)).changes).toEqual([
      'made the serving certificate',
    ]);
    expect(plan(first, { ...opts(T0 + 1_000), hosts: ['elsewhere.svc'] }).changes).toEqual([
      'the serving certificate does not name the configured hosts: made a new one',
    ]);
    expect(plan({ ...first, 'tls.crt': other.certPem, 'tls.key': other.keyPem }, opts(T0 + 1_000)).changes).toEqual([
      'the serving certificate is not signed by the current CA: made a new one',
    ]);
    const late = plan(first, opts(T0 + 120_000));
    expect(late.changes[0]).toBe('the CA is expired or unusable: made a new one');
    expect(splitBundle(late.data['ca-bundle.crt'])).toEqual([late.data['ca.crt']]);
  });
});

describe('the certificate flags', () => {
  it('reads durations and hosts, and names the flag and what it expects otherwise', () => {
    expect(durationMs('--ca-lifetime', '87600h', '1s')).toBe(87_600 * 3_600_000);
    expect(durationMs('--x', undefined, '40s')).toBe(40_000);
    expect(durationMs('--x', '365d', '1s')).toBe(365 * 86_400_000);
    for (const bad of ['10', '1y', '-5s', '0s', '1.5h']) {
      expect(() => durationMs('--serving-cert-lifetime', bad, '1s')).toThrow(
        new OptionError(
          `--serving-cert-lifetime: expected a duration such as 40s, 90m, 8760h or 365d (more than 0, at most 100 years), got ${JSON.stringify(bad)}`,
        ),
      );
    }
    expect(host('--tls-san', '127.0.0.1')).toBe('127.0.0.1');
    expect(host('--tls-san', 'Webhook.Example.com')).toBe('webhook.example.com');
    expect(() => host('--tls-san', 'not a host')).toThrow(
      '--tls-san: expected a DNS name or an IP address, got "not a host"',
    );
  });
});

describe('mesh-cert-webhook --tls-mode', () => {
  const main = (args: string[]): Promise<{ code: number; stderr: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(REPO, 'webhook/src/main.ts'), ...args],
        { env: { ...process.env, KUBERNETES_SERVICE_HOST: '' }, timeout: 60_000 },
        (err, _stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }),
      );
    });

  it('refuses an unknown mode, files with self, and self without a cluster, each in one sentence', async () => {
    const [unknown, both, noCluster, badLife] = await Promise.all([
      main(['--tls-mode', 'auto']),
      main(['--tls-mode', 'self', '--tls-cert-file', 'c']),
      main(['--tls-mode', 'self']),
      main([
        '--tls-mode',
        'self',
        '--kubeconfig',
        '/nonexistent',
        '--namespace',
        'ns',
        '--serving-cert-lifetime',
        '2y',
      ]),
    ]);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain('--tls-mode: expected files or self, got "auto"');
    expect(both.stderr).toContain(
      '--tls-cert-file and --tls-private-key-file: not with --tls-mode self, which keeps its certificate in a Secret',
    );
    expect(noCluster).toMatchObject({ code: 2 });
    expect(noCluster.stderr).toContain(
      "--tls-mode self: needs a cluster: --kubeconfig FILE, or a pod's service account",
    );
    expect(badLife.stderr).toContain('--serving-cert-lifetime: expected a duration such as 40s');
  });
});
