// The Istio `cacerts` Secret layout (its keys: secret-keys.ts), for signing Secrets (read) and
// issued Secrets (written). Legacy Gloo Mesh root Secrets hold key.pem + root-cert.pem (the root
// signs directly).
import { X509Certificate } from 'node:crypto';
import { type ChainFailure, certLabel, type RoleLabels, verifyChainDetailed } from './chain.js';
import { PkiError } from './errors.js';
import { describeKeyObject, type KeyDescription, privateKeyObject } from './keys.js';
import { type CertInfo, parseCertificateFull } from './parse.js';
import { certificatesIn, decodeBase64Strict, splitPem, textBase64 as b64 } from './pem.js';
import { ISTIO_KEYS, LEGACY_KEY, TLS_KEYS } from './secret-keys.js';

export { ISTIO_KEYS, LEGACY_KEY, TLS_KEYS };

/** A warning is given when the CA certificate expires within this many days. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export type SigningSecretResult =
  | { ok: true; caCertPem: string; caKeyPem: string; rootPems: string[]; chainPems: string[]; warnings: string[] }
  | { ok: false; error: string };

class SecretError extends Error {}

/**
 * One value of Secret.data as text. Base64 as the API returns it; PEM given as is (stringData
 * style) is accepted too.
 */
function decodeValue(data: Record<string, unknown>, key: string): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SecretError(`${key}: expected a base64 string, got ${typeof v}`);
  if (v.includes('-----BEGIN')) return v;
  // Line breaks are tolerated, as the API server's decoder of Secret data skips them (a value
  // pasted from `base64` output); other whitespace is not.
  const bytes = decodeBase64Strict(v.replace(/[\r\n]/g, ''));
  if (!bytes)
    throw new SecretError(
      `${key}: expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =; line breaks allowed, as in Secret data)`,
    );
  const text = bytes.toString('utf8');
  if (!text.includes('-----BEGIN')) throw new SecretError(`${key}: not PEM after base64 decoding`);
  return text;
}

function oneCert(text: string, key: string): string {
  const certs = certificatesIn(text);
  if (certs.length === 0) throw new SecretError(`${key}: no PEM certificate found`);
  if (certs.length > 1) throw new SecretError(`${key}: expected one certificate, found ${certs.length}`);
  return certs[0];
}

function parseAll(text: string, key: string): ReturnType<typeof parseCertificateFull>[] {
  const certs = certificatesIn(text);
  if (certs.length === 0) throw new SecretError(`${key}: no PEM certificate found`);
  return certs.map((pem, i) => {
    const label = certs.length > 1 ? `${key} certificate ${i + 1}` : key;
    try {
      const p = parseCertificateFull(pem, label);
      p.infoAs(label);
      return p;
    } catch (e) {
      throw new SecretError((e as Error).message);
    }
  });
}

function keyBlock(text: string, key: string): string {
  const blocks = splitPem(text).filter((b) => /PRIVATE KEY$/.test(b.type));
  if (blocks.length === 0) throw new SecretError(`${key}: no PEM private key found`);
  if (blocks.length > 1) throw new SecretError(`${key}: expected one private key, found ${blocks.length}`);
  try {
    privateKeyObject(blocks[0].pem, key);
  } catch (e) {
    throw new SecretError((e as Error).message);
  }
  return blocks[0].pem;
}

function keyMatches(keyPem: string, certPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(privateKeyObject(keyPem, 'key'));
  } catch {
    return false;
  }
}

/** How chain errors name the certificates of a Secret. */
const SECRET_LABELS: RoleLabels = {
  cert: ISTIO_KEYS.caCert,
  chain: (i) => `${ISTIO_KEYS.certChain} certificate ${i + 2}`,
  root: (i) => `${ISTIO_KEYS.rootCert} certificate ${i + 1}`,
  roots: ISTIO_KEYS.rootCert,
};

