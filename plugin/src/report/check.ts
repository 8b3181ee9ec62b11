// `check`: a preflight in the style of `linkerd check`. runChecks probes the clusters (reads only)
// and evaluates the facts into lines, one per check (check-table.ts) and subject: the clusters,
// the CRDs (check-crds.ts), the webhooks (check-webhook.ts), the signing Secrets and cacerts
// (check-secrets.ts), trust across each VirtualMesh and stale roots (here); check-render.ts
// prints them.
import * as pki from '#schemas/x509/index.js';
import type { ClusterSet } from '../lib/clusters.js';
import { errorMessage } from '../lib/errors.js';
import type { K8s, KObject, Secret } from '../lib/k8s.js';
import { isNotFound } from '../lib/k8s.js';
import { resourceOf } from '../lib/kinds.js';
import type { Ref } from '../lib/refs.js';
import { certPems, fromBase64 } from '../lib/certs.js';
import { glooMeshOwner } from '../engine/ownership.js';
import type { ObjectRef } from '../engine/objects.js';
import { signingPlan } from '../engine/issuance/signing-plan.js';
import { virtualMeshesOf } from '../engine/parents.js';
import { clientCrds } from './version.js';
import {
  isActiveRotation,
  meshVerdicts,
  rootInfo,
  rootLabel,
  secretTrust,
  staleRoots,
  type ActiveRotation,
  type MeshMember,
  type SecretTrust,
} from './trust.js';
import { PkiError } from '#schemas/x509/errors.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { CATEGORY_ORDER, CHECKS, line, notPassing, type CheckLine, type Result } from './check-table.js';
import { evaluateCrds } from './check-crds.js';
import { checkDryRun, checkWebhooks } from './check-webhook.js';
import {
  evaluateIstioKeys,
  icKey,
  issuedRefOf,
  refKey,
  signingRefOf,
  signingRoots,
  validityLines,
  type HeldSecret,
  type Ic,
  type Rotation,
} from './check-secrets.js';

export interface CheckOptions {
  /** The CRDs to compare with (default: the ones this client was built with, clientCrds). */
  crds?: KObject[];
  cacerts: Ref;
  rootSecret?: Ref;
  dryRunNamespace: string;
}

interface SigningInfo {
  ref: Ref;
  rootPems: string[];
}

function signingSecrets(opts: CheckOptions, icsByCluster: Map<string, Ic[]>): Map<string, Ref> {
  const refs = new Map<string, Ref>();
  if (opts.rootSecret) refs.set(refKey(opts.rootSecret), opts.rootSecret);
  for (const ics of icsByCluster.values()) {
    for (const ic of ics) {
      const ref = signingRefOf(ic);
      if (ref) refs.set(refKey(ref), ref);
    }
  }
  return refs;
}

/** What the per-cluster probes found, and the lines every phase adds to. */
interface Facts {
  set: ClusterSet;
  opts: CheckOptions;
  now: number;
  lines: CheckLine[];
  /** Clusters whose API server answered. */
  reachable: Set<string>;
  icsByCluster: Map<string, Ic[]>;
  rotations: { cluster: string; rot: Rotation }[];
}

/** The management cluster's signing Secrets, as read once for every phase that needs them. */
interface Signing {
  byRef: Map<string, SigningInfo>;
  /** A Secret of the management cluster (undefined: not found; an Error: unreadable); absent when it is down. */
  secret?: (ref: Ref) => Promise<Secret | undefined | Error>;
}

/**
 * The checks in phases, each adding its lines: per cluster (reachability, CRDs, webhooks, the dry
 * run), signing Secrets, cacerts, Istio keys, trust across each VirtualMesh, stale roots, and
 * IssuedCertificates Gloo Mesh owns. Lines are sorted by category, then cluster, keeping each
 * phase's order within.
 */
