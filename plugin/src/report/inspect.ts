// What `inspect` reports: every certificate and key of a Secret or CertificateRequest decoded
// (never the key itself), and the verifications: the chain to the root, the key matching the
// certificate, and whether the CA was signed by the root currently in use. Building the report
// only: inspect-render.ts prints it.
import * as pki from '#schemas/x509/index.js';
import { LEGACY_KEY, TLS_KEYS } from '#schemas/x509/secret-keys.js';
import type { CertificateRequestSpec, CertificateRequestStatus } from '#schemas/src/index.js';
import { daysLeft } from '../lib/certs.js';
import { errorMessage } from '../lib/errors.js';
import type { KObject, Secret } from '../lib/k8s.js';
import { PRIVATE_KEY_DATA_KEY, PRIVATE_KEY_SECRET_TYPE } from '../engine/resources.js';

const { ISTIO_KEYS } = pki;

export interface CertReport {
  source: string;
  /** The same certificate was listed first under this source (the rest of the report is omitted in text). */
  sameAs?: string;
  subject: string;
  issuer: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  serial: string;
  isCA: boolean;
  pathLen?: number;
  keyUsage: string[];
  keyType: string;
  keyBits: number;
  selfSigned: boolean;
  fingerprintSha256: string;
}

export interface Check {
  name: string;
  ok: boolean | null;
  message: string;
}

export interface KeyReport {
  source: string;
  keyType: string;
  keyBits: number;
  matchesCertificate?: boolean;
}

export interface CurrentRoot {
  source: string;
  pems: string[];
}

export interface SecretReport {
  kind: 'SecretInspection';
  cluster: string;
  namespace: string;
  name: string;
  type: string;
  layout: 'istio' | 'legacy' | 'generated-private-key' | 'tls' | 'unknown';
  dataKeys: string[];
  certificates: CertReport[];
  privateKeys: KeyReport[];
  checks: Check[];
  warnings: string[];
}

export interface CsrReport {
  subject: string;
  hosts: string[];
  keyType: string;
  keyBits: number;
  spkiSha256: string;
  signatureAlgorithm: string;
}

export interface CertificateRequestReport {
  kind: 'CertificateRequestInspection';
  cluster: string;
  namespace: string;
  name: string;
  state: string;
  generation?: number;
  observedGeneration?: number;
  error?: string;
  csr?: CsrReport;
  certificates: CertReport[];
  checks: Check[];
}

function certReport(pem: string, source: string, now: number): CertReport {
  const c = pki.parseCertificate(pem);
  return {
    source,
    subject: c.subjectText,
    issuer: c.issuerText,
    sans: c.hosts,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    daysLeft: daysLeft(c.notAfter.toISOString(), now),
    serial: c.serial,
    isCA: c.isCA,
    ...(c.pathLen !== undefined ? { pathLen: c.pathLen } : {}),
    keyUsage: c.keyUsage,
    keyType: c.keyType,
    keyBits: c.keyBits,
    selfSigned: c.selfSigned,
    fingerprintSha256: c.fingerprintSha256,
  };
}

const certBlocks = (t: string | undefined) => (t ? pki.certificatesIn(t) : []);

/**
 * A reader of base64 values (`where(key)` names one in messages) that records each value that is
 * not base64 as a failed check, once, and reads it as absent: the rest of the report still stands.
 */
function decoder(
  values: Record<string, string | undefined>,
  checks: Check[],
  where: (key: string) => string,
): (key: string) => string | undefined {
  const failed = new Set<string>();
  return (key) => {
    try {
      return pki.base64Text(values[key], where(key)) || undefined;
    } catch (err) {
      if (!(err instanceof pki.PkiError)) throw err;
      if (!failed.has(key)) checks.push({ name: `${key} decodes`, ok: false, message: err.message });
      failed.add(key);
      return undefined;
    }
  };
}

function layoutOf(s: Secret): SecretReport['layout'] {
  const d = s.data ?? {};
  if (d[ISTIO_KEYS.caCert] && d[ISTIO_KEYS.caKey]) return 'istio';
  if (d[LEGACY_KEY] && d[ISTIO_KEYS.rootCert]) return 'legacy';
  if (d[PRIVATE_KEY_DATA_KEY] || s.type === PRIVATE_KEY_SECRET_TYPE) return 'generated-private-key';
  if (d[TLS_KEYS.cert]) return 'tls';
  if (d[ISTIO_KEYS.caCert] || d[ISTIO_KEYS.rootCert] || d[ISTIO_KEYS.certChain]) return 'istio';
  return 'unknown';
}

