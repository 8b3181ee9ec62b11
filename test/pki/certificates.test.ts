import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificateFingerprint,
  createCsr,
  createRootCa,
  describeKey,
  generateRsaKey,
  NOT_BEFORE_SKEW_MS,
  parseCertificate,
  PkiError,
  privateKeyMatchesCert,
  publicKeyOfCsrMatchesCert,
  signIntermediate,
  splitPem,
  verifyChain,
} from '#schemas/x509/index.js';
import { DAY, Workdir } from './openssl.js';

const w = new Workdir();
type Key = { privateKeyPem: string; publicKeyPem: string };
let rootKey: Key;
let otherRootKey: Key;
let caKey: Key;
let root: string;
const HOSTS = [
  'spiffe://cluster-1.local/ns/istio-system/sa/istiod',
  '10.0.0.7',
  '2001:db8::7',
  'istiod.istio-system.svc',
];

beforeAll(async () => {
  [rootKey, otherRootKey, caKey] = await Promise.all([
    generateRsaKey(2048),
    generateRsaKey(2048),
    generateRsaKey(2048),
  ]);
  root = createRootCa({
    privateKeyPem: rootKey.privateKeyPem,
    subject: { O: 'gloo-mesh', CN: 'root-ca' },
    ttlDays: 3650,
  });
});
afterAll(() => w.cleanup());

function csrFor(key: Key, ou = 'cluster-1'): string {
  return createCsr({ privateKeyPem: key.privateKeyPem, subject: { O: 'gloo-mesh', OU: ou }, hosts: HOSTS });
}

