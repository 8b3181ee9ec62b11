// Signing and issued Secrets in the Istio cacerts layout; openssl checks the chains they hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildIssuedSecretData,
  createCsr,
  createRootCa,
  generateRsaKey,
  inspectSecretData,
  parseCertificate,
  signIntermediate,
  splitPem,
  verifySigningSecret,
} from '#schemas/x509/index.js';
import { DAY, Workdir } from './openssl.js';

const w = new Workdir();
type Key = { privateKeyPem: string; publicKeyPem: string };
let rootKey: Key;
let otherKey: Key;
let caKey: Key;
let root: string;
let otherRoot: string;
let ca: string;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

function istio(parts: { caCert?: string; caKey?: string; root?: string; chain?: string }): Record<string, string> {
  const d: Record<string, string> = {};
  if (parts.caCert !== undefined) d['ca-cert.pem'] = b64(parts.caCert);
  if (parts.caKey !== undefined) d['ca-key.pem'] = b64(parts.caKey);
  if (parts.root !== undefined) d['root-cert.pem'] = b64(parts.root);
  if (parts.chain !== undefined) d['cert-chain.pem'] = b64(parts.chain);
  return d;
}

function expectError(data: Record<string, string>, expected: string | RegExp): string {
  const r = verifySigningSecret(data);
  expect(r.ok).toBe(false);
  const error = r.ok ? '' : r.error;
  if (typeof expected === 'string') expect(error).toBe(expected);
  else expect(error).toMatch(expected);
  // Never any key material in an error.
  expect(error).not.toMatch(/PRIVATE KEY|MII[A-Za-z0-9+/]{20}/);
  return error;
}

beforeAll(async () => {
  [rootKey, otherKey, caKey] = await Promise.all([generateRsaKey(2048), generateRsaKey(2048), generateRsaKey(2048)]);
  root = createRootCa({ privateKeyPem: rootKey.privateKeyPem, subject: { O: 'gloo-mesh', CN: 'root' }, ttlDays: 365 });
  otherRoot = createRootCa({
    privateKeyPem: otherKey.privateKeyPem,
    subject: { O: 'gloo-mesh', CN: 'root' },
    ttlDays: 365,
  });
  const csr = createCsr({
    privateKeyPem: caKey.privateKeyPem,
    subject: { O: 'gloo-mesh', OU: 'signer' },
    hosts: ['signer.example'],
  });
  ca = signIntermediate({
    csrPem: csr,
    issuerCertPem: root,
    issuerKeyPem: rootKey.privateKeyPem,
    hosts: ['signer.example'],
    ttlDays: 200,
  });
});
afterAll(() => w.cleanup());