function chainCheck(certPem: string, chainPems: string[], rootPems: string[], name: string, against: string): Check {
  if (rootPems.length === 0) return { name, ok: false, message: `no root to verify against (${against} is empty)` };
  const r = pki.verifyChain({ certPem, chainPems, rootPems });
  return r.ok
    ? { name, ok: true, message: `verifies against ${against} (path of ${r.path.length})` }
    : { name, ok: false, message: `does not verify against ${against}: ${r.error}` };
}

function currentRootCheck(certPem: string, chainPems: string[], current: CurrentRoot | undefined): Check {
  const name = 'signed by the current root';
  if (!current)
    return { name, ok: null, message: 'unknown: no IssuedCertificate points here and no --root-secret was given' };
  if (current.pems.length === 0) return { name, ok: false, message: `${current.source} holds no root certificate` };
  const r = pki.verifyChain({ certPem, chainPems, rootPems: current.pems });
  return r.ok
    ? { name, ok: true, message: `chains to the root of ${current.source}` }
    : { name, ok: false, message: `does not chain to the root of ${current.source}: ${r.error}` };
}

export function inspectSecret(
  cluster: string,
  s: Secret,
  current: CurrentRoot | undefined,
  now = Date.now(),
): SecretReport {
  const d = s.data ?? {};
  const layout = layoutOf(s);
  const report: SecretReport = {
    kind: 'SecretInspection',
    cluster,
    namespace: s.metadata.namespace ?? '',
    name: s.metadata.name,
    type: s.type ?? 'Opaque',
    layout,
    dataKeys: Object.keys(d).sort(),
    certificates: [],
    privateKeys: [],
    checks: [],
    warnings: [],
  };
  const text = decoder(d, report.checks, (key) => `Secret ${report.namespace}/${report.name} ${key}`);
  // Every PEM certificate in any key, in key order.
  for (const key of report.dataKeys) {
    const blocks = certBlocks(text(key));
    blocks.forEach((pem, i) => {
      try {
        const c = certReport(pem, blocks.length > 1 ? `${key}[${i}]` : key, now);
        const first = report.certificates.find((x) => x.fingerprintSha256 === c.fingerprintSha256 && !x.sameAs);
        if (first) c.sameAs = first.source;
        report.certificates.push(c);
      } catch (err) {
        report.checks.push({ name: `${key}[${i}] parses`, ok: false, message: errorMessage(err) });
      }
    });
  }
  const caCert = certBlocks(text(ISTIO_KEYS.caCert) ?? text(TLS_KEYS.cert))[0];
  for (const key of [ISTIO_KEYS.caKey, LEGACY_KEY, PRIVATE_KEY_DATA_KEY, TLS_KEYS.key]) {
    const pem = text(key);
    if (!pem) continue;
    try {
      const k = pki.describeKey(pem);
      const rep: KeyReport = { source: key, keyType: k.type, keyBits: k.bits };
      if (caCert && key !== PRIVATE_KEY_DATA_KEY) rep.matchesCertificate = pki.privateKeyMatchesCert(pem, caCert);
      report.privateKeys.push(rep);
    } catch (err) {
      report.checks.push({ name: `${key} parses`, ok: false, message: errorMessage(err) });
    }
  }

  if (layout === 'istio' || layout === 'legacy') {
    const v = pki.verifySigningSecret(d);
    if (v.ok) {
      report.checks.push({
        name: 'signing Secret layout',
        ok: true,
        message: `valid ${layout === 'legacy' ? 'legacy (key.pem)' : 'Istio cacerts'} layout; ca-key matches ca-cert`,
      });
      report.warnings.push(...v.warnings);
      report.checks.push(chainCheck(v.caCertPem, v.chainPems, v.rootPems, 'chain to root-cert.pem', 'root-cert.pem'));
      report.checks.push(currentRootCheck(v.caCertPem, v.chainPems, current));
    } else {
      report.checks.push({ name: 'signing Secret layout', ok: false, message: v.error });
      const roots = certBlocks(text(ISTIO_KEYS.rootCert));
      const chain = certBlocks(text(ISTIO_KEYS.certChain));
      if (caCert) {
        report.checks.push(chainCheck(caCert, chain.slice(1), roots, 'chain to root-cert.pem', 'root-cert.pem'));
        report.checks.push(currentRootCheck(caCert, chain.slice(1), current));
      }
    }
  } else if (layout === 'tls' && caCert) {
    const roots = certBlocks(text(TLS_KEYS.ca));
    if (roots.length)
      report.checks.push(
        chainCheck(caCert, certBlocks(text(TLS_KEYS.cert)).slice(1), roots, 'chain to ca.crt', 'ca.crt'),
      );
  } else if (layout === 'unknown') {
    report.checks.push({
      name: 'known layout',
      ok: false,
      message: `keys ${report.dataKeys.join(', ') || '(none)'} match no known layout (Istio cacerts: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)`,
    });
  }
  for (const c of report.certificates) {
    if (c.daysLeft < 0) report.warnings.push(`${c.source} expired on ${c.notAfter}`);
  }
  return report;
}

