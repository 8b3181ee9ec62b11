// The server around the admission code: bad input, TLS (versions, reload on a Secret-style
// symlink swap, client certificates), health, readiness, metrics and what the logs may contain.
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebhookServer } from '../../webhook/src/server.js';
import { staticRotationCache, type RotationCache } from '../../webhook/src/rotation-cache.js';
import { certificateRequest, finishedStatus, issuedCertificate } from './fixtures.js';
import { genClientCert, genPki, genServingCert, post, review, startHarness, tmp, type Harness } from './helpers.js';

function peer(
  url: string,
  opts: { ca?: string; cert?: string; key?: string; maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' } = {},
): Promise<{ fingerprint: string; protocol: string | null }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(
      {
        host: u.hostname,
        port: Number(u.port),
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        minVersion: 'TLSv1',
        maxVersion: opts.maxVersion ?? 'TLSv1.3',
        // let the client offer old versions, so a refusal comes from the server
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      () => {
        const fingerprint = s.getPeerCertificate().fingerprint256;
        const protocol = s.getProtocol();
        // with TLS 1.3 a rejected client certificate surfaces after the handshake: read once
        s.write('GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        s.once('data', () => {
          s.destroy();
          resolve({ fingerprint, protocol });
        });
      },
    );
    s.on('error', reject);
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bad input gets HTTP 400 with a clear message, never a 5xx', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  const valid = () => review('IssuedCertificate', 'CREATE', issuedCertificate());

  it.each([
    ['not JSON', '{"apiVersion": "admission.k8s.io/v1", "kind": "Adm', 'not valid JSON'],
    ['empty', '', 'request body is empty'],
    ['a JSON array', '[1,2]', 'body is an array: expected an admission.k8s.io/v1 AdmissionReview'],
    ['a JSON string', '"review"', 'expected an admission.k8s.io/v1 AdmissionReview'],
    ['not an AdmissionReview', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), 'kind: Unsupported value: "Pod"'],
    [
      'admission.k8s.io/v1beta1',
      JSON.stringify({ ...valid(), apiVersion: 'admission.k8s.io/v1beta1' }),
      'apiVersion: Unsupported value: "admission.k8s.io/v1beta1"',
    ],
    [
      'no request',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      'request: Required value',
    ],
    [
      'no uid',
      JSON.stringify({ ...valid(), request: { ...valid().request, uid: undefined } }),
      'request.uid: Invalid value: missing',
    ],
    [
      'a numeric uid',
      JSON.stringify({ ...valid(), request: { ...valid().request, uid: 42 } }),
      'request.uid: Invalid value: number 42: expected a non-empty string',
    ],
  ])('%s', async (_name, body, message) => {
    for (const path of ['/mutate', '/validate']) {
      const r = await h.raw(path, body);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', code: 400, reason: 'BadRequest' });
      expect(r.json.message).toContain(message);
    }
  });

  it('a body over 3 MiB is refused with the limit named; just under it is answered', async () => {
    const big = valid();
    (big.request.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations = {
      note: 'x'.repeat(3 * 1024 * 1024),
    };
    const r = await h.raw('/validate', JSON.stringify(big));
    expect(r.status).toBe(400);
    expect(r.json.message).toContain('larger than the 3145728 byte (3 MiB) limit');
    const fits = valid();
    (fits.request.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations = {
      note: 'x'.repeat(3 * 1024 * 1024 - 4096),
    };
    const ok = await h.send('/validate', fits);
    expect(ok.allowed).toBe(true);
  });

  it('reads the body whatever the Content-Type says, and answers a missing body with 400', async () => {
    const body = valid();
    for (const type of [
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
    ]) {
      const r = await h.raw('/validate', JSON.stringify(body), { 'content-type': type });
      expect(r.status, type).toBe(200);
      expect(r.json.response.uid).toBe(body.request.uid);
      expect(r.headers['content-type'], type).toBe('application/json; charset=utf-8');
    }
    const none = await h.raw('/validate', undefined, {});
    expect(none.status).toBe(400);
    expect(none.json.message).toContain('empty');
  });

  it('unknown paths and methods get 404, not 5xx', async () => {
    expect((await h.raw('/admit', '{}')).status).toBe(404);
    expect((await post(h.server.url, '/validate', undefined, { agent: h.agent, method: 'GET' })).status).toBe(404);
  });

  it('keeps serving after a client sends half a body and hangs up', async () => {
    const u = new URL(h.server.url);
    await new Promise<void>((resolve) => {
      const s = connect({ host: u.hostname, port: Number(u.port), ca: h.cert.caPem }, () => {
        s.write(
          'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"apiVersion":"admission.k8s.io/v1","kind":"Adm',
        );
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 50);
      });
    });
    expect((await h.send('/validate', valid())).allowed).toBe(true);
  });
});

