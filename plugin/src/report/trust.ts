// Which roots the clusters of a VirtualMesh trust, read from their issued (cacerts) Secrets
// themselves, not from any status; and the verdicts `status` and `check` draw from that:
// the same roots and one anchor everywhere outside a rotation, no trust gap ever, and no root
// trusted that no signing Secret uses any more. Facts are gathered by the callers (probing);
// everything here but secretTrust's parsing is pure.
import { anchorOf } from '../engine/rotation/bridge.js';
import { briefOf, certPems, fromBase64, shortFingerprint } from '../lib/certs.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';

/** A root as the reports name it: its subject and its SHA-256 fingerprint (AB:CD:…). */
export interface RootInfo {
  subject: string;
  fingerprint: string;
}

/** What one issued Secret holds, as far as trust goes. */
export interface SecretTrust {
  /** NS/NAME of the Secret. */
  secret: string;
  /** Every root of its root-cert.pem, each once, in order. */
  roots: RootInfo[];
  /** The root its intermediate (ca-cert.pem through cert-chain.pem) is anchored at. */
  anchor?: RootInfo;
  /** Why no anchor was found (the intermediate chains to none of the Secret's own roots). */
  anchorError?: string;
}

/** `"O=acme, CN=root" (sha256 AB:CD:EF:01:23:45:67:89)`: subject and short fingerprint. */
export function rootLabel(r: RootInfo): string {
  return `"${r.subject || '(empty subject)'}" (sha256 ${shortFingerprint(r.fingerprint)})`;
}

export function rootInfo(pem: string): RootInfo | undefined {
  const b = briefOf(pem);
  return b ? { subject: b.subject, fingerprint: b.fingerprint } : undefined;
}

const norm = (p: string) => p.replace(/\s+/g, '');

/**
 * The trust facts of a Secret in the Istio layout, from its data (base64 values), or undefined
 * when it holds no ca-cert.pem and no root-cert.pem (not an issued Secret). A value that is not
 * base64 throws a PkiError naming the Secret and the key.
 */
export function secretTrust(secret: string, data: Record<string, string> | undefined): SecretTrust | undefined {
  // The same material (one Secret read twice, or copied to several clusters) is judged once:
  // anchoring an intermediate is a chain verification.
  const key = [data?.['ca-cert.pem'], data?.['cert-chain.pem'], data?.['root-cert.pem']].map((v) => v ?? '').join('\0');
  let facts = trustFacts.get(key);
  if (facts === undefined) {
    if (trustFacts.size >= TRUST_CACHE_MAX) trustFacts.clear();
    facts = readTrust(secret, data) ?? null;
    trustFacts.set(key, facts);
  }
  return facts ? { secret, ...structuredClone(facts) } : undefined;
}

const TRUST_CACHE_MAX = 1024;
const trustFacts = new Map<string, Omit<SecretTrust, 'secret'> | null>();

/** The facts of one Secret's material; `secret` only names it in a decoding error. */
function readTrust(secret: string, data: Record<string, string> | undefined): Omit<SecretTrust, 'secret'> | undefined {
  const pemsOf = (key: string) => certPems(fromBase64(data?.[key], `Secret ${secret} ${key}`));
  const caCertPem = pemsOf(ISTIO_KEYS.caCert)[0];
  const rootPems = pemsOf(ISTIO_KEYS.rootCert);
  if (!caCertPem && rootPems.length === 0) return undefined;
  const seen = new Set<string>();
  const roots: RootInfo[] = [];
  for (const pem of rootPems) {
    const r = rootInfo(pem);
    if (r && !seen.has(r.fingerprint)) {
      seen.add(r.fingerprint);
      roots.push(r);
    }
  }
  const out: Omit<SecretTrust, 'secret'> = { roots };
  if (!caCertPem) {
    out.anchorError = 'it holds no ca-cert.pem';
    return out;
  }
  const chainPems = pemsOf(ISTIO_KEYS.certChain).filter((p) => norm(p) !== norm(caCertPem));
  let anchorPem: string | undefined;
  try {
    anchorPem = anchorOf({ cluster: '', secret: '', caCertPem, chainPems, rootPems });
  } catch {
    anchorPem = undefined;
  }
  const anchor = anchorPem ? rootInfo(anchorPem) : undefined;
  if (anchor) out.anchor = anchor;
  else out.anchorError = 'its intermediate chains to none of its roots';
  return out;
}