/** A chain failure in Secret terms: led by the key that holds what is wrong. */
function chainErrorForSecret(f: ChainFailure): string {
  const detail = f.certificate && f.why ? `certificate ${f.certificate}: ${f.why}` : f.error;
  const noIssuer =
    f.reason === 'no-issuer' || f.reason === 'issuer-key-mismatch' || f.reason === 'untrusted-self-signed';
  switch (f.role.kind) {
    case 'cert':
      return noIssuer
        ? `${ISTIO_KEYS.rootCert}: does not contain the root that issued ${ISTIO_KEYS.caCert} (${detail})`
        : `${ISTIO_KEYS.caCert}: ${detail}`;
    case 'chain':
      return noIssuer
        ? `${ISTIO_KEYS.rootCert}: does not contain the root that ${ISTIO_KEYS.certChain} leads to (${SECRET_LABELS.chain(f.role.index)}: ${detail})`
        : `${SECRET_LABELS.chain(f.role.index)}: ${detail}`;
    case 'root':
      return f.reason === 'no-roots' ? f.error : `${SECRET_LABELS.root(f.role.index)}: ${detail}`;
  }
}

/**
 * Check a signing Secret (Istio cacerts layout, base64 values as in Secret.data): ca-cert.pem is a
 * CA that chains to root-cert.pem through cert-chain.pem, and ca-key.pem is its key. Legacy
 * key.pem + root-cert.pem Secrets are read with a warning. Errors name the Secret key that is
 * wrong and never contain key material. `chainPems` are the certificates strictly between
 * ca-cert and the root.
 */
export function verifySigningSecret(data: Record<string, string>, opts: { at?: Date } = {}): SigningSecretResult {
  try {
    return { ok: true, ...readSigningSecret(data, opts.at ?? new Date()) };
  } catch (e) {
    if (e instanceof SecretError || e instanceof PkiError) return { ok: false, error: e.message };
    throw e;
  }
}