describe('createRootCa', () => {
  it('is a self-signed CA that openssl accepts as a trust anchor, with the CA extensions and SKI = AKI', () => {
    const text = w.text(root);
    expect(text).toMatch(/Issuer: O\s*=\s*gloo-mesh, CN\s*=\s*root-ca/);
    expect(text).toMatch(/Subject: O\s*=\s*gloo-mesh, CN\s*=\s*root-ca/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
    expect(text).not.toMatch(/pathlen/i);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    const ski = text.match(/Subject Key Identifier:\s+([0-9A-F:]+)/)?.[1];
    const aki = text.match(/Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/)?.[1];
    expect(ski).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(aki).toBe(ski);
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(w.verify({ certPem: root, rootPems: [root] }).ok).toBe(true);
    // The key in the certificate is the one we gave.
    expect(w.ok(['x509', '-noout', '-pubkey', '-in', w.file(root)]).trim()).toBe(rootKey.publicKeyPem.trim());
    expect(privateKeyMatchesCert(rootKey.privateKeyPem, root)).toBe(true);
  });

  it('refuses a TTL that is not a positive number of days and a subject without O or CN', () => {
    expect(() => createRootCa({ privateKeyPem: rootKey.privateKeyPem, subject: { O: 'x' }, ttlDays: 0 })).toThrow(
      /^ttlDays: expected a number of days greater than 0/,
    );
    expect(() =>
      createRootCa({ privateKeyPem: rootKey.privateKeyPem, subject: { O: 'x' }, ttlDays: Number.NaN }),
    ).toThrow(PkiError);
    expect(() => createRootCa({ privateKeyPem: rootKey.privateKeyPem, subject: {}, ttlDays: 1 })).toThrow(
      /subject: a root CA needs at least O or CN/,
    );
  });
});

describe('signIntermediate', () => {
  it('signs a CA certificate openssl verifies against the root, with the extensions, subject, SANs, validity and serial we promise', () => {
    const now = new Date();
    const cert = signIntermediate({
      csrPem: csrFor(caKey),
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts: HOSTS,
      ttlDays: 90,
      now,
    });
    const v = w.verify({ certPem: cert, rootPems: [root] });
    expect(v.ok, v.output).toBe(true);

    const text = w.text(cert);
    expect(text).toMatch(/Version: 3 \(0x2\)/);
    expect(text).toMatch(/Subject: O\s*=\s*gloo-mesh, OU\s*=\s*cluster-1\n/);
    expect(text).toMatch(/Issuer: O\s*=\s*gloo-mesh, CN\s*=\s*root-ca/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
    expect(text).not.toMatch(/pathlen/i);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(text).toMatch(
      /X509v3 Subject Alternative Name: \n\s+URI:spiffe:\/\/cluster-1.local\/ns\/istio-system\/sa\/istiod, IP Address:10.0.0.7, IP Address:2001:DB8:0:0:0:0:0:7, DNS:istiod.istio-system.svc/,
    );
    // AKI of the intermediate is the root's SKI; its own SKI is of its own key.
    const rootSki = w.text(root).match(/Subject Key Identifier:\s+([0-9A-F:]+)/)?.[1];
    expect(text.match(/Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/)?.[1]).toBe(rootSki);
    expect(text.match(/Subject Key Identifier:\s+([0-9A-F:]+)/)?.[1]).not.toBe(rootSki);
    expect(privateKeyMatchesCert(caKey.privateKeyPem, cert)).toBe(true);

    // Validity: now - 5 minutes to now + ttlDays (whole seconds).
    const dates = w.ok(['x509', '-noout', '-startdate', '-enddate', '-in', w.file(cert)]);
    const nb = new Date(dates.match(/notBefore=(.*)/)![1]);
    const na = new Date(dates.match(/notAfter=(.*)/)![1]);
    const sec = Math.floor(now.getTime() / 1000) * 1000;
    expect(nb.getTime()).toBe(sec - NOT_BEFORE_SKEW_MS);
    expect(na.getTime()).toBe(sec + 90 * DAY);

    // Serial: 128 random bits, positive.
    const serial = w
      .ok(['x509', '-noout', '-serial', '-in', w.file(cert)])
      .trim()
      .replace('serial=', '');
    expect(serial).toMatch(/^[0-9A-F]+$/);
    expect(BigInt('0x' + serial) > 0n).toBe(true);
    expect(BigInt('0x' + serial) < 2n ** 128n).toBe(true);
    const info = parseCertificate(cert);
    expect(info.serial).toBe(serial.toLowerCase());
  });

  it('gives each certificate a different serial', () => {
    const csr = csrFor(caKey);
    const serials = new Set(
      Array.from(
        { length: 20 },
        () =>
          parseCertificate(
            signIntermediate({
              csrPem: csr,
              issuerCertPem: root,
              issuerKeyPem: rootKey.privateKeyPem,
              hosts: HOSTS,
              ttlDays: 1,
            }),
          ).serial,
      ),
    );
    expect(serials.size).toBe(20);
  });

  it('can sign under an intermediate (no path length limit), and openssl verifies the 3-level chain', () => {
    const mid = signIntermediate({
      csrPem: csrFor(caKey, 'mid'),
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts: ['mid.example'],
      ttlDays: 30,
    });
    const leaf = signIntermediate({
      csrPem: csrFor(otherRootKey, 'leaf'),
      issuerCertPem: mid,
      issuerKeyPem: caKey.privateKeyPem,
      hosts: ['leaf.example'],
      ttlDays: 10,
    });
    const v = w.verify({ certPem: leaf, chainPems: [mid], rootPems: [root] });
    expect(v.ok, v.output).toBe(true);
    expect(w.verify({ certPem: leaf, rootPems: [root] }).ok).toBe(false);
  });

  it('verifies the CSR first and names what is wrong', () => {
    const csr = csrFor(caKey);
    const der = Buffer.from(csr.replace(/-----[A-Z ]+-----/g, ''), 'base64');
    der[der.length - 3] ^= 0xff; // inside the signature
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() =>
      signIntermediate({
        csrPem: bad,
        issuerCertPem: root,
        issuerKeyPem: rootKey.privateKeyPem,
        hosts: HOSTS,
        ttlDays: 1,
      }),
    ).toThrow(/^csrPem: the CSR's signature does not verify/);
  });

  it('refuses a CSR with an RSA key below 2048 bits (openssl-made)', () => {
    w.ok(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'weak.key']);
    const weak = w.ok(['req', '-new', '-key', w.path('weak.key'), '-subj', '/O=gloo-mesh/OU=weak']);
    expect(w.reqVerify(weak).ok).toBe(true);
    expect(() =>
      signIntermediate({
        csrPem: weak,
        issuerCertPem: root,
        issuerKeyPem: rootKey.privateKeyPem,
        hosts: HOSTS,
        ttlDays: 1,
      }),
    ).toThrow("csrPem: the CSR's RSA key has 1024 bits; at least 2048 are required");
  });

  it("refuses an issuer key that is not the issuer certificate's, and a non-CA issuer", () => {
    expect(() =>
      signIntermediate({
        csrPem: csrFor(caKey),
        issuerCertPem: root,
        issuerKeyPem: otherRootKey.privateKeyPem,
        hosts: HOSTS,
        ttlDays: 1,
      }),
    ).toThrow('issuerKeyPem: does not match issuerCertPem');
    // A non-CA certificate made by openssl, signed by our root.
    const ext = w.file('basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n', 'leaf.ext');
    const leafCsr = w.file(csrFor(otherRootKey, 'leaf'));
    const leaf = w.ok([
      'x509',
      '-req',
      '-in',
      leafCsr,
      '-CA',
      w.file(root),
      '-CAkey',
      w.file(rootKey.privateKeyPem),
      '-set_serial',
      '7',
      '-days',
      '5',
      '-extfile',
      ext,
    ]);
    expect(() =>
      signIntermediate({
        csrPem: csrFor(caKey),
        issuerCertPem: leaf,
        issuerKeyPem: otherRootKey.privateKeyPem,
        hosts: HOSTS,
        ttlDays: 1,
      }),
    ).toThrow(/issuerCertPem: .*is not a CA certificate/);
  });

  it('refuses to sign with an expired issuer', () => {
    const past = new Date(Date.now() - 400 * DAY);
    const oldRoot = createRootCa({
      privateKeyPem: otherRootKey.privateKeyPem,
      subject: { CN: 'old' },
      ttlDays: 30,
      now: past,
    });
    expect(() =>
      signIntermediate({
        csrPem: csrFor(caKey),
        issuerCertPem: oldRoot,
        issuerKeyPem: otherRootKey.privateKeyPem,
        hosts: HOSTS,
        ttlDays: 1,
      }),
    ).toThrow(/issuerCertPem: "CN=old" expired at/);
  });

  it('signs with EC and Ed25519 issuer keys too (made by openssl), and openssl verifies the results', () => {
    w.ok(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'ec-issuer.key']);
    w.ok(['genpkey', '-algorithm', 'ED25519', '-out', 'ed-issuer.key']);
    for (const [file, alg] of [
      ['ec-issuer.key', /ecdsa-with-SHA384/],
      ['ed-issuer.key', /ED25519/],
    ] as const) {
      const issuerKey = w.read(file);
      const issuer = createRootCa({ privateKeyPem: issuerKey, subject: { O: 'gloo-mesh', CN: file }, ttlDays: 10 });
      expect(w.verify({ certPem: issuer, rootPems: [issuer] }).ok).toBe(true);
      const cert = signIntermediate({
        csrPem: csrFor(caKey),
        issuerCertPem: issuer,
        issuerKeyPem: issuerKey,
        hosts: HOSTS,
        ttlDays: 5,
      });
      const v = w.verify({ certPem: cert, rootPems: [issuer] });
      expect(v.ok, v.output).toBe(true);
      expect(w.text(cert)).toMatch(alg);
    }
  });

  it('works with a 4096-bit key', async () => {
    const big = await generateRsaKey(4096);
    expect(describeKey(big.privateKeyPem)).toEqual({ type: 'RSA', bits: 4096 });
    const csr = createCsr({
      privateKeyPem: big.privateKeyPem,
      subject: { O: 'gloo-mesh', OU: 'big' },
      hosts: ['big.example'],
    });
    expect(w.reqVerify(csr).ok).toBe(true);
    const cert = signIntermediate({
      csrPem: csr,
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts: ['big.example'],
      ttlDays: 1,
    });
    expect(w.verify({ certPem: cert, rootPems: [root] }).ok).toBe(true);
    expect(parseCertificate(cert)).toMatchObject({ keyType: 'RSA', keyBits: 4096 });
    expect(w.text(cert)).toMatch(/Public-Key: \(4096 bit\)/);
  });
});