/** An IssuedCertificate of one or more VirtualMeshes, with what its issued Secret holds. */
export interface MeshMember {
  cluster: string;
  /** NS/NAME of the IssuedCertificate. */
  ic: string;
  /** NS/NAME of each VirtualMesh its parents annotation names. */
  virtualMeshes: string[];
  /** Undefined: the issued Secret does not exist (not issued yet) or could not be read. */
  trust?: SecretTrust;
  /** Why trust is missing, when it is. */
  missing?: string;
}

/** A CertificateRotation that is not FINISHED or FAILED. */
export interface ActiveRotation {
  cluster: string;
  /** NS/NAME of the CertificateRotation. */
  name: string;
  virtualMesh: string;
  state: string;
  rotationState: string;
}

export function isActiveRotation(state: string | undefined): boolean {
  const s = state ?? 'PENDING';
  return s !== 'FINISHED' && s !== 'FAILED';
}

export type MeshResult =
  /** Every cluster trusts the same roots and every intermediate is anchored at the same root. */
  | 'consistent'
  /** Mixed roots or anchors while a rotation of the VirtualMesh is active: expected. */
  | 'rotating'
  /** Mixed roots or anchors and no active rotation: a failure. */
  | 'mixed'
  /** Some cluster's intermediate is anchored at a root another cluster does not trust: a failure, rotation or not. */
  | 'gap'
  /** No IssuedCertificate of the VirtualMesh has an issued Secret yet. */
  | 'unissued';

export interface MeshVerdict {
  virtualMesh: string;
  result: MeshResult;
  ok: boolean;
  /** The clusters the verdict is about (those whose Secret was read). */
  clusters: string[];
  rotation?: ActiveRotation;
  /** One sentence (or a few joined with `; `) naming the clusters and the roots. */
  message: string;
}

const where = (m: MeshMember) => m.cluster;
const rootsText = (roots: RootInfo[]) => (roots.length ? roots.map(rootLabel).join(', ') : 'no root');

/** `c1, c2 trust A; c3 trusts A, B`: members grouped by what `key` gives them. */
function grouped(
  members: MeshMember[],
  key: (m: MeshMember) => string,
  text: (m: MeshMember) => string,
  verb: [string, string],
): string {
  const groups = new Map<string, { clusters: string[]; text: string }>();
  for (const m of members) {
    const k = key(m);
    const g = groups.get(k) ?? { clusters: [], text: text(m) };
    if (!g.clusters.includes(where(m))) g.clusters.push(where(m));
    groups.set(k, g);
  }
  return [...groups.values()]
    .map((g) => `${g.clusters.join(', ')} ${g.clusters.length > 1 ? verb[1] : verb[0]} ${g.text}`)
    .join('; ');
}

function rotationText(r: ActiveRotation): string {
  return `CertificateRotation ${r.name} (${r.state}, ${r.rotationState})`;
}

/**
 * One verdict per VirtualMesh named by a member. Roots compare by fingerprint, as sets; the
 * anchor of each intermediate is found through its own chain (engine/rotation/bridge.ts).
 */
