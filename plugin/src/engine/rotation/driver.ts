// Starting (or resuming, or aborting) a CertificateRotation on the management cluster: the
// preflight refusals (every cluster answers, one active rotation per VirtualMesh, a new root that
// is not the current one), the new root Secret when asked to make one, and the CertificateRotation
// itself. The state machine that then steps it is machine.ts; the old roots are pruned after.
import {
  createRootCa,
  generateRsaKey,
  verifySigningSecret,
  parseCertificate,
  LEGACY_KEY,
} from '#schemas/x509/index.js';
import { textBase64 } from '#schemas/x509/pem.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { UserError, errorMessage } from '../../lib/errors.js';
import type { ClusterApi } from '../cluster-api.js';
import { isTransient, isUnreachable, retrying, statusOf } from '../cluster-api.js';
import type { CertificateRotation, ObjectRef } from '../objects.js';
import { refString, sameRef } from '../objects.js';
import { ANN_PREVIOUS_ROOTS, CERT_API_VERSION, LABEL_MANAGED_BY, MANAGED_BY } from '../resources.js';
import { loadSigningSecret, type SigningMaterial } from '../issuance/issuer.js';
import { signingSecretRef } from '../issuance/signing-plan.js';
import { normPem } from '../issuance/plan-material.js';
import { isActive } from './plan.js';
import { certificatesOfMesh, type MeshCertificate } from './targets.js';
import { DEFAULT_KEEP_PREVIOUS_ROOTS, pruneOldRoots } from './retention.js';
import { Machine } from './machine.js';
import type { RotateOptions, RotateResult } from './rotate-options.js';

export class RotationRefused extends UserError {
  override name = 'RotationRefused';
}

async function findRotations(mgmt: ClusterApi, vm: ObjectRef): Promise<CertificateRotation[]> {
  // Typed as the engine's CertificateRotation only once it is known to name its new root.
  const all = await mgmt.listCustom<{
    metadata: CertificateRotation['metadata'];
    spec?: Partial<CertificateRotation['spec']>;
  }>('CertificateRotation');
  return all.filter((r): r is CertificateRotation => sameRef(r.spec?.virtualMesh, vm) && !!r.spec?.newRootCaSecret);
}

/** A server hiccup (not an unreachable cluster): worth a few retries before refusing. */
const serverHiccup = (err: unknown) => isTransient(err) && !isUnreachable(err);
const PREFLIGHT_RETRY_MS = 10_000;

/** Every cluster answers before a rotation starts, or nothing is changed. */
async function certificatesOrRefuse(
  clusters: ClusterApi[],
  vm: ObjectRef,
  starting: boolean,
): Promise<MeshCertificate[]> {
  const deadline = Date.now() + PREFLIGHT_RETRY_MS;
  const settled = await Promise.allSettled(
    clusters.map((c) => retrying(deadline, () => certificatesOfMesh([c], vm), serverHiccup)),
  );
  const failed = settled.flatMap((s, i) =>
    s.status === 'rejected' ? [`${clusters[i]!.name}: ${errorMessage(s.reason)}`] : [],
  );
  // A running rotation goes on: its steps wait for the cluster (and fail naming it).
  if (failed.length && starting) throw new RotationRefused(`cannot rotate: ${failed.join('; ')}; nothing was changed`);
  return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
}

function rootsEqual(a: string[], b: string[]): string | undefined {
  const set = new Set(a.map(normPem));
  return b.find((p) => set.has(normPem(p)));
}