describe('parseCertificate', () => {
  it('reads a PEM body as openssl does: line breaks and spaces anywhere, nothing else', () => {
    const lines = root.split('\n');
    const body = lines.slice(1, -2);
    const withBody = (b: string[]) => [lines[0], ...b, ...lines.slice(-2)].join('\n');
    const at = (i: number, f: (line: string) => string) => withBody(body.map((l, j) => (j === i ? f(l) : l)));
    const variants: Record<string, string> = {
      'CRLF line ends': root.replace(/\n/g, '\r\n'),
      'a space inside a line': at(1, (l) => `${l.slice(0, 10)} ${l.slice(10)}`),
      'a tab at the end of a line': at(2, (l) => `${l}\t`),
      'one long line': withBody([body.join('')]),
      // U+0141 after the first letter: a decoder that reads low bytes would take it for "A".
      'a non-ASCII letter': at(1, (l) => `${l.slice(0, 5)}\u0141${l.slice(6)}`),
      'a stray !': at(1, (l) => `${l.slice(0, 5)}!${l.slice(5)}`),
      'a URL-safe - for +': at(0, (l) => l.replace('+', '-')),
    };
    let read = 0;
    for (const [name, pem] of Object.entries(variants)) {
      const theirs = w.openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', w.file(pem)]);
      let ours: string | Error;
      try {
        ours = parseCertificate(pem).fingerprintSha256;
      } catch (e) {
        ours = e as Error;
      }
      if (theirs.code === 0) {
        read++;
        expect(ours, name).toBe(theirs.stdout.trim().split('=')[1]);
      } else {
        expect(ours, name).toBeInstanceOf(PkiError);
        expect((ours as Error).message, name).toContain('not base64');
      }
    }
    // Both answers must occur, or the comparison proves little.
    expect(read).toBeGreaterThanOrEqual(3);
    expect(read).toBeLessThan(Object.keys(variants).length);
    // splitPem makes a readable body canonical and passes the others on as written, for the
    // parser to refuse.
    expect(splitPem(variants['CRLF line ends']!)).toEqual([{ type: 'CERTIFICATE', pem: root }]);
    const [bad] = splitPem(variants['a non-ASCII letter']!);
    expect(bad!.pem).toContain('\u0141');
    expect(() => parseCertificate(bad!.pem)).toThrow(/not base64/);
  });

  it('agrees with openssl on our certificates', () => {
    const cert = signIntermediate({
      csrPem: csrFor(caKey),
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts: HOSTS,
      ttlDays: 30,
    });
    const info = parseCertificate(cert);
    const fp = w
      .ok(['x509', '-noout', '-fingerprint', '-sha256', '-in', w.file(cert)])
      .trim()
      .split('=')[1];
    expect(info.fingerprintSha256).toBe(fp);
    expect(certificateFingerprint(cert)).toBe(fp);
    expect(info).toMatchObject({
      subject: { O: 'gloo-mesh', OU: 'cluster-1' },
      subjectText: 'O=gloo-mesh, OU=cluster-1',
      issuer: { O: 'gloo-mesh', CN: 'root-ca' },
      hosts: [
        'spiffe://cluster-1.local/ns/istio-system/sa/istiod',
        '10.0.0.7',
        '2001:db8::7',
        'istiod.istio-system.svc',
      ],
      isCA: true,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      keyType: 'RSA',
      keyBits: 2048,
      signatureAlgorithm: 'sha256WithRSAEncryption',
      selfSigned: false,
    });
    expect(info.pathLen).toBeUndefined();
    expect(info.sans.map((s) => s.type)).toEqual(['URI', 'IP', 'IP', 'DNS']);
    expect(parseCertificate(root).selfSigned).toBe(true);
    expect(info.authorityKeyId).toBe(parseCertificate(root).subjectKeyId);
  });

  it('reads certificates openssl made: EC key, pathlen, extended key usage, GeneralizedTime beyond 2049', () => {
    w.ok(['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'p384.key']);
    const pem = w.ok([
      'req',
      '-x509',
      '-new',
      '-key',
      w.path('p384.key'),
      '-subj',
      '/C=US/O=acme/CN=ec-root',
      '-days',
      '15000',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:1',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'extendedKeyUsage=serverAuth,clientAuth',
      '-addext',
      'subjectAltName=DNS:ec.acme.io,email:ops@acme.io',
    ]);
    const info = parseCertificate(pem);
    const dates = w.ok(['x509', '-noout', '-startdate', '-enddate', '-serial', '-in', w.file(pem)]);
    expect(info.notBefore.getTime()).toBe(new Date(dates.match(/notBefore=(.*)/)![1]).getTime());
    expect(info.notAfter.getTime()).toBe(new Date(dates.match(/notAfter=(.*)/)![1]).getTime());
    expect(info.notAfter.getUTCFullYear()).toBeGreaterThan(2049);
    expect(info.serial).toBe(dates.match(/serial=(.*)/)![1].toLowerCase());
    expect(info).toMatchObject({
      subject: { C: 'US', O: 'acme', CN: 'ec-root' },
      isCA: true,
      pathLen: 1,
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: ['serverAuth', 'clientAuth'],
      keyType: 'EC',
      keyBits: 384,
      curve: 'P-384',
      sans: [
        { type: 'DNS', value: 'ec.acme.io' },
        { type: 'email', value: 'ops@acme.io' },
      ],
      signatureAlgorithm: 'ecdsa-with-SHA256',
      selfSigned: true,
    });
  });

  it('reads a certificate with an empty subject, as SPIFFE workload certificates have', () => {
    const pem = w.ok([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      w.path('empty-subject.key'),
      '-subj',
      '/',
      '-addext',
      'subjectAltName=critical,URI:spiffe://c1/ns/a/sa/b',
      '-days',
      '2',
    ]);
    const info = parseCertificate(pem);
    expect(info.subjectText).toBe('');
    expect(info.hosts).toEqual(['spiffe://c1/ns/a/sa/b']);
    expect(verifyChain({ certPem: pem, rootPems: [pem] }).ok).toBe(true);
  });

  it('throws PkiError for text that is not a certificate', () => {
    expect(() => parseCertificate('nope')).toThrow(/certificate: no PEM CERTIFICATE block found/);
    expect(() => parseCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow(
      /certificate: the certificate does not parse/,
    );
  });
});

describe('public and private key matching', () => {
  it('tells whether a CSR and a certificate carry the same key, and a private key belongs to a certificate', () => {
    const csr = csrFor(caKey);
    const cert = signIntermediate({
      csrPem: csr,
      issuerCertPem: root,
      issuerKeyPem: rootKey.privateKeyPem,
      hosts: HOSTS,
      ttlDays: 1,
    });
    expect(publicKeyOfCsrMatchesCert(csr, cert)).toBe(true);
    expect(publicKeyOfCsrMatchesCert(csrFor(otherRootKey), cert)).toBe(false);
    expect(privateKeyMatchesCert(caKey.privateKeyPem, cert)).toBe(true);
    expect(privateKeyMatchesCert(otherRootKey.privateKeyPem, cert)).toBe(false);
    // The same pair through openssl: the moduli are equal.
    const mod = (args: string[]) => w.ok(args).trim();
    expect(mod(['x509', '-noout', '-modulus', '-in', w.file(cert)])).toBe(
      mod(['req', '-noout', '-modulus', '-in', w.file(csr)]),
    );
  });

  it('describes keys by type and size only', () => {
    expect(describeKey(caKey.privateKeyPem)).toEqual({ type: 'RSA', bits: 2048 });
    w.ok(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'p256.key']);
    expect(describeKey(w.read('p256.key'))).toEqual({ type: 'EC', bits: 256, curve: 'P-256' });
    w.ok(['genrsa', '-traditional', '-out', 'pkcs1.key', '2048']);
    expect(w.read('pkcs1.key')).toMatch(/BEGIN RSA PRIVATE KEY/);
    expect(describeKey(w.read('pkcs1.key'))).toEqual({ type: 'RSA', bits: 2048 });
    w.ok([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-aes256',
      '-pass',
      'pass:x',
      '-out',
      'enc.key',
    ]);
    expect(() => describeKey(w.read('enc.key'))).toThrow(
      'privateKeyPem: the private key is encrypted; give it unencrypted',
    );
  });
});
