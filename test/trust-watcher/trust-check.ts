// The trust check of the independent watcher: given every cluster's Istio `cacerts` Secret, can
// each cluster's workloads verify every other's? Its own code on purpose, node:crypto only: a
// checker that shared the engine's PKI code (plugin/, schemas/) would share its bugs and pass them.
//
// Model (how Istio uses the Secret): a workload certificate of cluster A is signed by A's
// `ca-cert.pem` and sent with A's `cert-chain.pem` appended; a peer in cluster B verifies it against
// B's `root-cert.pem`. So for every ordered pair (A, B), A's ca-cert must chain, through the
// certificates of A's cert-chain.pem, to a certificate of B's root-cert.pem: names, signatures,
// the CA flag of every signer and validity at `now` all checked. (A, A) is a pair too.
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';

/** Istio 1.15+ loads these (the kubernetes.io/tls layout) in preference to the four Istio keys. */
export const PREFERRED_BY_ISTIO = ['tls.crt', 'tls.key', 'ca.crt'] as const;

/** A parsed certificate with what the walk needs precomputed (X509Certificate getters re-encode). */
export interface Cert {
  x: X509Certificate;
  fp: string;
  name: string;
  notBefore: number;
  notAfter: number;
  ca: boolean;
}

/** One cluster's `cacerts`, parsed once per Secret version. */
export interface ClusterCA {
  /** failures of the cluster on its own: missing or unparsable keys, key mismatch, foreign keys */
  problems: string[];
  caCert?: Cert;
  chain: Cert[];
  roots: Cert[];
  /** identify (ca-cert + cert-chain) and the root set, for the pair cache */
  chainId: string;
  rootsId: string;
}

export interface Failure {
  from: string;
  to: string;
  reason: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

// Parsing is what a change costs (OpenSSL 3 key decoding takes ~2 ms), and the same roots and
// keys come back in Secret after Secret: remember them (bounded, these are test runs).
const certCache = new Map<string, Cert>();
const keyMatchCache = new Map<string, string | null>();
const bounded = <K, V>(m: Map<K, V>): Map<K, V> => {
  if (m.size > 20_000) m.clear();
  return m;
};

function toCert(pem: string): Cert {
  const hit = certCache.get(pem);
  if (hit) return hit;
  const x = new X509Certificate(pem);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1];
  const c: Cert = {
    x,
    fp: x.fingerprint256,
    name: cn ?? x.subject.replace(/\n/g, ', '),
    notBefore: Date.parse(x.validFrom),
    notAfter: Date.parse(x.validTo),
    ca: x.ca,
  };
  bounded(certCache).set(pem, c);
  return c;
}

/** null when the private key is the certificate's, else why not. */
function keyMismatch(keyPem: string, cert: Cert): string | null {
  const id = `${cert.fp}|${createHash('sha256').update(keyPem).digest('hex')}`;
  let why = keyMatchCache.get(id);
  if (why !== undefined) return why;
  try {
    const spki = (k: ReturnType<typeof createPublicKey>): string =>
      k.export({ type: 'spki', format: 'der' }).toString('base64');
    why =
      spki(createPublicKey(createPrivateKey(keyPem))) === spki(cert.x.publicKey)
        ? null
        : `ca-key.pem does not match the public key of ca-cert.pem ("${cert.name}")`;
  } catch (e) {
    why = `ca-key.pem does not parse: ${(e as Error).message}`;
  }
  bounded(keyMatchCache).set(id, why);
  return why;
}

const digest = (parts: string[]): string => createHash('sha256').update(parts.join(',')).digest('hex');

