// A certificate can be DER through and through yet hold a value jsrsasign cannot turn into text
// (basicConstraints written with an explicit FALSE, which DER omits). `inspect certificaterequest`
// must then report it, not crash: first the report itself, then the whole command against a
// CertificateRequest stored on each backend (the sandbox, then the real control plane). The
// webhook refuses such a FINISHED status (the chain to signingRootCa does not verify), but the
// CRD's own rules admit it: a cluster without the webhook, or a request written before it was
// installed, can hold one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRootCa, generateRsaKey } from '#schemas/x509/index.js';
import { type CrObject, inspectCertificateRequest, inspectSecret } from '../../plugin/src/report/inspect.js';
import { BACKENDS, START_TIMEOUT_MS, startBackend, type Backend } from '../backend/index.js';
import { apply, buildPlugin, kubectlMeshCert, patchStatus } from './helpers.js';
import { namespace } from './fixtures.js';

const pemOf = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A FINISHED CertificateRequest whose signingRootCa holds basicConstraints with an explicit FALSE. */
async function undecodableRequest(): Promise<CrObject> {
  const key = await generateRsaKey(2048);
  const root = createRootCa({ privateKeyPem: key.privateKeyPem, subject: { O: 'gloo-mesh', CN: 'root' }, ttlDays: 2 });
  const der = Buffer.from(root.replace(/-----[A-Z ]+-----/g, ''), 'base64');
  const bc = der.indexOf(Buffer.from('30030101ff', 'hex'));
  expect(bc).toBeGreaterThan(0);
  der[bc + 4] = 0x00;
  return {
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRequest',
    metadata: { name: 'cluster-1', namespace: 'gloo-mesh', generation: 1 },
    status: { state: 'FINISHED', observedGeneration: 1, signedCertificate: b64(root), signingRootCa: b64(pemOf(der)) },
  } as CrObject;
}

function expectReported(report: ReturnType<typeof inspectCertificateRequest>): void {
  expect(report.certificates.map((c) => c.source)).toEqual(['status.signedCertificate']);
  expect(report.checks).toContainEqual({
    name: 'status.signingRootCa parses',
    ok: false,
    message: 'certificate: the certificate does not parse',
  });
  expect(report.checks.find((c) => c.name === 'chain to signingRootCa')).toMatchObject({ ok: false });
}

describe('inspect certificaterequest', () => {
  it('reports a certificate whose values do not decode as a failed check', async () => {
    const cr = await undecodableRequest();
    expectReported(inspectCertificateRequest('mgmt', cr, undefined));
  });

  it('reports a field that is not base64 as a failed check naming it, and reads it as absent', async () => {
    const cr = await undecodableRequest();
    const report = inspectCertificateRequest(
      'mgmt',
      { ...cr, status: { ...cr.status!, signedCertificate: 'not base64!' } },
      undefined,
    );
    expect(report.checks).toContainEqual({
      name: 'status.signedCertificate decodes',
      ok: false,
      message:
        'status.signedCertificate: expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)',
    });
    expect(report.checks).toContainEqual({
      name: 'signed certificate',
      ok: null,
      message: 'none yet (state FINISHED)',
    });
  });
});

describe('inspect secret', () => {
  it('reports a value that is not base64 as a failed check naming the Secret and the key', async () => {
    const key = await generateRsaKey(2048);
    const root = createRootCa({
      privateKeyPem: key.privateKeyPem,
      subject: { O: 'gloo-mesh', CN: 'root' },
      ttlDays: 2,
    });
    const report = inspectSecret(
      'mgmt',
      {
        metadata: { name: 'root', namespace: 'gloo-mesh' },
        data: { 'root-cert.pem': b64(root), 'ca-cert.pem': 'QUJD-_8=' },
      },
      undefined,
    );
    expect(report.checks).toContainEqual({
      name: 'ca-cert.pem decodes',
      ok: false,
      message:
        'Secret gloo-mesh/root ca-cert.pem: expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)',
    });
    // What does decode is still reported.
    expect(report.certificates.map((c) => c.source)).toEqual(['root-cert.pem']);
  });
});

let world: Backend;

for (const backend of BACKENDS) {
  describe(backend, () => {
    let cr: CrObject;
    beforeAll(async () => {
      buildPlugin();
      world = await startBackend(backend, ['mgmt']);
      cr = await undecodableRequest();
      const { generation: _, ...metadata } = cr.metadata as Record<string, unknown>;
      await apply(world.kubeconfigPath, 'mgmt', namespace('gloo-mesh'), {
        apiVersion: cr.apiVersion,
        kind: cr.kind,
        metadata,
      });
      await patchStatus(
        world.kubeconfigPath,
        'mgmt',
        'certificaterequests.certificates.mesh.gloo.solo.io',
        'gloo-mesh',
        'cluster-1',
        cr.status!,
      );
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await world?.stop();
    });

    it('kubectl mesh-cert inspect certificaterequest reports it as a failed check and exits 1', async () => {
      const r = await kubectlMeshCert(
        ['inspect', 'certificaterequest', 'gloo-mesh/cluster-1', '--context', 'mgmt', '-o', 'json'],
        { env: { KUBECONFIG: world.kubeconfigPath } },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as ReturnType<typeof inspectCertificateRequest>;
      expect(report).toMatchObject({
        cluster: 'mgmt',
        namespace: 'gloo-mesh',
        name: 'cluster-1',
        state: 'FINISHED',
        generation: 1,
        observedGeneration: 1,
      });
      expectReported(report);
    });
  });
}
