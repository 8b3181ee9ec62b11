// The issuer writes FAILED with the field a problem belongs to: a CSR it cannot sign is the
// request's spec.certificateSigningRequest; a signing Secret it cannot use is not.
import { beforeAll, describe, expect, it } from 'vitest';
import { PkiError, signIntermediate } from '#schemas/x509/index.js';
import type { ClusterApi } from '../../plugin/src/engine/cluster-api.js';
import { signRequest, SigningError } from '../../plugin/src/engine/issuance/issuer.js';
import type { CertificateRequest, IssuedCertificate, Secret } from '../../plugin/src/engine/objects.js';
import { type Ca, makeIntermediate, makeRoot, rootSecret } from './fixtures.js';
import { b64 } from './helpers.js';

let root: Ca;
let csrPem: string;

/** Only what signRequest reads of the management cluster: its Secrets. */
function mgmtWith(secrets: Record<string, object>): ClusterApi {
  return {
    name: 'mgmt',
    getSecret: async (namespace: string, name: string) => secrets[`${namespace}/${name}`] as Secret | undefined,
  } as unknown as ClusterApi;
}

const ic: IssuedCertificate = {
  metadata: { name: 'east', namespace: 'istio-system', generation: 1 },
  spec: {
    hosts: ['spiffe://east/ns/istio-system/sa/istiod'],
    glooMeshCa: { signingCertificateSecret: { namespace: 'gloo-mesh', name: 'root' } },
  },
};

function requestFor(csr: string): CertificateRequest {
  return {
    metadata: { name: 'east', namespace: 'istio-system', generation: 1 },
    spec: { certificateSigningRequest: b64(csr) },
  };
}

/** The CSR with one bit of its signature flipped. */
function withBadSignature(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, ''), 'base64');
  der[der.length - 1] ^= 1;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}

beforeAll(async () => {
  root = await makeRoot('issuer-errors');
  csrPem = (await makeIntermediate(root, 'east', 30)).csrPem;
});

describe('issuer errors', () => {
  const mgmt = () => mgmtWith({ 'gloo-mesh/root': rootSecret('gloo-mesh', 'root', root) });

  it('signs a good request', async () => {
    const status = await signRequest(mgmt(), ic, requestFor(csrPem));
    expect(status?.state).toBe('FINISHED');
  });

  it('puts a CSR it cannot sign on spec.certificateSigningRequest', async () => {
    for (const [csr, why] of [
      [withBadSignature(csrPem), "csrPem: the CSR's signature does not verify with its own public key"],
      ['not a CSR', 'csrPem: no PEM CERTIFICATE REQUEST'],
      [
        '-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n',
        'csrPem: not a valid PKCS#10 certificate request',
      ],
    ] as const) {
      const err = await signRequest(mgmt(), ic, requestFor(csr)).catch((e: unknown) => e);
      expect(err, why).toBeInstanceOf(SigningError);
      expect((err as Error).message, why).toContain(`spec.certificateSigningRequest: Invalid value: ${why}`);
    }
  });

  it('does not blame the request for the signing Secret', async () => {
    const err = await signRequest(mgmtWith({}), ic, requestFor(csrPem)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SigningError);
    expect((err as Error).message).toBe('signing Secret gloo-mesh/root not found in the management cluster "mgmt"');
  });

  it('marks PkiErrors from reading a CSR with the input they are about, and only those', () => {
    const csrError = (() => {
      try {
        signIntermediate({
          csrPem: withBadSignature(csrPem),
          issuerCertPem: root.certPem,
          issuerKeyPem: root.keyPem,
          hosts: ['a.example'],
          ttlDays: 1,
        });
      } catch (e) {
        return e;
      }
    })();
    expect(csrError).toBeInstanceOf(PkiError);
    expect((csrError as PkiError).input).toBe('csrPem');
    const hostError = (() => {
      try {
        signIntermediate({
          csrPem,
          issuerCertPem: root.certPem,
          issuerKeyPem: root.keyPem,
          hosts: ['not a host'],
          ttlDays: 1,
        });
      } catch (e) {
        return e;
      }
    })();
    expect(hostError).toBeInstanceOf(PkiError);
    expect((hostError as PkiError).input).toBeUndefined();
  });
});