/** Parses a Secret's `data` (base64 values, as the API returns it). */
export function parseCacerts(data: Record<string, string> | undefined): ClusterCA {
  const text = (k: string): string | undefined =>
    data?.[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8');
  const problems: string[] = [];
  const certs = (k: string): Cert[] => {
    const t = text(k);
    if (t === undefined) {
      problems.push(`cacerts has no ${k}`);
      return [];
    }
    try {
      const found = (t.match(PEM_CERT) ?? []).map(toCert);
      if (!found.length) problems.push(`${k} holds no PEM certificate`);
      return found;
    } catch (e) {
      problems.push(`${k} does not parse: ${(e as Error).message}`);
      return [];
    }
  };
  const caCert = certs('ca-cert.pem')[0];
  const chain = certs('cert-chain.pem');
  const roots = certs('root-cert.pem');

  const keyPem = text('ca-key.pem');
  if (keyPem === undefined) problems.push('cacerts has no ca-key.pem');
  else if (caCert) {
    // the key must be the ca-cert's: otherwise istiod signs workload certificates no peer accepts
    const why = keyMismatch(keyPem, caCert);
    if (why) problems.push(why);
  }
  const foreign = PREFERRED_BY_ISTIO.filter((k) => data?.[k] !== undefined);
  if (foreign.length)
    problems.push(`cacerts also holds ${foreign.join(', ')}, which Istio 1.15+ loads in preference to the Istio keys`);

  return {
    problems,
    caCert,
    chain,
    roots,
    chainId: digest([caCert?.fp ?? '-', ...chain.map((c) => c.fp)]),
    // a set: the order of roots in root-cert.pem does not change what is trusted
    rootsId: digest(roots.map((c) => c.fp).sort()),
  };
}

const validAt = (c: Cert, t: number): boolean => c.notBefore <= t && t <= c.notAfter;
const validity = (c: Cert, t: number): string =>
  t < c.notBefore ? `is not valid before ${c.x.validFrom}` : `expired at ${c.x.validTo}`;

/**
 * Evaluates all ordered pairs of a snapshot. Signature checks are cached per (certificate, issuer),
 * and pair results per (ca-cert + cert-chain, root set) for the time window in which no
 * certificate involved starts or ends its validity; clusters with the same chain or the same root
 * set are checked together. A change in one of 100 clusters costs a few hundred cache look-ups.
 */
export class TrustEvaluator {
  private readonly issuedCache = new Map<string, boolean>();
  private readonly pairCache = new Map<string, { reason: string | null; from: number; until: number }>();

  evaluate(cas: Map<string, ClusterCA>, now: Date): Failure[] {
    if (this.pairCache.size > 100_000) this.pairCache.clear();
    const t = now.getTime();
    const failures: Failure[] = [];
    for (const [a, ca] of cas) for (const reason of ca.problems) failures.push({ from: a, to: a, reason });
    // clusters mostly share chains and root sets: check each distinct (chain, root set) once
    const group = (key: (c: ClusterCA) => string | undefined): Map<string, { ca: ClusterCA; names: string[] }> => {
      const m = new Map<string, { ca: ClusterCA; names: string[] }>();
      for (const [n, c] of cas) {
        const k = key(c);
        if (k === undefined) continue;
        const g = m.get(k);
        if (g) g.names.push(n);
        else m.set(k, { ca: c, names: [n] });
      }
      return m;
    };
    const rootSets = group((c) => c.rootsId);
    for (const chain of group((c) => (c.caCert ? c.chainId : undefined)).values()) {
      // no ca-cert: already a problem
      for (const roots of rootSets.values()) {
        const why = this.pair(chain.ca, roots.ca, t);
        if (!why) continue;
        for (const a of chain.names)
          for (const b of roots.names)
            failures.push({ from: a, to: b, reason: `${b} cannot verify ${a}'s workloads: ${why}` });
      }
    }
    return failures;
  }

  /** null when a's ca-cert chains to one of b's roots at time t, else why not. */
  pair(a: ClusterCA, b: ClusterCA, t: number): string | null {
    const key = `${a.chainId}|${b.rootsId}`;
    const hit = this.pairCache.get(key);
    if (hit && hit.from <= t && t < hit.until) return hit.reason;
    const reason = this.walk(a, b.roots, t);
    // the result holds until the next instant at which a certificate involved starts or ends
    let from = -Infinity;
    let until = Infinity;
    for (const c of [a.caCert!, ...a.chain, ...b.roots]) {
      for (const p of [c.notBefore, c.notAfter + 1]) {
        if (p <= t) from = Math.max(from, p);
        else until = Math.min(until, p);
      }
    }
    this.pairCache.set(key, { reason, from, until });
    return reason;
  }

  /** Names match and the issuer's key verifies the signature (cached: the expensive part). */
  private issued(child: Cert, issuer: Cert): boolean {
    const key = `${child.fp}>${issuer.fp}`;
    let ok = this.issuedCache.get(key);
    if (ok === undefined) {
      try {
        ok = child.x.checkIssued(issuer.x) && child.x.verify(issuer.x.publicKey);
      } catch {
        ok = false;
      }
      this.issuedCache.set(key, ok);
    }
    return ok;
  }

  private walk(a: ClusterCA, roots: Cert[], t: number): string | null {
    const start = a.caCert!;
    const isRoot = (c: Cert): boolean => roots.some((r) => r.fp === c.fp);
    // peers receive the workload certificate plus cert-chain.pem only: the ca-cert must be in it
    // (or be trusted directly), or the workload certificate's issuer is nowhere to be found
    if (!isRoot(start) && !a.chain.some((c) => c.fp === start.fp))
      return `ca-cert "${start.name}" is not in cert-chain.pem, so peers receive no path to a root`;
    const rootNames = `[${roots.map((r) => `"${r.name}"`).join(', ')}]`;
    let why = '';
    // depth-first over the issuers found in cert-chain.pem: chains are short, bundles small
    const visit = (c: Cert, seen: Set<string>, via: string): boolean => {
      if (!validAt(c, t)) {
        why = `${via}"${c.name}" ${validity(c, t)}`;
        return false;
      }
      if (!c.ca) {
        why = `${via}"${c.name}" is not a CA certificate`;
        return false;
      }
      if (isRoot(c)) return true;
      let tried = false;
      for (const r of roots) {
        if (!this.issued(c, r)) continue;
        if (validAt(r, t) && r.ca) return true;
        tried = true;
        why = `${via}"${c.name}" is issued by root "${r.name}", which ${r.ca ? validity(r, t) : 'is not a CA certificate'}`;
      }
      for (const p of a.chain) {
        if (seen.has(p.fp) || !this.issued(c, p)) continue;
        tried = true;
        seen.add(p.fp);
        if (visit(p, seen, `${via}"${c.name}" -> `)) return true;
      }
      if (!tried) {
        why =
          c.x.subject === c.x.issuer
            ? `${via}"${c.name}" (self-signed) is not one of the roots ${rootNames}`
            : `${via}"${c.name}" (issuer "${c.x.issuer.replace(/\n/g, ', ')}") chains to none of the roots ${rootNames}`;
      }
      return false;
    };
    // why reads as the path tried from the ca-cert, e.g. "int-c1" -> "mid" (issuer "CN=x") chains to none…
    return visit(start, new Set([start.fp]), 'ca-cert ') ? null : why;
  }
}
