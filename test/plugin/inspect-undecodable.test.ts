// A certificate can be DER through and through yet hold a value jsrsasign cannot turn into text
// (basicConstraints written with an explicit FALSE, which DER omits). The webhook admits such a
// leaf without decoding it; `inspect certificaterequest` must then report it, not crash.
import { describe, expect, it } from 'vitest';
import { createRootCa, generateRsaKey } from '../../schemas/pki/index.js';
import { type CrObject, inspectCertificateRequest } from '../../plugin/src/report/inspect.js';

const pemOf = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('inspect certificaterequest', () => {
  it('reports a certificate whose values do not decode as a failed check', async () => {
    const key = await generateRsaKey(2048);
    const root = createRootCa({ privateKeyPem: key.privateKeyPem, subject: { O: 'gloo-mesh', CN: 'root' }, ttlDays: 2 });
    const der = Buffer.from(root.replace(/-----[A-Z ]+-----/g, ''), 'base64');
    const bc = der.indexOf(Buffer.from('30030101ff', 'hex'));
    expect(bc).toBeGreaterThan(0);
    der[bc + 4] = 0x00;
    const cr = {
      apiVersion: 'certificates.mesh.gloo.solo.io/v1',
      kind: 'CertificateRequest',
      metadata: { name: 'cluster-1', namespace: 'gloo-mesh', generation: 1 },
      status: { state: 'FINISHED', observedGeneration: 1, signedCertificate: b64(root), signingRootCa: b64(pemOf(der)) },
    } as CrObject;
    const report = inspectCertificateRequest('mgmt', cr, undefined);
    expect(report.certificates.map((c) => c.source)).toEqual(['status.signedCertificate']);
    expect(report.checks).toContainEqual({ name: 'status.signingRootCa parses', ok: false, message: 'certificate: the certificate does not parse' });
    expect(report.checks.find((c) => c.name === 'chain to signingRootCa')).toMatchObject({ ok: false });
  });
});