function readSigningSecret(data: Record<string, string>, at: Date) {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new SecretError('data: expected the Secret data map');
  const warnings: string[] = [];
  const has = (k: string) => data[k] !== undefined && data[k] !== null && data[k] !== '';
  let caCertPem: string;
  let caKeyPem: string;
  let rootText: string;
  let chainText: string | undefined;
  let legacy = false;
  let tls = false;
  if (has(ISTIO_KEYS.caCert)) {
    for (const k of [ISTIO_KEYS.caKey, ISTIO_KEYS.rootCert])
      if (!has(k))
        throw new SecretError(
          `${k}: missing (the Istio cacerts layout needs ${ISTIO_KEYS.caCert}, ${ISTIO_KEYS.caKey}, ${ISTIO_KEYS.rootCert} and ${ISTIO_KEYS.certChain})`,
        );
    caCertPem = oneCert(decodeValue(data, ISTIO_KEYS.caCert) as string, ISTIO_KEYS.caCert);
    caKeyPem = keyBlock(decodeValue(data, ISTIO_KEYS.caKey) as string, ISTIO_KEYS.caKey);
    rootText = decodeValue(data, ISTIO_KEYS.rootCert) as string;
    chainText = has(ISTIO_KEYS.certChain) ? decodeValue(data, ISTIO_KEYS.certChain) : undefined;
    if (chainText === undefined)
      warnings.push(`${ISTIO_KEYS.certChain}: missing; treated as ${ISTIO_KEYS.caCert} alone (Istio expects it)`);
  } else if (has(LEGACY_KEY) && has(ISTIO_KEYS.rootCert)) {
    legacy = true;
    caKeyPem = keyBlock(decodeValue(data, LEGACY_KEY) as string, LEGACY_KEY);
    rootText = decodeValue(data, ISTIO_KEYS.rootCert) as string;
    const roots = certificatesIn(rootText);
    const own = roots.find((r) => keyMatches(caKeyPem, r));
    if (!own) {
      if (roots.length === 0) throw new SecretError(`${ISTIO_KEYS.rootCert}: no PEM certificate found`);
      throw new SecretError(`${LEGACY_KEY}: does not match ${ISTIO_KEYS.rootCert}`);
    }
    caCertPem = own;
    warnings.push(
      `legacy layout: read ${LEGACY_KEY} as ${ISTIO_KEYS.caKey} and the root in ${ISTIO_KEYS.rootCert} as ${ISTIO_KEYS.caCert}; rewrite the Secret in the Istio cacerts layout (${ISTIO_KEYS.caCert}, ${ISTIO_KEYS.caKey}, ${ISTIO_KEYS.rootCert}, ${ISTIO_KEYS.certChain})`,
    );
  } else if (has(TLS_KEYS.cert) && has(TLS_KEYS.key) && !has(ISTIO_KEYS.caKey) && !has(ISTIO_KEYS.rootCert)) {
    // cert-manager's CA Secrets (kubernetes.io/tls): tls.crt is the CA with its chain, ca.crt its root.
    tls = true;
    const tlsCerts = certificatesIn(decodeValue(data, TLS_KEYS.cert) as string);
    if (tlsCerts.length === 0) throw new SecretError(`${TLS_KEYS.cert}: no PEM certificate found`);
    caCertPem = tlsCerts[0];
    caKeyPem = keyBlock(decodeValue(data, TLS_KEYS.key) as string, TLS_KEYS.key);
    if (has(TLS_KEYS.ca)) rootText = decodeValue(data, TLS_KEYS.ca) as string;
    else if (tlsCerts.length === 1 && parseCertificateFull(caCertPem, TLS_KEYS.cert).info.selfSigned)
      rootText = caCertPem;
    else
      throw new SecretError(
        `${TLS_KEYS.ca}: missing (a ${TLS_KEYS.cert} that is not a self-signed root needs the root that anchors it in ${TLS_KEYS.ca})`,
      );
    chainText = tlsCerts.join('');
  } else if (has(ISTIO_KEYS.caKey) || has(ISTIO_KEYS.rootCert) || has(ISTIO_KEYS.certChain)) {
    throw new SecretError(
      `${ISTIO_KEYS.caCert}: missing (the Istio cacerts layout needs ${ISTIO_KEYS.caCert}, ${ISTIO_KEYS.caKey}, ${ISTIO_KEYS.rootCert} and ${ISTIO_KEYS.certChain})`,
    );
  } else if (has(LEGACY_KEY)) {
    throw new SecretError(
      `${ISTIO_KEYS.rootCert}: missing (the legacy layout needs ${LEGACY_KEY} and ${ISTIO_KEYS.rootCert})`,
    );
  } else {
    const present = Object.keys(data);
    throw new SecretError(
      `${ISTIO_KEYS.caCert}: missing; not a signing Secret (expected ${ISTIO_KEYS.caCert}, ${ISTIO_KEYS.caKey}, ${ISTIO_KEYS.rootCert}, ${ISTIO_KEYS.certChain}, or legacy ${LEGACY_KEY} + ${ISTIO_KEYS.rootCert}, or cert-manager's ${TLS_KEYS.cert} + ${TLS_KEYS.key} + ${TLS_KEYS.ca}; found ${present.length ? present.join(', ') : 'no keys'})`,
    );
  }

  const caKey = legacy ? LEGACY_KEY : tls ? TLS_KEYS.key : ISTIO_KEYS.caKey;
  const caCertKey = legacy ? ISTIO_KEYS.rootCert : tls ? TLS_KEYS.cert : ISTIO_KEYS.caCert;
  let ca: ReturnType<typeof parseCertificateFull>;
  try {
    ca = parseCertificateFull(caCertPem, caCertKey);
    // Decoded now, so that a failure names this Secret key (the parse may be shared).
    ca.infoAs(caCertKey);
  } catch (e) {
    throw new SecretError((e as Error).message);
  }
  const roots = parseAll(rootText, ISTIO_KEYS.rootCert);
  let caX509: X509Certificate;
  try {
    caX509 = ca.x509;
  } catch {
    throw new SecretError(`${caCertKey}: the certificate does not parse`);
  }
  if (!legacy && !caX509.checkPrivateKey(privateKeyObject(caKeyPem, caKey))) {
    throw new SecretError(`${caKey}: does not match ${caCertKey}`);
  }
  if (!ca.info.isCA)
    throw new SecretError(
      `${caCertKey}: ${certLabel(ca.info)} is not a CA certificate (basicConstraints CA:TRUE missing), so it cannot sign`,
    );
  if (ca.info.keyUsage.length > 0 && !ca.info.keyUsage.includes('keyCertSign')) {
    throw new SecretError(`${caCertKey}: ${certLabel(ca.info)} has keyUsage without keyCertSign, so it cannot sign`);
  }
  for (const [i, r] of roots.entries()) {
    if (!r.info.isCA)
      throw new SecretError(
        `${ISTIO_KEYS.rootCert}: certificate ${i + 1} ${certLabel(r.info)} is not a CA certificate`,
      );
  }

  let chainPems: string[] = [];
  if (chainText !== undefined) {
    const chain = parseAll(chainText, ISTIO_KEYS.certChain);
    if (!chain[0].der.equals(ca.der)) {
      throw new SecretError(
        `${ISTIO_KEYS.certChain}: does not start with ${ISTIO_KEYS.caCert} (the Istio layout puts ${ISTIO_KEYS.caCert} first, then the chain up to the root)`,
      );
    }
    chainPems = chain.slice(1).map((c) => c.info.pem);
  }
  const rootPems = roots.map((r) => r.info.pem);
  const v = verifyChainDetailed({ certPem: ca.info.pem, chainPems, rootPems, at, labels: SECRET_LABELS });
  if (!v.ok) throw new SecretError(chainErrorForSecret(v));
  // Keep what lies strictly between ca-cert and its root; a root repeated in cert-chain is dropped.
  const between = v.path.slice(1, -1).map((c) => c.pem);
  const unused = chainPems.filter((p) => !between.includes(p) && !rootPems.includes(p)).length;
  if (unused > 0)
    warnings.push(`${ISTIO_KEYS.certChain}: ${unused} certificate(s) not on the path to the root were ignored`);
  const daysLeft = (ca.info.notAfter.getTime() - at.getTime()) / DAY_MS;
  if (daysLeft < EXPIRY_WARNING_DAYS) {
    warnings.push(
      `${caCertKey}: ${certLabel(ca.info)} expires in ${Math.max(0, Math.floor(daysLeft))} day(s), at ${ca.info.notAfter.toISOString()}`,
    );
  }
  return { caCertPem: ca.info.pem, caKeyPem, rootPems, chainPems: between, warnings };
}