export function meshVerdicts(members: MeshMember[], rotations: ActiveRotation[]): MeshVerdict[] {
  const meshes = [...new Set(members.flatMap((m) => m.virtualMeshes))].sort();
  return meshes.map((vm) => {
    const all = members
      .filter((m) => m.virtualMeshes.includes(vm))
      .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.ic.localeCompare(b.ic));
    const held = all.filter((m) => m.trust);
    const rotation = rotations.find((r) => r.virtualMesh === vm);
    const clusters = [...new Set(held.map(where))].sort();
    const pending = [...new Set(all.filter((m) => !m.trust).map(where))].sort();
    const pendingText = pending.length
      ? ` (${pending.join(', ')}: ${all.find((m) => !m.trust)?.missing ?? 'no issued Secret yet'})`
      : '';
    const base = { virtualMesh: vm, clusters, ...(rotation ? { rotation } : {}) };
    if (held.length === 0) {
      return {
        ...base,
        result: 'unissued' as const,
        ok: true,
        message: `VirtualMesh ${vm}: no IssuedCertificate of it has an issued Secret yet${pendingText}`,
      };
    }

    // A gap: an intermediate that some cluster of the mesh cannot verify (its anchor is not among that cluster's roots).
    const gaps: string[] = [];
    for (const a of held) {
      const t = a.trust!;
      if (!t.anchor) {
        gaps.push(
          `cluster ${a.cluster}'s intermediate (Secret ${t.secret}) is anchored at no root: ${t.anchorError ?? 'unknown'}`,
        );
        continue;
      }
      const distrust = [
        ...new Set(held.filter((b) => !b.trust!.roots.some((r) => r.fingerprint === t.anchor!.fingerprint)).map(where)),
      ].sort();
      if (distrust.length) {
        gaps.push(
          `cluster ${a.cluster}'s intermediate (Secret ${t.secret}) is anchored at ${rootLabel(t.anchor)}, which ${distrust.join(', ')} ${distrust.length > 1 ? 'do' : 'does'} not trust`,
        );
      }
    }
    const rootKey = (m: MeshMember) =>
      m
        .trust!.roots.map((r) => r.fingerprint)
        .sort()
        .join('|');
    const anchorKey = (m: MeshMember) => m.trust!.anchor?.fingerprint ?? '';
    const mixedRoots = new Set(held.map(rootKey)).size > 1;
    const mixedAnchors = new Set(held.filter((m) => m.trust!.anchor).map(anchorKey)).size > 1;
    const rootsPart = grouped(held, rootKey, (m) => rootsText(m.trust!.roots), ['trusts', 'trust']);
    const anchorsPart = grouped(
      held.filter((m) => m.trust!.anchor),
      anchorKey,
      (m) => rootLabel(m.trust!.anchor!),
      ['has its intermediate anchored at', 'have their intermediates anchored at'],
    );

    if (gaps.length) {
      const during = rotation ? ` (during ${rotationText(rotation)})` : '';
      return {
        ...base,
        result: 'gap' as const,
        ok: false,
        message: `VirtualMesh ${vm}: trust gap${during}: ${gaps.join('; ')}${pendingText}`,
      };
    }
    if (mixedRoots || mixedAnchors) {
      const facts = [mixedRoots ? rootsPart : '', mixedAnchors ? anchorsPart : ''].filter(Boolean).join('; ');
      const what =
        mixedRoots && mixedAnchors
          ? 'different roots, with intermediates anchored at different roots'
          : mixedRoots
            ? 'different roots'
            : 'the same roots, with intermediates anchored at different roots';
      if (rotation) {
        return {
          ...base,
          result: 'rotating' as const,
          ok: true,
          message: `VirtualMesh ${vm}: its clusters trust ${what}, as expected during ${rotationText(rotation)}: ${facts}${pendingText}`,
        };
      }
      return {
        ...base,
        result: 'mixed' as const,
        ok: false,
        message: `VirtualMesh ${vm}: its clusters trust ${what} outside a rotation: ${facts}${pendingText}`,
      };
    }
    const t = held[0]!.trust!;
    const during = rotation ? ` (${rotationText(rotation)} is active)` : '';
    return {
      ...base,
      result: 'consistent' as const,
      ok: true,
      message: `VirtualMesh ${vm}: ${clusters.join(', ')} ${clusters.length > 1 ? 'trust' : 'trusts'} ${rootsText(t.roots)}, intermediates anchored at ${t.anchor ? rootLabel(t.anchor) : 'no root'}${during}${pendingText}`,
    };
  });
}

/** A root a cluster trusts that no signing Secret in use holds. */
export interface StaleRoot {
  cluster: string;
  secret: string;
  root: RootInfo;
}

/** Roots of `held` (per cluster and Secret) whose fingerprint is not in `inUse`. */
export function staleRoots(held: { cluster: string; trust: SecretTrust }[], inUse: Set<string>): StaleRoot[] {
  const out: StaleRoot[] = [];
  for (const h of held) {
    for (const r of h.trust.roots)
      if (!inUse.has(r.fingerprint)) out.push({ cluster: h.cluster, secret: h.trust.secret, root: r });
  }
  return out;
}
