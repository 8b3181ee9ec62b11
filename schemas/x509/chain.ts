// Path building and verification: leaf -> intermediates -> one of several trusted roots (a trust
// bundle holds old and new roots during a rotation, often with the same subject name, so issuers
// are chosen by signature, never by name alone). Signatures are checked by node:crypto (OpenSSL).
import { verify } from 'node:crypto';
import { type CertInfo, parseCertificateFull } from './parse.js';

type Parsed = ReturnType<typeof parseCertificateFull>;

/** Where a certificate came from: the cert under test, chainPems[i] or rootPems[i]. */
export type CertRole = { kind: 'cert' } | { kind: 'chain'; index: number } | { kind: 'root'; index: number };

export interface ChainFailure {
  ok: false;
  /** `certificate "<subject>" (<where>): <why>` */
  error: string;
  /** The failing certificate's subject in quotes (or its serial), and what is wrong with it. */
  certificate?: string;
  why?: string;
  /** The certificate the failure is about, and what went wrong, for callers that map it (Secret keys). */
  role: CertRole;
  reason:
    | 'parse'
    | 'no-roots'
    | 'no-issuer'
    | 'issuer-key-mismatch'
    | 'untrusted-self-signed'
    | 'expired'
    | 'not-yet-valid'
    | 'not-ca'
    | 'no-cert-sign'
    | 'path-length'
    | 'too-long';
}

export interface ChainSuccess {
  ok: true;
  /**
   * Leaf first, the trusted root last (a single element when the certificate is itself a trusted
   * root). Copied on each read by a getter on the prototype: read it, do not spread the result.
   */
  readonly path: CertInfo[];
  /** Index into rootPems of the root that anchors the path. */
  rootIndex: number;
}

interface Node {
  p: Parsed;
  role: CertRole;
}

const MAX_DEPTH = 10;

/** How errors name where a certificate came from; callers with other names (Secret keys) pass theirs. */
export interface RoleLabels {
  cert: string;
  chain: (index: number) => string;
  root: (index: number) => string;
  /** The roots as a whole. */
  roots: string;
}

const DEFAULT_LABELS: RoleLabels = {
  cert: 'certPem',
  chain: (i) => `chainPems[${i}]`,
  root: (i) => `rootPems[${i}]`,
  roots: 'rootPems',
};

function roleName(r: CertRole, labels: RoleLabels = DEFAULT_LABELS): string {
  return r.kind === 'cert' ? labels.cert : r.kind === 'chain' ? labels.chain(r.index) : labels.root(r.index);
}

/** `"O=gloo-mesh, OU=cluster-1" (chainPems[0])`: who failed, in the error text. */
export function certLabel(info: CertInfo): string {
  return info.subjectText ? `"${info.subjectText}"` : `(empty subject, serial ${info.serial})`;
}

/** The node's decoded info, or the failure its names or extensions raise (parse.ts decodes them lazily). */
function decodedOrFailure(n: Node, labels: RoleLabels): CertInfo | ChainFailure {
  try {
    return n.p.infoAs(roleName(n.role, labels));
  } catch (e) {
    return { ok: false, role: n.role, reason: 'parse', error: e instanceof Error ? e.message : String(e) };
  }
}

function fail(n: Node, reason: ChainFailure['reason'], why: string, labels: RoleLabels): ChainFailure {
  const info = decodedOrFailure(n, labels);
  if ('ok' in info) return info;
  const certificate = certLabel(info);
  return {
    ok: false,
    role: n.role,
    reason,
    certificate,
    why,
    error: `certificate ${certificate} (${roleName(n.role, labels)}): ${why}`,
  };
}

// A signature check's verdict never changes for the same two certificates, and trust checks ask
// it again and again (every cluster's chain against every bundle). Parsed certificates are shared
// through parse.ts's cache, so remember verdicts on them.
const verdicts = new WeakMap<Parsed, WeakMap<Parsed, boolean>>();

function signedBy(child: Parsed, issuer: Parsed): boolean {
  let byIssuer = verdicts.get(child);
  const known = byIssuer?.get(issuer);
  if (known !== undefined) return known;
  const ok = verifySignature(child, issuer);
  if (!byIssuer) verdicts.set(child, (byIssuer = new WeakMap()));
  byIssuer.set(issuer, ok);
  return ok;
}

/**
 * The child's signature under the issuer's key: node:crypto over the TBS bytes when the algorithm
 * is in our table and fits the key (no X509Certificate to build, ~110 us saved per certificate);
 * OpenSSL's own X509 verify for anything else (RSA-PSS, SHA-1).
 */
