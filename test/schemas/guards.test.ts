// The FINISHED CertificateRequest guard against certificates made by the openssl binary.
import { beforeAll, describe, expect, it } from 'vitest';
import { formatFieldError, validateObject, validateUpdate } from '#schemas/src/index.js';
import { b64, makePki, type Pki } from './fixtures.js';
import type { Obj } from './objects.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});

const pending = (generation = 2): Obj => ({
  apiVersion: 'certificates.mesh.gloo.solo.io/v1',
  kind: 'CertificateRequest',
  metadata: { name: 'istiod', namespace: 'istio-system', generation },
  spec: { certificateSigningRequest: b64(pki.csr) },
  status: { observedGeneration: generation - 1 },
});

function finished(status: Record<string, string>, generation = 2, observedGeneration = generation): Obj {
  const o = pending(generation);
  o.status = { observedGeneration, state: 'FINISHED', ...status };
  return o;
}

const check = (neu: Obj) => {
  expect(validateObject(neu)).toEqual([]);
  return validateUpdate(pending(neu.metadata.generation), neu).map(formatFieldError);
};

describe('a current FINISHED CertificateRequest', () => {
  it('is admitted with a certificate for the CSR key signed by signingRootCa', () => {
    expect(check(finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.rootCert) }))).toEqual([]);
  });

  it('is admitted when it chains through certChain (signed cert first, then the signer chain)', () => {
    const status = {
      signedCertificate: b64(pki.signedByMid),
      signingRootCa: b64(pki.rootCert),
      certChain: b64(pki.signedByMid + pki.midCert),
    };
    expect(check(finished(status))).toEqual([]);
  });

  it("is admitted when signingRootCa is the signer's chain as a bundle: the signer first, the root last", () => {
    expect(
      check(finished({ signedCertificate: b64(pki.signedByMid), signingRootCa: b64(pki.midCert + pki.rootCert) })),
    ).toEqual([]);
  });

  it('is admitted when the bundle ends at an intermediate: a trust anchor as given', () => {
    expect(check(finished({ signedCertificate: b64(pki.signedByMid), signingRootCa: b64(pki.midCert) }))).toEqual([]);
    // Still a trust anchor, not a free pass: a certificate it did not sign is refused.
    const errors = check(finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.midCert) }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^status\.signedCertificate: Invalid value: does not chain to status\.signingRootCa: /);
  });

  it('is admitted with several roots (old and new during a rotation)', () => {
    expect(
      check(
        finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.otherRootCert + pki.rootCert) }),
      ),
    ).toEqual([]);
  });

  it('is denied without the intermediate that links it to the root', () => {
    const errors = check(finished({ signedCertificate: b64(pki.signedByMid), signingRootCa: b64(pki.rootCert) }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^status\.signedCertificate: Invalid value: does not chain to status\.signingRootCa: /);
  });

  it('is denied when signingRootCa is not its root', () => {
    const errors = check(finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.otherRootCert) }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^status\.signedCertificate: Invalid value: does not chain to status\.signingRootCa: /);
  });

  it("is denied when the certificate is for another key than the CSR's", () => {
    expect(check(finished({ signedCertificate: b64(pki.signedOtherKey), signingRootCa: b64(pki.rootCert) }))).toEqual([
      'status.signedCertificate: Invalid value: its public key is not the one in spec.certificateSigningRequest',
    ]);
  });

  it('is denied without signedCertificate or signingRootCa', () => {
    expect(check(finished({}))).toEqual([
      'status.signedCertificate: Required value: must hold the signed certificate when status.state is FINISHED',
      'status.signingRootCa: Required value: must hold the root CA when status.state is FINISHED',
    ]);
  });

  it('is denied when a block is PEM-shaped but not a certificate', () => {
    const fake = '-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n';
    const errors = check(finished({ signedCertificate: b64(fake), signingRootCa: b64(pki.rootCert) }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^status\.signedCertificate: Invalid value: certificate 1 does not parse \(not a Certificate\)$/,
    );
  });

  it('is denied when a certificate is not DER through and through: an extension value, a key', () => {
    const der = Buffer.from(pki.otherRootCert.replace(/-----[A-Z ]+-----/g, ''), 'base64');
    const pem = (d: Buffer) =>
      `-----BEGIN CERTIFICATE-----\n${d.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    // basicConstraints' value (OCTET STRING 04 05, then 30 03 01 01 ff) made a multi-octet tag.
    const bc = der.indexOf(Buffer.from('0603551d13', 'hex'));
    const badExt = Buffer.from(der);
    const value = der.indexOf(Buffer.from('0405', 'hex'), bc) + 2;
    expect(der[value]).toBe(0x30);
    badExt[value] = 0x1f;
    // The RSA modulus INTEGER made a BOOLEAN: structure intact, the key does not import.
    const badKey = Buffer.from(der);
    const modulus = der.indexOf(Buffer.from('0282010100', 'hex'));
    badKey[modulus] = 0x01;
    for (const [bad, why] of [
      [badExt, /^status\.signingRootCa: Invalid value: certificate 2 does not parse \(multi-octet tag\)$/],
      [badKey, /^status\.signingRootCa: Invalid value: certificate 2 does not parse: the public key does not parse$/],
    ] as const) {
      // An extra root that does not parse is refused, though the leaf chains to the first one.
      const errors = check(
        finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.rootCert + pem(bad)) }),
      );
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(why);
    }
  });

  it('leaves a field that is not PEM to the schema, which names the problem once', () => {
    const junk = `${pki.signedByRoot}-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n`;
    const obj = finished({ signedCertificate: b64(junk), signingRootCa: b64(pki.rootCert) });
    expect(validateUpdate(pending(2), obj)).toEqual([]);
    expect(validateObject(obj).map(formatFieldError)).toEqual([
      expect.stringMatching(
        /^status\.signedCertificate: Invalid value: .*PEM block 2 \(CERTIFICATE\) has a body that is not base64$/,
      ),
    ]);
  });

  it('is admitted from FAILED (Gloo Mesh re-signs straight away) and checked the same way', () => {
    const failed = finished({}, 2);
    failed.status = { observedGeneration: 2, state: 'FAILED', error: 'no signing secret' };
    expect(
      validateUpdate(failed, finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.rootCert) })),
    ).toEqual([]);
    expect(
      validateUpdate(
        failed,
        finished({ signedCertificate: b64(pki.signedOtherKey), signingRootCa: b64(pki.rootCert) }),
      ),
    ).toHaveLength(1);
  });
});

describe('a stale FINISHED CertificateRequest', () => {
  it('is left alone after a spec write until the issuer catches up', () => {
    // The agent replaced the CSR (generation 3); the status still answers generation 2.
    const old = finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.rootCert) }, 2);
    const neu = structuredClone(old);
    neu.metadata.generation = 3;
    neu.spec.certificateSigningRequest = b64(pki.otherCsr);
    expect(validateUpdate(old, neu)).toEqual([]);
  });

  it('is checked again once the issuer writes the new generation', () => {
    const old = finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.rootCert) }, 3, 2);
    old.spec.certificateSigningRequest = b64(pki.otherCsr);
    const good = finished({ signedCertificate: b64(pki.signedOtherKey), signingRootCa: b64(pki.rootCert) }, 3, 3);
    good.spec.certificateSigningRequest = b64(pki.otherCsr);
    expect(validateUpdate(old, good)).toEqual([]);
    const stale = finished({ signedCertificate: b64(pki.signedByRoot), signingRootCa: b64(pki.rootCert) }, 3, 3);
    stale.spec.certificateSigningRequest = b64(pki.otherCsr);
    expect(validateUpdate(old, stale).map(formatFieldError)).toEqual([
      'status.signedCertificate: Invalid value: its public key is not the one in spec.certificateSigningRequest',
    ]);
  });
});

it('an unchanged FINISHED object is not re-verified on metadata-only writes', () => {
  // An expired or otherwise broken old status must not block a label change.
  const broken = finished({ signedCertificate: b64(pki.signedOtherKey), signingRootCa: b64(pki.rootCert) });
  const relabelled = structuredClone(broken);
  relabelled.metadata.labels = { team: 'mesh' };
  expect(validateUpdate(broken, relabelled)).toEqual([]);
});