/** A CertificateRequest as read: schemas' spec and status types (the contract), the client's metadata. */
export type CrObject = KObject & { spec?: CertificateRequestSpec; status?: CertificateRequestStatus };

export function inspectCertificateRequest(
  cluster: string,
  cr: CrObject,
  current: CurrentRoot | undefined,
  now = Date.now(),
): CertificateRequestReport {
  const st = cr.status ?? {};
  const report: CertificateRequestReport = {
    kind: 'CertificateRequestInspection',
    cluster,
    namespace: cr.metadata.namespace ?? '',
    name: cr.metadata.name,
    state: st.state ?? 'PENDING',
    generation: cr.metadata.generation,
    observedGeneration: st.observedGeneration,
    ...(st.error ? { error: st.error } : {}),
    certificates: [],
    checks: [],
  };
  const fields = {
    'spec.certificateSigningRequest': cr.spec?.certificateSigningRequest,
    'status.signedCertificate': st.signedCertificate,
    'status.signingRootCa': st.signingRootCa,
    'status.certChain': st.certChain,
  };
  const text = decoder(fields, report.checks, (field) => field);
  const csrPem = text('spec.certificateSigningRequest');
  if (!csrPem) report.checks.push({ name: 'CSR', ok: false, message: 'spec.certificateSigningRequest is empty' });
  else {
    try {
      const c = pki.verifyCsr(csrPem);
      report.csr = {
        subject: c.subjectText,
        hosts: c.hosts,
        keyType: c.keyType,
        keyBits: c.keyBits,
        spkiSha256: c.spkiSha256,
        signatureAlgorithm: c.signatureAlgorithm,
      };
      report.checks.push({
        name: 'CSR signature',
        ok: true,
        message: 'the CSR parses and its self-signature verifies',
      });
    } catch (err) {
      report.checks.push({ name: 'CSR signature', ok: false, message: errorMessage(err) });
    }
  }
  const signed = certBlocks(text('status.signedCertificate'));
  const roots = certBlocks(text('status.signingRootCa'));
  const chain = certBlocks(text('status.certChain'));
  // A certificate whose names or extensions do not decode is a failed check, not a failed command.
  const add = (pem: string, source: string): void => {
    try {
      report.certificates.push(certReport(pem, source, now));
    } catch (err) {
      report.checks.push({ name: `${source} parses`, ok: false, message: errorMessage(err) });
    }
  };
  signed.forEach((p, i) => add(p, signed.length > 1 ? `status.signedCertificate[${i}]` : 'status.signedCertificate'));
  roots.forEach((p, i) => add(p, roots.length > 1 ? `status.signingRootCa[${i}]` : 'status.signingRootCa'));
  if (signed[0]) {
    // certChain (extension) is the signed certificate followed by the signer's chain.
    const intermediates = chain.length ? chain.slice(1) : signed.slice(1);
    report.checks.push(chainCheck(signed[0], intermediates, roots, 'chain to signingRootCa', 'status.signingRootCa'));
    if (csrPem) {
      let match = false;
      try {
        match = pki.publicKeyOfCsrMatchesCert(csrPem, signed[0]);
      } catch {
        match = false;
      }
      report.checks.push({
        name: 'public key',
        ok: match,
        message: match
          ? "the signed certificate carries the CSR's public key"
          : "the signed certificate does not carry the CSR's public key (stale status for an older CSR?)",
      });
    }
    report.checks.push(currentRootCheck(signed[0], intermediates, current));
    if (report.generation !== undefined && (st.observedGeneration ?? 0) < report.generation) {
      report.checks.push({
        name: 'generation',
        ok: null,
        message: `status is for generation ${st.observedGeneration ?? 0}, the spec is at ${report.generation}: the issuer has not signed the current CSR yet`,
      });
    }
  } else {
    report.checks.push({ name: 'signed certificate', ok: null, message: `none yet (state ${report.state})` });
  }
  return report;
}

export function failedChecks(checks: Check[]): Check[] {
  return checks.filter((c) => c.ok === false);
}