export async function runChecks(set: ClusterSet, opts: CheckOptions, now = Date.now()): Promise<CheckLine[]> {
  const f = await clusterFacts(set, opts, now);
  const signing = await signingLines(f);
  const held = await heldSecrets(f);
  cacertsLines(f, held, signing.byRef);
  // No key Istio would load in preference to what mesh-cert writes.
  for (const h of held) {
    const l = evaluateIstioKeys(h);
    if (l) f.lines.push(l);
  }
  const active = meshTrustLines(f, held);
  // Roots still trusted that no signing Secret in use holds (left by a rollback that could not finish, a failed rotation's new root).
  f.lines.push(
    ...(await staleRootLines(
      set,
      opts,
      f.icsByCluster,
      active,
      f.rotations.filter(({ rot }) => isActiveRotation(rot.status?.state)).map(({ rot }) => rot),
      held,
      signing.secret,
    )),
  );
  glooMeshOwnedLines(f);
  const clusterOrder = set.all.map((c) => c.name);
  return f.lines.sort(
    (a, b) =>
      CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category) ||
      clusterOrder.indexOf(a.cluster) - clusterOrder.indexOf(b.cluster),
  );
}

async function clusterFacts(set: ClusterSet, opts: CheckOptions, now: number): Promise<Facts> {
  const lines: CheckLine[] = [];
  const manifests = new Map((opts.crds ?? (await clientCrds())).map((o) => [o.metadata.name, o]));
  const icsByCluster = new Map<string, Ic[]>();
  const rotations: { cluster: string; rot: Rotation }[] = [];

  // Per cluster, concurrently: reachability, CRDs, webhooks, dry run; IssuedCertificates and CertificateRotations for later.
  const perCluster = await Promise.all(
    set.all.map(async (c): Promise<CheckLine[]> => {
      let k8s: K8s;
      try {
        k8s = await c.client();
        const v = await k8s.version();
        const out: CheckLine[] = [
          line(CHECKS.reachable, c.name, 'reachable', 'pass', `API server ${c.server} answers (${v})`),
        ];
        const installed = new Map((await k8s.listCrds()).map((o) => [o.metadata.name, o]));
        out.push(...evaluateCrds(c.name, installed, manifests));
        const crdsOk = !out.some((l) => l.check === CHECKS.crdInstalled.id && l.result === 'fail');
        out.push(...(await checkWebhooks(c, k8s, now)));
        if (crdsOk) out.push(await checkDryRun(c, k8s, opts.dryRunNamespace));
        if (crdsOk) {
          // A CRD that does not serve the contract's version answers 404: reported above, listed as empty.
          const orNone = <T>(p: Promise<T[]>): Promise<T[]> =>
            p.catch((err) => (isNotFound(err) ? [] : Promise.reject(err)));
          const [ics, rots] = await Promise.all([
            orNone(k8s.list<Ic>(resourceOf('IssuedCertificate'), undefined)),
            orNone(k8s.list<Rotation>(resourceOf('CertificateRotation'), undefined)),
          ]);
          icsByCluster.set(c.name, ics);
          for (const rot of rots) rotations.push({ cluster: c.name, rot });
        }
        return out;
      } catch (err) {
        return [
          line(
            CHECKS.reachable,
            c.name,
            'reachable',
            'fail',
            errorMessage(err),
            CHECKS.reachable.hint.replace('CLUSTER', c.name),
          ),
        ];
      }
    }),
  );
  for (const l of perCluster) lines.push(...l);
  const reachable = new Set(lines.filter((l) => l.name === 'reachable' && l.result === 'pass').map((l) => l.cluster));
  return { set, opts, now, lines, reachable, icsByCluster, rotations };
}

