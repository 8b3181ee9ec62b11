// The webhook's log lines as an operator's pipeline reads them: JSON only, ISO-8601 times and
// level names, and one line at info per denial saying what was refused, to whom and why.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewUsername } from '../../webhook/src/review-user.js';
import { issuedCertificate } from './fixtures.js';
import { review, startHarness, type Harness } from './helpers.js';

interface Line {
  level: string;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** The dry-run write `kubectl mesh-cert check` makes (plugin/src/report/check-webhook.ts). */
function checkProbe(): ReturnType<typeof review> {
  const object = {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRequest',
    metadata: { name: `mesh-cert-check-${Date.now().toString(36)}`, namespace: 'istio-system' },
    spec: {
      certificateSigningRequest: Buffer.from('mesh-cert check: this is not a PEM certificate request').toString(
        'base64',
      ),
    },
  };
  return review('CertificateRequest', 'CREATE', object, undefined, { dryRun: true });
}

/** An IssuedCertificate status moved backwards (FINISHED to PENDING): the webhook denies it. */
function backwards(user: string): ReturnType<typeof review> {
  const r = review(
    'IssuedCertificate',
    'UPDATE',
    issuedCertificate('ic-1', {}, { state: 'FINISHED' }),
    issuedCertificate('ic-1', {}, { state: 'PENDING' }),
    { subResource: 'status' },
  );
  (r.request.userInfo as { username: string }).username = user;
  return r;
}

describe('log lines', () => {
  let h: Harness;
  const lines: Line[] = [];
  beforeAll(async () => {
    const stream = new PassThrough();
    let rest = '';
    stream.on('data', (c: Buffer) => {
      const parts = (rest + c.toString()).split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p) lines.push(JSON.parse(p) as Line);
    });
    h = await startHarness({ logLevel: 'info', logStream: stream });
  });
  afterAll(async () => h?.close());

  it('are JSON with an ISO-8601 time and the level by name, the serving line included', () => {
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(l.level);
    }
    expect(lines.find((l) => l.msg.startsWith('mesh-cert-webhook serving admission on https://'))).toMatchObject({
      level: 'info',
      url: h.server.url,
      healthUrl: h.server.healthUrl,
    });
  });

  it('give each denial one line at info: kind, namespace/name, operation, user, reason, uid', async () => {
    const before = lines.length;
    const denied = backwards('alice@example.com');
    const response = await h.send('/validate', denied);
    expect(response.allowed).toBe(false);
    await h.send('/validate', review('IssuedCertificate', 'CREATE', issuedCertificate('allowed-one')));
    await expect.poll(() => lines.length).toBeGreaterThan(before);
    const added = lines.slice(before);
    // the allowed review leaves no line at info
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      level: 'info',
      kind: 'IssuedCertificate',
      namespace: 'istio-system',
      name: 'ic-1',
      operation: 'UPDATE',
      subResource: 'status',
      user: 'alice@example.com',
      uid: denied.request.uid,
      result: 'denied',
      reason: response.status.message,
      msg: 'denied UPDATE IssuedCertificate istio-system/ic-1 by alice@example.com',
    });
  });

  it('say so when the denied review itself was malformed', async () => {
    const before = lines.length;
    const bad = review('IssuedCertificate', 'CREATE', issuedCertificate('no-op'));
    bad.request.operation = 'PATCH';
    const r = await h.send('/validate', bad);
    expect(r.allowed).toBe(false);
    await expect.poll(() => lines.length).toBeGreaterThan(before);
    expect(lines.slice(before)).toEqual([
      expect.objectContaining({
        level: 'info',
        result: 'malformed',
        uid: bad.request.uid,
        user: 'system:serviceaccount:gloo-mesh:cert-agent',
        msg: 'denied a malformed review by system:serviceaccount:gloo-mesh:cert-agent',
      }),
    ]);
  });

  it("leave check's dry-run probe at debug, and count it as a probe, not a denial", async () => {
    const before = lines.length;
    const r = await h.send('/validate', checkProbe());
    expect(r.allowed).toBe(false);
    await h.send('/validate', backwards('bob'));
    await expect.poll(() => lines.length).toBeGreaterThan(before);
    expect(lines.slice(before).map((l) => l.user)).toEqual(['bob']);
    const text = await (await fetch(`${h.server.healthUrl}/metrics`)).text();
    expect(text).toContain(
      'mesh_cert_webhook_requests_total{endpoint="validate",kind="CertificateRequest",operation="CREATE",result="probe"} 1',
    );
    expect(text).not.toMatch(/kind="CertificateRequest",operation="CREATE",result="denied"/);
  });
});

describe('the requesting user', () => {
  // Fields in kube-apiserver's order (the Go struct's): userInfo before object and oldObject.
  const body = (request: Record<string, unknown>): Buffer =>
    Buffer.from(JSON.stringify({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request }));

  it('is request.userInfo.username, escapes and all', () => {
    expect(
      reviewUsername(
        body({
          uid: 'u',
          name: 'x',
          userInfo: { username: 'system:serviceaccount:gloo-mesh:"agent"', uid: 'x' },
          object: {},
        }),
      ),
    ).toBe('system:serviceaccount:gloo-mesh:"agent"');
  });

  it('is not a userInfo that the object or a string carries', () => {
    // the request's own has no username (not something the apiserver sends): none, not the object's
    expect(
      reviewUsername(body({ uid: 'u', userInfo: { groups: ['a'] }, object: { userInfo: { username: 'admin' } } })),
    ).toBeUndefined();
    expect(
      reviewUsername(body({ uid: 'u', name: '"userInfo":{"username":"admin"}', userInfo: { username: 'real' } })),
    ).toBe('real');
    expect(reviewUsername(body({ uid: 'u', object: { note: '"userInfo":{"username":"admin"}' } }))).toBeUndefined();
  });

  it('is cut past 256 characters, and absent from what is not a review', () => {
    expect(reviewUsername(body({ userInfo: { username: 'u'.repeat(300) } }))).toBe(`${'u'.repeat(256)}…`);
    expect(reviewUsername(Buffer.from('not json'))).toBeUndefined();
    expect(reviewUsername(Buffer.from('{"request":{"userInfo":{"username":"unterminated'))).toBeUndefined();
    expect(reviewUsername(Buffer.from('{"request":{"userInfo":{"username":42}}}'))).toBeUndefined();
  });
});