function verifySignature(child: Parsed, issuer: Parsed): boolean {
  try {
    const scheme = child.signatureScheme;
    if (!scheme) return child.x509.verify(issuer.publicKey);
    if (scheme.family !== issuer.publicKey.asymmetricKeyType) return false;
    return verify(scheme.hash, child.tbs, issuer.publicKey, child.signature);
  } catch {
    return false;
  }
}

/** The same issuer name in another encoding (a PrintableString where the issuer wrote UTF8String). */
function sameText(child: Parsed, issuer: Parsed): boolean {
  try {
    return child.info.issuerText === issuer.info.subjectText;
  } catch {
    return false;
  }
}

/** Validity at `at`, and for every issuer on the path: CA:TRUE, keyCertSign, path length. */
function checkPath(path: Node[], at: Date, labels: RoleLabels): ChainFailure | undefined {
  const t = at.getTime();
  for (let i = 0; i < path.length; i++) {
    const n = path[i];
    // Validity comes with the structure; the leaf's decoded info is never needed when all is well.
    const { notBefore, notAfter } = n.p;
    if (notBefore.getTime() > t)
      return fail(
        n,
        'not-yet-valid',
        `not valid before ${notBefore.toISOString()} (checked at ${at.toISOString()})`,
        labels,
      );
    if (notAfter.getTime() < t)
      return fail(n, 'expired', `expired at ${notAfter.toISOString()} (checked at ${at.toISOString()})`, labels);
    if (i === 0) continue;
    const c = decodedOrFailure(n, labels);
    if ('ok' in c) return c;
    if (!c.isCA) {
      const child = decodedOrFailure(path[i - 1], labels);
      return 'ok' in child
        ? child
        : fail(n, 'not-ca', `is not a CA (basicConstraints CA:TRUE missing) but issued ${certLabel(child)}`, labels);
    }
    if (c.keyUsage.length > 0 && !c.keyUsage.includes('keyCertSign'))
      return fail(n, 'no-cert-sign', 'keyUsage lacks keyCertSign', labels);
    // Certificates between this issuer and the leaf (the leaf itself does not count).
    if (c.pathLen !== undefined && i - 1 > c.pathLen)
      return fail(n, 'path-length', `path length constraint ${c.pathLen} exceeded`, labels);
  }
  return undefined;
}

/**
 * A verified path whose CertInfo copies are made only for callers that read them (the webhook
 * does not). A class, so the getter lives on the prototype: an object literal's getter is a new
 * closure with a hidden class of its own in the old generation, which kept each young path alive
 * through scavenges (see LazyParsedCert in parse.ts).
 */
class FoundPath implements ChainSuccess {
  readonly ok = true;
  readonly #nodes: Node[];

  constructor(
    nodes: Node[],
    readonly rootIndex: number,
  ) {
    this.#nodes = nodes;
  }

  get path(): CertInfo[] {
    return this.#nodes.map((n) => structuredClone(n.p.info));
  }
}

export interface ChainInput {
  certPem: string;
  chainPems?: string[];
  rootPems: string[];
  at?: Date;
  /** Names for the inputs in error messages (default certPem, chainPems[i], rootPems[i]). */
  labels?: RoleLabels;
  /**
   * false: the caller reads only the verdict, so certificates on a good path are checked for
   * structure, signature, validity and CA constraints but the leaf's names and extension values
   * are not decoded into text (the webhook's chain check meets a new leaf in every review).
   * Reading `path` then throws PkiError if one of them does not decode.
   */
  decodePath?: boolean;
}