async function signingLines({ set, opts, now, lines, reachable, icsByCluster }: Facts): Promise<Signing> {
  // Signing Secrets (roots and intermediates) in the management cluster.
  const signing = new Map<string, SigningInfo>();
  /** Secrets of the management cluster read so far (undefined: not found; an Error: unreadable). */
  const mgmtSecrets = new Map<string, Secret | undefined | Error>();
  const S = CHECKS.signingSecret;
  const mgmtUp = reachable.has(set.mgmt.name);
  const mk8s = mgmtUp ? await set.mgmt.client() : undefined;
  const mgmtSecret = async (ref: Ref): Promise<Secret | undefined | Error> => {
    const key = refKey(ref);
    if (!mgmtSecrets.has(key)) {
      try {
        mgmtSecrets.set(key, await mk8s!.findSecret(ref.namespace, ref.name));
      } catch (err) {
        mgmtSecrets.set(key, err instanceof Error ? err : new Error(String(err)));
      }
    }
    return mgmtSecrets.get(key);
  };
  if (mk8s) {
    const refs = signingSecrets(opts, icsByCluster);
    if (refs.size === 0) {
      lines.push(
        line(
          S,
          set.mgmt.name,
          'signing Secrets',
          'warn',
          'no IssuedCertificate names a signing Secret and no --root-secret was given: nothing to check',
          'pass --root-secret NS/NAME',
        ),
      );
    }
    for (const ref of refs.values()) {
      const what = `Secret ${refKey(ref)}`;
      const s = await mgmtSecret(ref);
      if (s instanceof Error) {
        lines.push(line(S, set.mgmt.name, what, 'fail', errorMessage(s)));
        continue;
      }
      if (!s) {
        lines.push(line(S, set.mgmt.name, what, 'fail', `signing ${what} does not exist`));
        continue;
      }
      try {
        const v = pki.verifySigningSecret(s.data ?? {});
        if (!v.ok) {
          lines.push(line(S, set.mgmt.name, what, 'fail', `signing ${what} does not verify: ${v.error}`));
          continue;
        }
        signing.set(refKey(ref), { ref, rootPems: v.rootPems });
        const certs = [
          { role: 'CA certificate', pem: v.caCertPem },
          ...v.rootPems.filter((r) => r.trim() !== v.caCertPem.trim()).map((pem) => ({ role: 'root', pem })),
        ];
        lines.push(...validityLines(S, set.mgmt.name, what, certs, now));
      } catch (err) {
        lines.push(line(S, set.mgmt.name, what, 'fail', errorMessage(err)));
      }
    }
  }

  return { byRef: signing, secret: mk8s ? mgmtSecret : undefined };
}

async function heldSecrets({ set, opts, lines, reachable, icsByCluster }: Facts): Promise<HeldSecret[]> {
  // Every cacerts-like Secret: the --cacerts one of each managed cluster, and the one each IssuedCertificate writes.
  const held: HeldSecret[] = [];
  const managed = new Set(set.managed.map((c) => c.name));
  await Promise.all(
    set.all
      .filter((c) => reachable.has(c.name) && (managed.has(c.name) || icsByCluster.get(c.name)?.length))
      .map(async (c) => {
        const ics = icsByCluster.get(c.name) ?? [];
        const refs = new Map<string, Ref>();
        if (managed.has(c.name)) refs.set(refKey(opts.cacerts), opts.cacerts);
        for (const ic of ics) refs.set(refKey(issuedRefOf(ic)), issuedRefOf(ic));
        const k8s = await c.client();
        for (const ref of refs.values()) {
          const h: HeldSecret = {
            cluster: c.name,
            ref,
            writers: ics.filter((ic) => refKey(issuedRefOf(ic)) === refKey(ref)),
          };
          try {
            h.secret = await k8s.findSecret(ref.namespace, ref.name);
          } catch (err) {
            lines.push(line(CHECKS.cacerts, c.name, `Secret ${refKey(ref)}`, 'fail', errorMessage(err)));
            continue;
          }
          if (h.secret) h.trust = secretTrust(refKey(ref), h.secret.data);
          held.push(h);
        }
      }),
  );
  return held;
}

const heldOf = (held: HeldSecret[], cluster: string, ref: Ref): HeldSecret | undefined =>
  held.find((h) => h.cluster === cluster && refKey(h.ref) === refKey(ref));

function cacertsLines(
  { set, opts, now, lines, reachable }: Facts,
  held: HeldSecret[],
  signing: Map<string, SigningInfo>,
): void {
  // Each managed cluster's --cacerts: valid, and chaining to the current root of its issuer.
  for (const c of set.managed.filter((x) => reachable.has(x.name))) {
    const what = `Secret ${refKey(opts.cacerts)}`;
    const h = heldOf(held, c.name, opts.cacerts);
    if (!h) continue;
    const push = (result: Result, message: string, name = what, hint?: string) =>
      lines.push(line(CHECKS.cacerts, c.name, name, result, message, hint));
    try {
      const s = h.secret;
      if (!s) {
        push('warn', `${what} does not exist: the cluster has no mesh intermediate yet`);
        continue;
      }
      const ic = h.writers[0];
      const sref = ic ? signingRefOf(ic) : undefined;
      const key = opts.rootSecret ? refKey(opts.rootSecret) : sref ? refKey(sref) : undefined;
      const current = key ? signing.get(key) : signing.size === 1 ? [...signing.values()][0] : undefined;
      const caPem = certPems(fromBase64(s.data?.[ISTIO_KEYS.caCert], `${what} ${ISTIO_KEYS.caCert}`))[0];
      if (!caPem) {
        push('fail', `${what} has no ${ISTIO_KEYS.caCert} (expected the Istio cacerts layout)`);
        continue;
      }
      lines.push(...validityLines(CHECKS.cacerts, c.name, what, [{ role: 'intermediate', pem: caPem }], now));
      if (!current) {
        push(
          'warn',
          `no current root known for ${what} (no IssuedCertificate writes it; pass --root-secret)`,
          `${what} chain`,
          'pass --root-secret NS/NAME',
        );
        continue;
      }
      const chain = certPems(fromBase64(s.data?.[ISTIO_KEYS.certChain], `${what} ${ISTIO_KEYS.certChain}`));
      const r = pki.verifyChain({ certPem: caPem, chainPems: chain.slice(1), rootPems: current.rootPems });
      if (r.ok) push('pass', `chains to the current root (Secret ${refKey(current.ref)})`, `${what} chain`);
      else
        push('fail', `does not chain to the current root (Secret ${refKey(current.ref)}): ${r.error}`, `${what} chain`);
    } catch (err) {
      push('fail', errorMessage(err));
    }
  }
}