async function createRootSecret(
  mgmt: ClusterApi,
  ref: ObjectRef,
  g: NonNullable<RotateOptions['generateRoot']>,
  now: Date,
): Promise<void> {
  const { privateKeyPem } = await generateRsaKey(g.keySize);
  const cert = createRootCa({
    privateKeyPem,
    subject: { O: g.org ?? 'gloo-mesh', CN: `mesh-cert root CA ${now.toISOString().slice(0, 19)}Z` },
    ttlDays: g.ttlDays,
  });
  const pem = cert.trim() + '\n';
  const create = () =>
    mgmt.createSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.name, namespace: ref.namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY } },
      type: 'Opaque',
      // key.pem as well: Gloo Mesh's own issuer signs from a root Secret in its legacy layout.
      data: {
        [ISTIO_KEYS.caCert]: textBase64(pem),
        [ISTIO_KEYS.caKey]: textBase64(privateKeyPem),
        [ISTIO_KEYS.rootCert]: textBase64(pem),
        [ISTIO_KEYS.certChain]: textBase64(pem),
        [LEGACY_KEY]: textBase64(privateKeyPem),
      },
    });
  await retrying(Date.now() + PREFLIGHT_RETRY_MS, create, (err) => serverHiccup(err) && statusOf(err) !== 409);
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function rotate(opts: RotateOptions): Promise<RotateResult> {
  const { mgmt, virtualMesh: vm } = opts;
  const now = () => opts.now?.() ?? new Date();
  const preflightDeadline = Date.now() + PREFLIGHT_RETRY_MS;
  const mine = await retrying(preflightDeadline, () => findRotations(mgmt, vm), serverHiccup);
  const active = mine.filter(isActive);
  if (active.length > 1) {
    throw new RotationRefused(
      `VirtualMesh ${refString(vm)} has ${active.length} active CertificateRotations (${active.map((r) => refString({ name: r.metadata.name, namespace: r.metadata.namespace ?? '' })).join(', ')}); abort all but one first`,
    );
  }
  let rot = active[0];
  if (rot && opts.newRootSecret && !sameRef(rot.spec.newRootCaSecret, opts.newRootSecret)) {
    throw new RotationRefused(
      `CertificateRotation ${rot.metadata.namespace}/${rot.metadata.name} is already active for VirtualMesh ${refString(vm)} with new root ${refString(rot.spec.newRootCaSecret)}: re-run with --new-root-secret ${refString(rot.spec.newRootCaSecret)} to resume it, or --abort to roll it back`,
    );
  }
  const certs = await certificatesOrRefuse(opts.clusters, vm, !rot);
  if (opts.abort) {
    if (!rot) throw new RotationRefused(`VirtualMesh ${refString(vm)} has no active CertificateRotation to abort`);
    const machine = new Machine(opts, rot);
    await machine.startRollback('aborted by the user (--abort)');
    return machine.run();
  }
  if (!rot) {
    if (certs.length === 0) {
      throw new RotationRefused(
        `no IssuedCertificate of VirtualMesh ${refString(vm)} (annotation parents.networking.mesh.gloo.solo.io) in clusters ${opts.clusters.map((c) => c.name).join(', ')}`,
      );
    }
    // Current roots: every signing Secret the certificates use now.
    const oldRefs = new Map<string, ObjectRef>();
    for (const { cluster, ic } of certs) {
      const ref = signingSecretRef(ic);
      if (!ref)
        throw new RotationRefused(
          `cluster "${cluster.name}": IssuedCertificate ${ic.metadata.namespace}/${ic.metadata.name} names no signing Secret (spec.glooMeshCa.signingCertificateSecret)`,
        );
      oldRefs.set(refString(ref), ref);
    }
    const oldMaterial: SigningMaterial[] = [];
    for (const ref of oldRefs.values()) {
      try {
        oldMaterial.push(await retrying(preflightDeadline, () => loadSigningSecret(mgmt, ref), serverHiccup));
      } catch (err) {
        throw new RotationRefused(`the current signing Secret ${refString(ref)} cannot be used: ${errorMessage(err)}`);
      }
    }
    let newRef: ObjectRef;
    if (opts.newRootSecret) {
      newRef = opts.newRootSecret;
      const secret = await retrying(
        preflightDeadline,
        () => mgmt.getSecret(newRef.namespace, newRef.name),
        serverHiccup,
      );
      if (!secret)
        throw new RotationRefused(
          `--new-root-secret ${refString(newRef)}: Secret not found in the management cluster "${mgmt.name}"`,
        );
      const v = verifySigningSecret(secret.data ?? {});
      if (!v.ok) throw new RotationRefused(`--new-root-secret ${refString(newRef)}: ${v.error}`);
      for (const m of oldMaterial) {
        const same =
          rootsEqual(m.rootPems, v.rootPems) ??
          (normPem(m.caCertPem) === normPem(v.caCertPem) ? v.caCertPem : undefined);
        if (same) {
          const fp = parseCertificate(same).fingerprintSha256;
          throw new RotationRefused(
            `--new-root-secret ${refString(newRef)}: its root (sha256 ${fp}) is the current root of VirtualMesh ${refString(vm)}; a rotation needs a different root`,
          );
        }
      }
      if (oldRefs.has(refString(newRef)))
        throw new RotationRefused(`--new-root-secret ${refString(newRef)} is the current signing Secret`);
    } else if (opts.generateRoot) {
      newRef = opts.generateRoot.secret ?? { namespace: vm.namespace, name: `${vm.name}-root-${stamp(now())}` };
      if (await retrying(preflightDeadline, () => mgmt.getSecret(newRef.namespace, newRef.name), serverHiccup))
        throw new RotationRefused(`--generate-root: Secret ${refString(newRef)} exists already`);
      await createRootSecret(mgmt, newRef, opts.generateRoot, now());
    } else {
      throw new RotationRefused('pass --new-root-secret NS/NAME or --generate-root');
    }
    const body: CertificateRotation = {
      apiVersion: CERT_API_VERSION,
      kind: 'CertificateRotation',
      metadata: {
        name: `${vm.name}-${stamp(now())}`,
        namespace: vm.namespace,
        labels: { [LABEL_MANAGED_BY]: MANAGED_BY },
        annotations: { [ANN_PREVIOUS_ROOTS]: JSON.stringify([...oldRefs.values()]) },
      },
      spec: {
        virtualMesh: { name: vm.name, namespace: vm.namespace },
        newRootCaSecret: { name: newRef.name, namespace: newRef.namespace },
      },
    };
    rot = await retrying(
      Date.now() + PREFLIGHT_RETRY_MS,
      async () => {
        try {
          return await mgmt.createCustom<CertificateRotation>('CertificateRotation', body);
        } catch (err) {
          // A retry after an answer that was lost: the object is there, and it is ours.
          if (statusOf(err) !== 409) throw err;
          const existing = await mgmt.getCustom<CertificateRotation>(
            'CertificateRotation',
            vm.namespace,
            body.metadata.name,
          );
          if (existing && sameRef(existing.spec.virtualMesh, vm) && sameRef(existing.spec.newRootCaSecret, newRef))
            return existing;
          throw err;
        }
      },
      serverHiccup,
    );
    opts.onEvent?.({
      type: 'rotation',
      name: rot.metadata.name,
      namespace: rot.metadata.namespace ?? '',
      created: true,
      newRoot: refString(newRef),
    });
  } else {
    opts.onEvent?.({
      type: 'rotation',
      name: rot.metadata.name,
      namespace: rot.metadata.namespace ?? '',
      created: false,
      newRoot: refString(rot.spec.newRootCaSecret),
    });
  }
  const result = await new Machine(opts, rot).run();
  if (result.outcome !== 'finished') return result;
  try {
    const [rotations, certs] = await Promise.all([findRotations(mgmt, vm), certificatesOfMesh(opts.clusters, vm)]);
    return {
      ...result,
      retention: await pruneOldRoots(mgmt, rotations, certs, opts.keepPreviousRoots ?? DEFAULT_KEEP_PREVIOUS_ROOTS),
    };
  } catch (err) {
    // The rotation itself is done; the clean-up is retried by the next one.
    return { ...result, retention: { removed: [], kept: [`old roots not pruned: ${errorMessage(err)}`] } };
  }
}