/** verifyChain with the failing certificate's role and a reason code. */
export function verifyChainDetailed(opts: ChainInput): ChainSuccess | ChainFailure {
  const at = opts.at ?? new Date();
  const labels = opts.labels ?? DEFAULT_LABELS;
  const nodes: { leaf?: Node; chain: Node[]; roots: Node[] } = { chain: [], roots: [] };
  const parse = (pem: string, role: CertRole): Node | ChainFailure => {
    try {
      return { p: parseCertificateFull(pem, roleName(role, labels)), role };
    } catch (e) {
      return { ok: false, role, reason: 'parse', error: e instanceof Error ? e.message : String(e) };
    }
  };
  const leaf = parse(opts.certPem, { kind: 'cert' });
  if ('ok' in leaf) return leaf;
  nodes.leaf = leaf;
  for (const [i, pem] of (opts.chainPems ?? []).entries()) {
    const n = parse(pem, { kind: 'chain', index: i });
    if ('ok' in n) return n;
    nodes.chain.push(n);
  }
  for (const [i, pem] of (opts.rootPems ?? []).entries()) {
    const n = parse(pem, { kind: 'root', index: i });
    if ('ok' in n) return n;
    nodes.roots.push(n);
  }
  // Possible issuers, roots first.
  const candidates = [...nodes.roots, ...nodes.chain];
  if (nodes.roots.length === 0) {
    return {
      ok: false,
      role: { kind: 'root', index: 0 },
      reason: 'no-roots',
      error: `${labels.roots}: no trusted root certificate given`,
    };
  }

  let firstCheckFailure: ChainFailure | undefined;
  let deepestFailure: ChainFailure | undefined;
  let deepestLen = -1;
  const noteFailure = (f: ChainFailure, len: number) => {
    if (len > deepestLen) {
      deepestLen = len;
      deepestFailure = f;
    }
  };

  const complete = (path: Node[]): ChainSuccess | undefined => {
    // Callers that read the path get every certificate on it decoded, or a parse failure.
    const bad =
      checkPath(path, at, labels) ??
      (opts.decodePath === false
        ? undefined
        : path.map((n) => decodedOrFailure(n, labels)).find((d): d is ChainFailure => 'ok' in d));
    if (bad) {
      firstCheckFailure ??= bad;
      return undefined;
    }
    const last = path[path.length - 1];
    return new FoundPath(path, last.role.kind === 'root' ? last.role.index : 0);
  };

  const extend = (path: Node[]): ChainSuccess | undefined => {
    const cur = path[path.length - 1];
    if (path.length > MAX_DEPTH) {
      noteFailure(fail(cur, 'too-long', `chain longer than ${MAX_DEPTH} certificates`, labels), path.length);
      return undefined;
    }
    // The certificate itself is a trusted root: the path is anchored.
    const anchor = nodes.roots.find((r) => r.p.der.equals(cur.p.der));
    if (anchor) return complete([...path.slice(0, -1), anchor]);
    let nameMatched: Node | undefined;
    // Issuers whose subject DER is the child's issuer DER first: only then the ones whose names
    // merely read the same, which needs both certificates' names decoded.
    for (const exact of [true, false]) {
      for (const cand of candidates) {
        if ((cur.p.issuerHex === cand.p.subjectHex) !== exact) continue;
        if (path.some((n) => n.p.der.equals(cand.p.der))) continue;
        if (!exact && !sameText(cur.p, cand.p)) continue;
        nameMatched ??= cand;
        if (!signedBy(cur.p, cand.p)) continue;
        const r = cand.role.kind === 'root' ? complete([...path, cand]) : extend([...path, cand]);
        if (r) return r;
      }
    }
    const curInfo = decodedOrFailure(cur, labels);
    const matchedInfo = nameMatched && decodedOrFailure(nameMatched, labels);
    if ('ok' in curInfo) noteFailure(curInfo, path.length);
    else if (matchedInfo && 'ok' in matchedInfo) noteFailure(matchedInfo, path.length);
    else if (nameMatched && matchedInfo) {
      noteFailure(
        fail(
          cur,
          'issuer-key-mismatch',
          `its signature does not verify with the key of ${certLabel(matchedInfo)} (${roleName(nameMatched.role, labels)}) or of any other certificate with its issuer's name: tampered, or issued by another key under the same name (a different or rotated root?)`,
          labels,
        ),
        path.length,
      );
    } else if (curInfo.selfSigned) {
      noteFailure(
        fail(cur, 'untrusted-self-signed', 'self-signed and not among the trusted roots', labels),
        path.length,
      );
    } else {
      noteFailure(
        fail(
          cur,
          'no-issuer',
          `its issuer "${curInfo.issuerText}" is neither in the chain nor among the trusted roots`,
          labels,
        ),
        path.length,
      );
    }
    return undefined;
  };

  const found = extend([nodes.leaf]);
  if (found) return found;
  // A path that verifies by signature but fails a check says more than a missing issuer.
  return firstCheckFailure ?? deepestFailure ?? fail(nodes.leaf, 'no-issuer', 'no path to a trusted root', labels);
}

/**
 * Build and check the path certPem -> chainPems -> one of rootPems at `at` (default now):
 * signatures (node:crypto), validity periods, CA flags and key usage of issuers. The error names
 * the certificate (its subject) that failed and why.
 */
export function verifyChain(opts: ChainInput): { ok: true; path: CertInfo[] } | { ok: false; error: string } {
  const r = verifyChainDetailed(opts);
  return r.ok ? r : { ok: false, error: r.error };
}