/** One line per VirtualMesh; returns the active rotations the stale-root check needs. */
function meshTrustLines({ set, lines, icsByCluster, rotations }: Facts, held: HeldSecret[]): ActiveRotation[] {
  // Trust across each VirtualMesh, read from the Secrets, against the active rotations.
  const active: ActiveRotation[] = rotations
    .filter(({ rot }) => rot.spec?.virtualMesh?.name && isActiveRotation(rot.status?.state))
    .map(({ cluster, rot }) => ({
      cluster,
      name: `${rot.metadata.namespace}/${rot.metadata.name}`,
      virtualMesh: `${rot.spec!.virtualMesh!.namespace || rot.metadata.namespace}/${rot.spec!.virtualMesh!.name}`,
      state: rot.status?.state ?? 'PENDING',
      rotationState: rot.status?.rotationState ?? 'NOT_ROTATING',
    }));
  const members: MeshMember[] = [];
  for (const [cluster, ics] of icsByCluster) {
    for (const ic of ics) {
      const vms = virtualMeshesOf(ic).map(refKey);
      if (!vms.length) continue;
      const h = heldOf(held, cluster, issuedRefOf(ic));
      members.push({
        cluster,
        ic: icKey(ic),
        virtualMeshes: vms,
        ...(h?.trust
          ? { trust: h.trust }
          : { missing: h ? `no issued Secret ${refKey(issuedRefOf(ic))} yet` : 'its issued Secret could not be read' }),
      });
    }
  }
  for (const v of meshVerdicts(members, active)) {
    lines.push(
      line(
        CHECKS.meshTrust,
        set.mgmt.name,
        `VirtualMesh ${v.virtualMesh}`,
        v.ok ? 'pass' : notPassing(CHECKS.meshTrust),
        v.message,
        v.rotation
          ? `the rotation must not leave a gap: kubectl mesh-cert rotate --virtual-mesh ${v.virtualMesh} --abort rolls it back`
          : `finish or roll back the rotation that left it (kubectl mesh-cert rotate --virtual-mesh ${v.virtualMesh} [--abort]), or re-issue the clusters' certificates from the VirtualMesh's signing Secret: kubectl mesh-cert issue NAME --cluster ${v.clusters.join(',')}`,
      ),
    );
  }

  return active;
}

function glooMeshOwnedLines({ lines, icsByCluster }: Facts): void {
  // IssuedCertificates Gloo Mesh owns: observed, never driven.
  for (const [cluster, ics] of icsByCluster) {
    for (const ic of ics) {
      const owner = glooMeshOwner('IssuedCertificate', ic);
      if (!owner) continue;
      const what = `IssuedCertificate ${icKey(ic)}`;
      const state = ic.status?.state ?? 'PENDING';
      const msg = `${what} is driven by Gloo Mesh (${owner}): mesh-cert observes it, ${state}`;
      lines.push(
        state === 'FAILED'
          ? line(
              CHECKS.glooMeshOwned,
              cluster,
              what,
              notPassing(CHECKS.glooMeshOwned),
              `${msg}: ${ic.status?.error ?? 'no error given'}`,
            )
          : line(CHECKS.glooMeshOwned, cluster, what, 'pass', msg),
      );
    }
  }
}