/**
 * The data of an issued Secret in the Istio cacerts layout (base64 values): ca-cert.pem,
 * ca-key.pem, root-cert.pem (every root given, e.g. old + new), and cert-chain.pem = ca-cert
 * followed by the chain up to the root that anchors it. Throws PkiError when the key does not
 * match or the chain does not verify, so a broken Secret is never written.
 */
export function buildIssuedSecretData(opts: {
  caCertPem: string;
  caKeyPem: string;
  chainPems?: string[];
  rootPems: string[];
  at?: Date;
}): Record<string, string> {
  const v = verifyChainDetailed({
    certPem: opts.caCertPem,
    chainPems: opts.chainPems ?? [],
    rootPems: opts.rootPems,
    at: opts.at,
  });
  if (!v.ok) throw new PkiError(`caCertPem does not chain to rootPems: ${v.error}`);
  const key = privateKeyObject(opts.caKeyPem, 'caKeyPem');
  if (!new X509Certificate(v.path[0].pem).checkPrivateKey(key))
    throw new PkiError('caKeyPem: does not match caCertPem');
  const keyPem = splitPem(opts.caKeyPem).find((b) => /PRIVATE KEY$/.test(b.type))?.pem ?? opts.caKeyPem;
  const certChain = v.path.map((c) => c.pem).join('');
  const roots = opts.rootPems.flatMap((r) => certificatesIn(r)).join('');
  return {
    [ISTIO_KEYS.caCert]: b64(v.path[0].pem),
    [ISTIO_KEYS.caKey]: b64(keyPem),
    [ISTIO_KEYS.rootCert]: b64(roots),
    [ISTIO_KEYS.certChain]: b64(certChain),
  };
}

