// Certificates as Gloo Mesh's issuer and zephyr's signer make them: Go's x509.CreateCertificate
// over the template of istio.io/istio security/pkg/pki/util (genCertTemplateFromCSR), not as
// mesh-cert's own issuer does. What sets them apart from ours:
//   - the subject is EMPTY (istio clears it; Gloo Mesh's copy of the function keeps the CSR's,
//     `subject: 'csr'` below), so the SAN extension is critical (RFC 5280 4.2.1.6);
//   - keyUsage is keyCertSign alone, critical; basicConstraints CA:TRUE critical, no pathLen;
//   - extensions in Go's order: keyUsage, basicConstraints, SKI, AKI, then the SAN (an
//     ExtraExtension, so last); NotBefore is now, with no skew; a random serial below 2^128;
//   - zephyr's signer passes no subject IDs: no SAN at all (`hosts: []`).
import { randomBytes } from 'node:crypto';
import jsrsasign from 'jsrsasign';

/** The slice of jsrsasign used here, typed once (its @types lag v11). */
interface JsrsasignCertApi {
  KJUR: {
    asn1: {
      x509: { Certificate: new (params: Record<string, unknown>) => { getPEM(): string } };
      csr: { CSRUtil: { getParam(csrPem: string): { subject: { array: unknown[] }; sbjpubkey: string } } };
    };
  };
  X509: new () => { readCertPEM(pem: string): void; getSubjectHex(): string };
}
const rs = jsrsasign as unknown as JsrsasignCertApi;

export interface IstioSignOptions {
  csrPem: string;
  issuerCertPem: string;
  issuerKeyPem: string;
  /** SANs (Gloo Mesh passes the IssuedCertificate's hosts); URIs only here, as Gloo Mesh writes spiffe IDs. */
  hosts: readonly string[];
  ttlDays: number;
  /** 'empty' as istio makes them (the default), 'csr' as Gloo Mesh's issuer keeps the CSR's subject. */
  subject?: 'empty' | 'csr';
  now?: Date;
}

/** YYMMDDHHMMSSZ (UTCTime), as Go encodes dates before 2050. */
function utcTime(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
}

/** rand.Int(2^128) as Go's DER has it: minimal two's complement, a 00 in front when the top bit is set. */
function serialHex(): string {
  let b = randomBytes(16);
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  return (b[0]! >= 0x80 ? '00' : '') + b.toString('hex');
}

/** A CA certificate for the CSR's key, signed by the issuer, shaped as Go + istio's pki/util shape it. */
export function istioSignedCa(opts: IstioSignOptions): string {
  const csr = rs.KJUR.asn1.csr.CSRUtil.getParam(opts.csrPem);
  const issuer = new rs.X509();
  issuer.readCertPEM(opts.issuerCertPem);
  const now = opts.now ?? new Date();
  const ext: Record<string, unknown>[] = [
    { extname: 'keyUsage', critical: true, names: ['keyCertSign'] },
    { extname: 'basicConstraints', critical: true, cA: true },
    { extname: 'subjectKeyIdentifier', kid: csr.sbjpubkey },
    { extname: 'authorityKeyIdentifier', kid: opts.issuerCertPem },
  ];
  if (opts.hosts.length > 0)
    ext.push({ extname: 'subjectAltName', critical: true, array: opts.hosts.map((uri) => ({ uri })) });
  return new rs.KJUR.asn1.x509.Certificate({
    version: 3,
    serial: { hex: serialHex() },
    issuer: { hex: issuer.getSubjectHex() },
    notbefore: utcTime(now),
    notafter: utcTime(new Date(now.getTime() + opts.ttlDays * 86_400_000)),
    subject: opts.subject === 'csr' ? { array: csr.subject.array } : { array: [] },
    sbjpubkey: csr.sbjpubkey,
    ext,
    sigalg: 'SHA256withRSA',
    cakey: opts.issuerKeyPem,
  }).getPEM();
}