/**
 * The stale-root check. Roots in use: those of every IssuedCertificate's signing Secret, of
 * --root-secret, and, for a VirtualMesh with an active rotation, every Secret (and bridge root)
 * its current step's plan trusts plus the rotation's new root. Skipped (no line) when that set
 * cannot be known: the management cluster is down, or a signing Secret is missing or unreadable
 * (the roots checks report those).
 */
async function staleRootLines(
  set: ClusterSet,
  opts: CheckOptions,
  icsByCluster: Map<string, Ic[]>,
  active: ActiveRotation[],
  activeRotations: Rotation[],
  held: HeldSecret[],
  mgmtSecret: ((ref: Ref) => Promise<Secret | undefined | Error>) | undefined,
): Promise<CheckLine[]> {
  if (!mgmtSecret) return [];
  const rotating = new Set(active.map((r) => r.virtualMesh));
  const refs = new Map<string, Ref>();
  const pems: string[] = [];
  if (opts.rootSecret) refs.set(refKey(opts.rootSecret), opts.rootSecret);
  for (const ics of icsByCluster.values()) {
    for (const ic of ics) {
      const own = signingRefOf(ic);
      if (own) refs.set(refKey(own), own);
      if (!ic.spec || !virtualMeshesOf(ic).some((vm) => rotating.has(refKey(vm)))) continue;
      const plan = signingPlan(ic);
      if ('error' in plan) continue;
      for (const r of [plan.signer, ...plan.trust] as ObjectRef[])
        refs.set(refKey(r), { namespace: r.namespace || ic.metadata.namespace || 'default', name: r.name });
      pems.push(...plan.bridgeRootPems.flatMap((p) => certPems(p)));
    }
  }
  // An active rotation's new root, even before any certificate carries it.
  for (const rot of activeRotations) {
    const n = rot.spec?.newRootCaSecret;
    if (n?.name)
      refs.set(refKey({ namespace: n.namespace || rot.metadata.namespace || 'default', name: n.name }), {
        namespace: n.namespace || rot.metadata.namespace || 'default',
        name: n.name,
      });
  }
  if (refs.size === 0) return [];
  for (const ref of refs.values()) {
    const s = await mgmtSecret(ref);
    if (!s || s instanceof Error) return [];
    try {
      pems.push(...signingRoots(s));
    } catch (err) {
      // As an unreadable Secret: the roots in use are not known, so none is called stale (the
      // signing Secret's own check reports the value).
      if (err instanceof PkiError) return [];
      throw err;
    }
  }
  const inUse = new Set(pems.map((p) => rootInfo(p)?.fingerprint).filter((f): f is string => !!f));
  const withTrust = held.filter((h): h is HeldSecret & { trust: SecretTrust } => !!h.trust);
  const stale = staleRoots(withTrust, inUse);
  const lines: CheckLine[] = [];
  const clusterOrder = set.all.map((c) => c.name);
  for (const cluster of [...new Set(withTrust.map((h) => h.cluster))].sort(
    (a, b) => clusterOrder.indexOf(a) - clusterOrder.indexOf(b),
  )) {
    const mine = stale.filter((s) => s.cluster === cluster);
    if (mine.length === 0) {
      lines.push(
        line(
          CHECKS.staleRoot,
          cluster,
          'roots in use',
          'pass',
          `every root cluster ${cluster} trusts is held by a signing Secret in use`,
        ),
      );
      continue;
    }
    for (const s of mine) {
      const h = withTrust.find((x) => x.cluster === cluster && x.trust.secret === s.secret)!;
      const writer = h.writers.find((ic) => !glooMeshOwner('IssuedCertificate', ic));
      lines.push(
        line(
          CHECKS.staleRoot,
          cluster,
          `Secret ${s.secret} root ${s.root.fingerprint}`,
          notPassing(CHECKS.staleRoot),
          `cluster ${cluster} still trusts ${rootLabel(s.root)} (Secret ${s.secret}), which no IssuedCertificate's signing Secret uses any more (left by a rollback that could not finish, or a failed rotation's new root?)`,
          writer
            ? `kubectl mesh-cert issue ${writer.metadata.name} -n ${writer.metadata.namespace} --cluster ${cluster} re-issues it with only the roots in use`
            : undefined,
        ),
      );
    }
  }
  return lines;
}