export interface SecretInspection {
  layout: 'istio' | 'legacy' | 'unknown';
  /** Per Secret key: what it holds, or why it does not parse. */
  entries: Array<{ key: string; certificates?: CertInfo[]; privateKey?: KeyDescription; error?: string }>;
  caCert?: CertInfo;
  /** Does the private key match the CA certificate? (never shows the key) */
  keyMatchesCaCert?: boolean;
  verification: { ok: true; path: CertInfo[] } | { ok: false; error: string };
  /** When currentRootPems were given: is the CA certificate anchored in one of them? */
  signedByCurrentRoot?: boolean;
  warnings: string[];
}

/**
 * Everything `kubectl mesh-cert inspect secret` shows: every key decoded (certificates parsed,
 * private keys described by type and size only), and the verification verdict.
 */
export function inspectSecretData(
  data: Record<string, string>,
  opts: { at?: Date; currentRootPems?: string[] } = {},
): SecretInspection {
  const at = opts.at ?? new Date();
  const layout: SecretInspection['layout'] = data?.[ISTIO_KEYS.caCert]
    ? 'istio'
    : data?.[LEGACY_KEY] && data?.[ISTIO_KEYS.rootCert]
      ? 'legacy'
      : 'unknown';
  const entries: SecretInspection['entries'] = [];
  for (const key of Object.keys(data ?? {}).sort()) {
    try {
      const text = decodeValue(data, key);
      if (text === undefined) continue;
      const blocks = splitPem(text);
      const certs = blocks
        .filter((b) => b.type === 'CERTIFICATE')
        .map((b, i) =>
          parseCertificateFull(b.pem, `${key} certificate ${i + 1}`).infoAs(`${key} certificate ${i + 1}`),
        );
      const keyBlockPem = blocks.find((b) => /PRIVATE KEY$/.test(b.type))?.pem;
      entries.push({
        key,
        ...(certs.length ? { certificates: certs } : {}),
        ...(keyBlockPem ? { privateKey: describeKeyObject(privateKeyObject(keyBlockPem, key)) } : {}),
      });
    } catch (e) {
      entries.push({ key, error: (e as Error).message });
    }
  }
  const verdict = verifySigningSecret(data, { at });
  const out: SecretInspection = {
    layout,
    entries,
    verification: verdict.ok ? { ok: true, path: [] } : { ok: false, error: verdict.error },
    warnings: verdict.ok ? verdict.warnings : [],
  };
  if (verdict.ok) {
    const chain = verifyChainDetailed({
      certPem: verdict.caCertPem,
      chainPems: verdict.chainPems,
      rootPems: verdict.rootPems,
      at,
    });
    if (chain.ok) {
      out.verification = { ok: true, path: chain.path };
      out.caCert = chain.path[0];
    }
    out.keyMatchesCaCert = true;
    if (opts.currentRootPems) {
      out.signedByCurrentRoot = verifyChainDetailed({
        certPem: verdict.caCertPem,
        chainPems: verdict.chainPems,
        rootPems: opts.currentRootPems,
        at,
      }).ok;
    }
  } else {
    const caEntry = entries.find((e) => e.key === ISTIO_KEYS.caCert)?.certificates?.[0];
    if (caEntry) out.caCert = caEntry;
    const caText = (() => {
      try {
        return decodeValue(data, ISTIO_KEYS.caCert);
      } catch {
        return undefined;
      }
    })();
    const keyText = (() => {
      try {
        return decodeValue(data, ISTIO_KEYS.caKey);
      } catch {
        return undefined;
      }
    })();
    if (caText && keyText) out.keyMatchesCaCert = keyMatches(keyText, caText);
  }
  return out;
}