describe('verifySigningSecret', () => {
  it('accepts an intermediate signing Secret and returns its parts', () => {
    const r = verifySigningSecret(istio({ caCert: ca, caKey: caKey.privateKeyPem, root, chain: ca + root }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.caCertPem).toBe(ca);
    expect(r.caKeyPem.trim()).toBe(caKey.privateKeyPem.trim());
    expect(r.rootPems).toEqual([root]);
    expect(r.chainPems).toEqual([]);
    expect(r.warnings).toEqual([]);
    // openssl agrees with the chain the Secret describes.
    expect(w.verify({ certPem: r.caCertPem, chainPems: r.chainPems, rootPems: r.rootPems }).ok).toBe(true);
  });

  it('accepts a root signing Secret (ca-cert is the root) and one whose cert-chain holds a further intermediate', async () => {
    expect(verifySigningSecret(istio({ caCert: root, caKey: rootKey.privateKeyPem, root, chain: root }))).toMatchObject(
      { ok: true, chainPems: [] },
    );
    const subKey = otherKey;
    const sub = signIntermediate({
      csrPem: createCsr({
        privateKeyPem: subKey.privateKeyPem,
        subject: { O: 'gloo-mesh', OU: 'sub' },
        hosts: ['sub.example'],
      }),
      issuerCertPem: ca,
      issuerKeyPem: caKey.privateKeyPem,
      hosts: ['sub.example'],
      ttlDays: 100,
    });
    const r = verifySigningSecret(istio({ caCert: sub, caKey: subKey.privateKeyPem, root, chain: sub + ca + root }));
    expect(r).toMatchObject({ ok: true, chainPems: [ca], rootPems: [root] });
  });

  it('accepts plain PEM values (stringData style) as well as base64', () => {
    expect(
      verifySigningSecret({
        'ca-cert.pem': ca,
        'ca-key.pem': caKey.privateKeyPem,
        'root-cert.pem': root,
        'cert-chain.pem': ca + root,
      }).ok,
    ).toBe(true);
  });

  it('names the Secret key that is wrong', () => {
    expectError(
      istio({ caCert: ca, caKey: otherKey.privateKeyPem, root, chain: ca + root }),
      'ca-key.pem: does not match ca-cert.pem',
    );
    expectError(istio({ caCert: ca, root, chain: ca }), /^ca-key\.pem: missing/);
    expectError(istio({ caCert: ca, caKey: caKey.privateKeyPem, chain: ca }), /^root-cert\.pem: missing/);
    expectError(istio({ caKey: caKey.privateKeyPem, root, chain: ca }), /^ca-cert\.pem: missing/);
    expectError({}, /^ca-cert\.pem: missing; not a signing Secret .*found no keys\)$/);
    // cert-manager's layout: an intermediate in tls.crt needs its root in ca.crt
    expectError(
      { 'tls.crt': b64(ca), 'tls.key': b64(caKey.privateKeyPem) },
      /^ca\.crt: missing \(a tls\.crt that is not a self-signed root needs the root that anchors it in ca\.crt\)$/,
    );
    expectError(
      { 'tls.crt': b64(ca), 'tls.key': b64(otherKey.privateKeyPem), 'ca.crt': b64(root) },
      'tls.key: does not match tls.crt',
    );
    expect(
      verifySigningSecret({ 'tls.crt': b64(ca), 'tls.key': b64(caKey.privateKeyPem), 'ca.crt': b64(root) }),
    ).toMatchObject({ ok: true, caCertPem: ca });
    expectError(
      istio({ caCert: ca, caKey: caKey.privateKeyPem, root: otherRoot, chain: ca + otherRoot }),
      /^root-cert\.pem: does not contain the root that issued ca-cert\.pem/,
    );
    expectError(
      istio({ caCert: ca, caKey: caKey.privateKeyPem, root, chain: root }),
      'cert-chain.pem: does not start with ca-cert.pem (the Istio layout puts ca-cert.pem first, then the chain up to the root)',
    );
    expectError(
      istio({ caCert: ca + root, caKey: caKey.privateKeyPem, root, chain: ca }),
      'ca-cert.pem: expected one certificate, found 2',
    );
    expectError(
      istio({ caCert: 'not a cert', caKey: caKey.privateKeyPem, root, chain: ca }),
      'ca-cert.pem: not PEM after base64 decoding',
    );
    const csrOnly = createCsr({ privateKeyPem: caKey.privateKeyPem, subject: { O: 'x' }, hosts: [] });
    expectError(
      istio({ caCert: csrOnly, caKey: caKey.privateKeyPem, root, chain: ca }),
      'ca-cert.pem: no PEM certificate found',
    );
    expectError(
      { ...istio({ caCert: ca, root, chain: ca }), 'ca-key.pem': '%%%' },
      'ca-key.pem: expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =; line breaks allowed, as in Secret data)',
    );
    // Unpadded: a lenient decoder reads it as something; the strict one names the key.
    expectError(
      { ...istio({ caCert: ca, root, chain: ca }), 'ca-key.pem': b64(caKey.privateKeyPem).replace(/=+$/, '') + 'A' },
      'ca-key.pem: expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =; line breaks allowed, as in Secret data)',
    );
    // Line breaks are skipped as the API server skips them in Secret data; other whitespace is not.
    const wrapped = b64(caKey.privateKeyPem).replace(/(.{76})/g, '$1\n');
    for (const breaks of ['\n', '\r\n', '\r'])
      expect(
        verifySigningSecret({ ...istio({ caCert: ca, root, chain: ca }), 'ca-key.pem': wrapped.replace(/\n/g, breaks) })
          .ok,
      ).toBe(true);
    expectError(
      { ...istio({ caCert: ca, root, chain: ca }), 'ca-key.pem': wrapped.replace(/\n/g, ' ') },
      'ca-key.pem: expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =; line breaks allowed, as in Secret data)',
    );
    expectError(
      { ...istio({ caCert: ca, root, chain: ca }), 'ca-key.pem': b64('hello') },
      'ca-key.pem: not PEM after base64 decoding',
    );
    const garbledKey =
      '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n';
    expectError(
      istio({ caCert: ca, caKey: garbledKey, root, chain: ca }),
      'ca-key.pem: the private key does not parse',
    );
  });

  it('refuses a ca-cert that is not a CA, an expired ca-cert, and a root-cert entry that is not a CA', () => {
    const ext = w.file('basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n', 'leaf.ext');
    const leafCsr = createCsr({
      privateKeyPem: otherKey.privateKeyPem,
      subject: { O: 'gloo-mesh', OU: 'leaf' },
      hosts: [],
    });
    const leaf = w.ok([
      'x509',
      '-req',
      '-in',
      w.file(leafCsr),
      '-CA',
      w.file(root),
      '-CAkey',
      w.file(rootKey.privateKeyPem),
      '-set_serial',
      '5',
      '-days',
      '5',
      '-extfile',
      ext,
    ]);
    expectError(
      istio({ caCert: leaf, caKey: otherKey.privateKeyPem, root, chain: leaf + root }),
      /^ca-cert\.pem: "O=gloo-mesh, OU=leaf" is not a CA certificate/,
    );

    const old = signIntermediate({
      csrPem: createCsr({ privateKeyPem: caKey.privateKeyPem, subject: { O: 'gloo-mesh', OU: 'old' }, hosts: [] }),
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts: ['old.example'],
      ttlDays: 1,
      now: new Date(Date.now() - 3 * DAY),
    });
    expectError(
      istio({ caCert: old, caKey: caKey.privateKeyPem, root, chain: old + root }),
      /^ca-cert\.pem: certificate "O=gloo-mesh, OU=old": expired at/,
    );
    expectError(
      istio({ caCert: ca, caKey: caKey.privateKeyPem, root: root + leaf, chain: ca }),
      /^root-cert\.pem: certificate 2 "O=gloo-mesh, OU=leaf" is not a CA certificate$/,
    );
  });

  it('names the certificate of cert-chain.pem that fails, by position', () => {
    // An expired copy of the signer (same key and name) in the middle of the chain.
    const expiredCa = signIntermediate({
      csrPem: createCsr({ privateKeyPem: caKey.privateKeyPem, subject: { O: 'gloo-mesh', OU: 'signer' }, hosts: [] }),
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts: ['signer.example'],
      ttlDays: 1,
      now: new Date(Date.now() - 5 * DAY),
    });
    const sub = signIntermediate({
      csrPem: createCsr({ privateKeyPem: otherKey.privateKeyPem, subject: { O: 'gloo-mesh', OU: 'sub' }, hosts: [] }),
      issuerCertPem: ca,
      issuerKeyPem: caKey.privateKeyPem,
      hosts: ['sub.example'],
      ttlDays: 10,
    });
    expectError(
      istio({ caCert: sub, caKey: otherKey.privateKeyPem, root, chain: sub + expiredCa + root }),
      /^cert-chain\.pem certificate 2: certificate "O=gloo-mesh, OU=signer": expired at/,
    );
    expect(w.verify({ certPem: sub, chainPems: [expiredCa], rootPems: [root] }).ok).toBe(false);
    expectError(
      istio({ caCert: sub, caKey: otherKey.privateKeyPem, root, chain: sub }),
      /^root-cert\.pem: does not contain the root that issued ca-cert\.pem \(certificate "O=gloo-mesh, OU=sub": its issuer "O=gloo-mesh, OU=signer" is neither/,
    );
  });

  it('reads the legacy key.pem + root-cert.pem layout with a warning', () => {
    const r = verifySigningSecret({ 'key.pem': b64(rootKey.privateKeyPem), 'root-cert.pem': b64(root) });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.caCertPem).toBe(root);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(
      /^legacy layout: read key\.pem as ca-key\.pem and the root in root-cert\.pem as ca-cert\.pem/,
    );
    expectError(
      { 'key.pem': b64(otherKey.privateKeyPem), 'root-cert.pem': b64(root) },
      'key.pem: does not match root-cert.pem',
    );
    expectError({ 'key.pem': b64(rootKey.privateKeyPem) }, /^root-cert\.pem: missing \(the legacy layout/);
  });

  it('warns when cert-chain.pem is missing, and when the CA expires within 30 days', () => {
    const r = verifySigningSecret(istio({ caCert: ca, caKey: caKey.privateKeyPem, root }));
    expect(r).toMatchObject({
      ok: true,
      warnings: ['cert-chain.pem: missing; treated as ca-cert.pem alone (Istio expects it)'],
    });
    const soon = verifySigningSecret(istio({ caCert: ca, caKey: caKey.privateKeyPem, root, chain: ca + root }), {
      at: new Date(Date.now() + 190 * DAY),
    });
    expect(soon.ok).toBe(true);
    if (soon.ok) expect(soon.warnings[0]).toMatch(/^ca-cert\.pem: "O=gloo-mesh, OU=signer" expires in (9|10) day\(s\)/);
  });
});

describe('buildIssuedSecretData', () => {
  it('writes the Istio layout: cert-chain = ca-cert + chain up to the root, root-cert = every root; openssl verifies it', () => {
    const data = buildIssuedSecretData({ caCertPem: ca, caKeyPem: caKey.privateKeyPem, rootPems: [otherRoot, root] });
    expect(Object.keys(data).sort()).toEqual(['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
    expect(unb64(data['ca-cert.pem'])).toBe(ca);
    expect(unb64(data['cert-chain.pem'])).toBe(ca + root);
    expect(unb64(data['root-cert.pem'])).toBe(otherRoot + root);
    expect(unb64(data['ca-key.pem']).trim()).toBe(caKey.privateKeyPem.trim());
    // openssl builds the chain from the Secret's own files.
    const v = w.verify({
      certPem: unb64(data['ca-cert.pem']),
      chainPems: [unb64(data['cert-chain.pem'])],
      rootPems: [unb64(data['root-cert.pem'])],
    });
    expect(v.ok, v.output).toBe(true);
    // And it reads back as a valid signing Secret.
    expect(verifySigningSecret(data)).toMatchObject({ ok: true, warnings: [] });
    // During a rotation the new root alone must still refuse it.
    expect(w.verify({ certPem: ca, rootPems: [otherRoot] }).ok).toBe(false);
  });

  it('refuses to build a Secret that would not verify, or whose key does not match', () => {
    expect(() =>
      buildIssuedSecretData({ caCertPem: ca, caKeyPem: caKey.privateKeyPem, rootPems: [otherRoot] }),
    ).toThrow(/^caCertPem does not chain to rootPems: certificate "O=gloo-mesh, OU=signer"/);
    expect(() => buildIssuedSecretData({ caCertPem: ca, caKeyPem: otherKey.privateKeyPem, rootPems: [root] })).toThrow(
      'caKeyPem: does not match caCertPem',
    );
  });
});

describe('inspectSecretData', () => {
  it('describes every key and the verdict without showing key material', () => {
    const data = buildIssuedSecretData({ caCertPem: ca, caKeyPem: caKey.privateKeyPem, rootPems: [root] });
    const r = inspectSecretData(data, { currentRootPems: [otherRoot] });
    expect(r.layout).toBe('istio');
    expect(r.entries.map((e) => e.key)).toEqual(['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
    expect(r.entries.find((e) => e.key === 'ca-key.pem')).toEqual({
      key: 'ca-key.pem',
      privateKey: { type: 'RSA', bits: 2048 },
    });
    expect(r.entries.find((e) => e.key === 'cert-chain.pem')?.certificates?.map((c) => c.subjectText)).toEqual([
      'O=gloo-mesh, OU=signer',
      'O=gloo-mesh, CN=root',
    ]);
    expect(r.verification.ok).toBe(true);
    expect(r.caCert?.fingerprintSha256).toBe(parseCertificate(ca).fingerprintSha256);
    expect(r.keyMatchesCaCert).toBe(true);
    expect(r.signedByCurrentRoot).toBe(false);
    expect(inspectSecretData(data, { currentRootPems: [root] }).signedByCurrentRoot).toBe(true);
    expect(JSON.stringify(r)).not.toMatch(/PRIVATE KEY/);

    const broken = inspectSecretData({ ...data, 'ca-key.pem': b64(otherKey.privateKeyPem) });
    expect(broken.verification).toEqual({ ok: false, error: 'ca-key.pem: does not match ca-cert.pem' });
    expect(broken.keyMatchesCaCert).toBe(false);
    expect(JSON.stringify(broken)).not.toMatch(/PRIVATE KEY/);
  });
});

describe('splitPem', () => {
  it('splits mixed bundles, ignores text around blocks, tolerates CRLF and re-wraps canonically', () => {
    const crlf = (ca + root).replace(/\n/g, '\r\n');
    const text = `subject=O = gloo-mesh\r\n${crlf}junk\n${caKey.privateKeyPem}`;
    const blocks = splitPem(text);
    expect(blocks.map((b) => b.type)).toEqual(['CERTIFICATE', 'CERTIFICATE', 'PRIVATE KEY']);
    expect(blocks[0].pem).toBe(ca);
    expect(blocks[1].pem).toBe(root);
    expect(blocks[2].pem).toBe(caKey.privateKeyPem);
    expect(splitPem('nothing here')).toEqual([]);
    // A single long base64 line is re-wrapped at 64 columns.
    const oneLine = `-----BEGIN CERTIFICATE-----\n${ca.split('\n').slice(1, -2).join('')}\n-----END CERTIFICATE-----`;
    expect(splitPem(oneLine)[0].pem).toBe(ca);
  });
});