describe('TLS', () => {
  it('refuses TLS 1.1, speaks 1.2 and 1.3', async () => {
    const h = await startHarness();
    try {
      await expect(peer(h.server.url, { ca: h.cert.caPem, maxVersion: 'TLSv1.1' })).rejects.toThrow(
        /protocol version|unsupported protocol/,
      );
      expect((await peer(h.server.url, { ca: h.cert.caPem, maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
      expect((await peer(h.server.url, { ca: h.cert.caPem })).protocol).toBe('TLSv1.3');
    } finally {
      await h.close();
    }
  });

  it('reloads the certificate when a mounted Secret swaps its ..data symlink, and keeps the old one over a broken pair', async () => {
    // The kubelet's atomic writer layout: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>
    const ca = genServingCert();
    const mount = tmp('mesh-cert-secret-');
    const version = (name: string, from: string): void => {
      mkdirSync(join(mount, name));
      copyFileSync(join(from, 'tls.crt'), join(mount, name, 'tls.crt'));
      copyFileSync(join(from, 'tls.key'), join(mount, name, 'tls.key'));
    };
    const swap = (name: string): void => {
      symlinkSync(name, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    };
    version('..v1', ca.dir);
    symlinkSync('..v1', join(mount, '..data'));
    symlinkSync('..data/tls.crt', join(mount, 'tls.crt'));
    symlinkSync('..data/tls.key', join(mount, 'tls.key'));

    const server = await buildWebhookServer({
      port: 0,
      healthPort: 0,
      tlsCertFile: join(mount, 'tls.crt'),
      tlsKeyFile: join(mount, 'tls.key'),
      logLevel: 'silent',
      rotationCache: null,
      tlsPollMs: 60_000,
    });
    try {
      const first = (await peer(server.url, { ca: ca.caPem })).fingerprint;
      // a second serving certificate from the same CA
      const next = tmp();
      copyFileSync(ca.caFile, join(next, 'ca.crt'));
      copyFileSync(join(ca.dir, 'ca.key'), join(next, 'ca.key'));
      genServingCert(next, ['--reuse-ca']);
      version('..v2', next);
      swap('..v2');
      rmSync(join(mount, '..v1'), { recursive: true });
      const second = await until('the new certificate', async () => {
        const f = (await peer(server.url, { ca: ca.caPem })).fingerprint;
        return f !== first ? f : undefined;
      });
      expect(second).not.toBe(first);
      expect(readFileSync(join(mount, 'tls.crt'), 'utf8')).toBe(readFileSync(join(next, 'tls.crt'), 'utf8'));

      // a cert and a key that do not belong together: still serving the second certificate
      const other = genServingCert();
      mkdirSync(join(mount, '..v3'));
      copyFileSync(join(other.dir, 'tls.crt'), join(mount, '..v3', 'tls.crt'));
      copyFileSync(join(next, 'tls.key'), join(mount, '..v3', 'tls.key'));
      swap('..v3');
      const metrics = await until('the reload error metric', async () => {
        const text = await (await fetch(`${server.healthUrl}/metrics`)).text();
        return /mesh_cert_webhook_tls_reloads_total\{result="error"\} 1/.test(text) ? text : undefined;
      });
      expect(metrics).toMatch(/mesh_cert_webhook_tls_reloads_total\{result="ok"\} 1/);
      expect((await peer(server.url, { ca: ca.caPem })).fingerprint).toBe(second);
    } finally {
      await server.close();
    }
  });

  it('with --client-ca-file, requires a client certificate signed by that CA', async () => {
    const client = genClientCert();
    const h = await startHarness({ clientCaFile: client.caFile });
    try {
      const body = JSON.stringify(review('IssuedCertificate', 'CREATE', issuedCertificate()));
      const ok = await post(h.server.url, '/validate', body, {
        ca: h.cert.caPem,
        cert: client.certPem,
        key: client.keyPem,
      });
      expect(ok.status).toBe(200);
      expect(ok.json.response.allowed).toBe(true);
      await expect(post(h.server.url, '/validate', body, { ca: h.cert.caPem })).rejects.toThrow(
        /certificate|socket hang up|ECONNRESET/,
      );
      await expect(
        post(h.server.url, '/validate', body, { ca: h.cert.caPem, cert: client.otherCertPem, key: client.otherKeyPem }),
      ).rejects.toThrow(/certificate|unknown ca|socket hang up|ECONNRESET/);
    } finally {
      await h.close();
    }
  });

  it('refuses to start on a key that does not match the certificate, naming the files but no key material', async () => {
    const a = genServingCert();
    const b = genServingCert();
    const err = await buildWebhookServer({
      port: 0,
      healthPort: 0,
      tlsCertFile: a.certFile,
      tlsKeyFile: b.keyFile,
      logLevel: 'silent',
      rotationCache: null,
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(a.certFile);
    expect((err as Error).message).toContain(b.keyFile);
    expect((err as Error).message).not.toContain('PRIVATE KEY');
  });
});

describe('health, readiness and metrics', () => {
  it('serves /healthz, /readyz and /metrics with requests by kind, operation and result', async () => {
    const h = await startHarness();
    try {
      expect((await fetch(`${h.server.healthUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${h.server.healthUrl}/readyz`)).status).toBe(200);
      await h.send('/validate', review('IssuedCertificate', 'CREATE', issuedCertificate()));
      await h.send('/mutate', review('IssuedCertificate', 'CREATE', issuedCertificate('x', { org: 'acme' })));
      await h.send(
        '/validate',
        review(
          'IssuedCertificate',
          'UPDATE',
          issuedCertificate('x', {}, { state: 'FINISHED' }),
          issuedCertificate('x', {}, { state: 'PENDING' }),
          { subResource: 'status' },
        ),
      );
      await h.raw('/validate', 'nope');
      const res = await fetch(`${h.server.healthUrl}/metrics`);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toContain(
        'mesh_cert_webhook_requests_total{endpoint="validate",kind="IssuedCertificate",operation="CREATE",result="allowed"} 1',
      );
      expect(text).toContain(
        'mesh_cert_webhook_requests_total{endpoint="mutate",kind="IssuedCertificate",operation="CREATE",result="patched"} 1',
      );
      expect(text).toContain(
        'mesh_cert_webhook_requests_total{endpoint="validate",kind="IssuedCertificate",operation="UPDATE",result="denied"} 1',
      );
      expect(text).toContain(
        'mesh_cert_webhook_requests_total{endpoint="validate",kind="unknown",operation="unknown",result="malformed"} 1',
      );
      expect(text).toMatch(/mesh_cert_webhook_request_duration_seconds_bucket\{le="0.005",endpoint="validate"\} \d+/);
      expect(text).toMatch(/mesh_cert_webhook_request_duration_seconds_count\{endpoint="validate"\} 3/);
      expect(text).toMatch(/mesh_cert_webhook_serving_certificate_expiration_timestamp_seconds \d+/);
    } finally {
      await h.close();
    }
  });

  it('is not ready until the CertificateRotation cache has synced, nor while draining', async () => {
    let synced = false;
    let listed = false;
    let notReady: string | undefined = 'CertificateRotation cache not synced yet: list: 403 Forbidden';
    const cache: RotationCache = {
      ...staticRotationCache(),
      synced: () => synced,
      notReady: () => notReady,
      listed: () => listed,
    };
    const h = await startHarness({ rotationCache: cache, shutdownDelayMs: 400 });
    const readyz = async (): Promise<number> => (await fetch(`${h.server.healthUrl}/readyz`)).status;
    expect(await readyz()).toBe(503);
    // meanwhile a new rotation cannot be checked against the others: retry later
    const { certificateRotation } = await import('./fixtures.js');
    const r = await h.send('/validate', review('CertificateRotation', 'CREATE', certificateRotation()));
    expect(r.status).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    expect(r.status.message).toContain(
      'the webhook has not finished listing CertificateRotations yet (CertificateRotation cache not synced yet: list: 403 Forbidden), so it cannot check',
    );
    // listed once, then the watch lost too long: the message says the list is out of date, and why
    listed = true;
    notReady = `no CertificateRotation watch for 45 s (the cache is trusted 30 s without one): ${'x'.repeat(2000)}`;
    const stale = await h.send('/validate', review('CertificateRotation', 'CREATE', certificateRotation()));
    expect(stale.status).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    expect(stale.status.message).toContain(
      "the webhook's list of CertificateRotations is out of date (no CertificateRotation watch for 45 s (the cache is trusted 30 s without one): xxx",
    );
    expect(stale.status.message.length).toBeLessThan(600);
    synced = true;
    notReady = undefined;
    expect(await readyz()).toBe(200);
    const closing = h.close();
    expect(await readyz()).toBe(503);
    await closing;
  });
});

describe('logs', () => {
  it('are JSON lines that never contain an object body, a certificate or a key', async () => {
    const pki = genPki();
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    const h = await startHarness({ logLevel: 'trace', logStream: stream });
    try {
      const old = certificateRequest(pki, 'cluster-1', { state: 'PENDING', observedGeneration: 1 });
      for (const signed of [pki.signedPem, pki.wrongKeyPem]) {
        const next = certificateRequest(pki, 'cluster-1', finishedStatus(pki, { signedCertificate: pki.b64(signed) }));
        await h.send('/validate', review('CertificateRequest', 'UPDATE', next, old, { subResource: 'status' }));
      }
      await h.send(
        '/mutate',
        review('IssuedCertificate', 'CREATE', issuedCertificate('x', { org: 'secret-org-name' })),
      );
      await h.raw('/validate', pki.signedPem);
      await h.raw('/validate', readFileSync(h.cert.keyFile, 'utf8').split('\n')[1]);
      await h.raw('/validate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: pki.signedPem }));
      await h.raw(
        '/validate',
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { uid: 7, object: { key: readFileSync(h.cert.keyFile, 'utf8') } },
        }),
      );
    } finally {
      await h.close();
    }
    expect(lines.length).toBeGreaterThan(5);
    const all = lines.join('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(all).toContain('"uid"');
    expect(all).not.toContain('BEGIN');
    expect(all).not.toContain(pki.b64(pki.csrPem).slice(0, 40));
    expect(all).not.toContain(pki.b64(pki.signedPem).slice(0, 40));
    expect(all).not.toContain(pki.signedPem.split('\n')[1]);
    expect(all).not.toContain(readFileSync(h.cert.keyFile, 'utf8').split('\n')[1]);
    expect(all).not.toContain('secret-org-name');
  });
});
