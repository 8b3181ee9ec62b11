// What `status` computes: one row per object of every mesh-cert kind on every cluster, with the
// certificate facts (NotAfter, days left, root fingerprint) read from the issued Secret or the
// signed certificate. Pure functions over fetched objects, plus the fetch itself.
import type { Cluster, Settled } from '../lib/clusters.js';
import { onClusters } from '../lib/clusters.js';
import type * as api from '#schemas/src/index.js';
import { PkiError } from '#schemas/x509/errors.js';
import { base64Text, secretText } from '#schemas/x509/pem.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { briefOf, daysLeft } from '../lib/certs.js';
import { UnreachableError, errorMessage } from '../lib/errors.js';
import type { K8s, KObject } from '../lib/k8s.js';
import { isNotFound } from '../lib/k8s.js';
import { KINDS, type KindInfo } from '../lib/kinds.js';
import { MARKS, type Mark } from '../lib/progress.js';
import { virtualMeshesOf } from '../engine/parents.js';
import { glooMeshOwner } from '../engine/ownership.js';
import { DEFAULT_ISSUED_SECRET, type CertKind } from '../engine/resources.js';
import {
  isActiveRotation,
  meshVerdicts,
  secretTrust,
  type ActiveRotation,
  type MeshMember,
  type MeshVerdict,
  type SecretTrust,
} from './trust.js';
import { rotationStep, rotationWords } from '../lib/rotation-words.js';

export interface StatusRow {
  cluster: string;
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  state: string;
  generation?: number;
  observedGeneration?: number;
  /** observedGeneration is behind metadata.generation: the controller has not caught up. */
  generationLag: boolean;
  error?: string;
  notAfter?: string;
  daysLeft?: number;
  rootFingerprint?: string;
  /** IssuedCertificate: spec.rotationState; CertificateRotation: status.rotationState. */
  rotationState?: string;
  /** IssuedCertificate: status.observedRotationState. */
  observedRotationState?: string;
  /** Kind-specific extra: VMCSR approval, pods bounced, the source of the dates. */
  detail?: string;
  /** IssuedCertificate: the VirtualMeshes of its parents annotation; CertificateRotation: its spec.virtualMesh (NS/NAME). */
  virtualMeshes?: string[];
  /** An active CertificateRotation: the step its certificates are taken to (while VERIFYING, the one verified). */
  progressStep?: string;
  /** An active CertificateRotation: per managed cluster, its mesh's certificates done with progressStep. */
  progress?: ClusterProgress[];
  /**
   * Who drives the object: 'Gloo Mesh' when its ownership label is set (mesh-cert only observes
   * it), 'mesh-cert' otherwise; only for the kinds Gloo Mesh's controllers own.
   */
  drivenBy?: 'Gloo Mesh' | 'mesh-cert';
  /** The ownership label (name=value) that makes it Gloo Mesh's. */
  owner?: string;
  /** IssuedCertificate: the roots its issued Secret trusts and the root its intermediate is anchored at, read from the Secret. */
  trust?: SecretTrust;
  /**
   * Certificate fields of the object (or of the Secret or CertificateRequest its dates come from)
   * that are not standard base64, one message each naming the object or Secret and the field:
   * failures of this row alone, the rest of the table is still read.
   */
  undecodable?: string[];
  /** The object as the cluster returned it (not for Cluster rows); what -o json|yaml print. */
  object?: KObject;
}

/** The annotation naming the cluster (kubeconfig context) an object of `status -o json|yaml` was read from. */
export const CLUSTER_ANNOTATION = 'mesh-cert.solo.io/cluster';
/** The annotation holding what `status` computed of the object (JSON: state, notAfter, daysLeft, root, trust, progress…). */
export const REPORT_ANNOTATION = 'mesh-cert.solo.io/status-report';

/**
 * The object of a row as -o json|yaml print it: the Kubernetes object itself (apiVersion and
 * kind set, as list items lack them), annotated with its cluster and with what status computed.
 * Cluster rows (unreachable clusters) have no object: undefined.
 */
export function statusObject(row: StatusRow): KObject | undefined {
  if (row.kind === 'Cluster' || !row.object) return undefined;
  const { object, cluster, ...facts } = row;
  const report = Object.fromEntries(
    Object.entries(facts).filter(
      ([k, v]) => v !== undefined && !['kind', 'apiVersion', 'namespace', 'name', 'generation'].includes(k),
    ),
  );
  const o = object as KObject & Record<string, unknown>;
  return {
    ...o,
    apiVersion: row.apiVersion,
    kind: row.kind,
    metadata: {
      ...o.metadata,
      annotations: {
        ...(o.metadata.annotations ?? {}),
        [CLUSTER_ANNOTATION]: cluster,
        [REPORT_ANNOTATION]: JSON.stringify(report),
      },
    },
  } as KObject;
}

/** The items of `status -o json|yaml`, and the clusters that could not be read (for stderr). */
export function statusObjects(rows: StatusRow[]): KObject[] {
  return rows.map(statusObject).filter((o): o is KObject => o !== undefined);
}

export interface ClusterProgress {
  cluster: string;
  /** IssuedCertificates FINISHED with observedRotationState equal to the rotation's step. */
  done: number;
  total: number;
  /** What the others are at: their state, or `at STEP` when FINISHED for another step. */
  waiting: string[];
}

/**
 * An object of a mesh-cert kind as a list returns it: schemas' spec and status types (imported as
 * types only), both optional since a cluster without the webhook may hold anything the CRD admits.
 */
interface Listed<Spec, Status> extends KObject {
  spec?: Spec;
  status?: Status;
}
type IcObj = Listed<api.IssuedCertificateSpec, api.IssuedCertificateStatus>;
type CrObj = Listed<api.CertificateRequestSpec, api.CertificateRequestStatus>;
type RotationObj = Listed<api.CertificateRotationSpec, api.CertificateRotationStatus>;
type BounceObj = Listed<api.PodBounceDirectiveSpec, api.PodBounceDirectiveStatus>;
type VmcsrObj = Listed<api.VirtualMeshCertificateSigningRequestSpec, api.VirtualMeshCertificateSigningRequestStatus>;
/** Any of them: each list holds one kind, so a row's code reads its object as that kind's. */
type Obj = IcObj | CrObj | RotationObj | BounceObj | VmcsrObj;

const FAILED_STATES = new Set(['FAILED', 'INVALID', 'PROCESSING_ERROR', 'CONFLICT', 'UNREACHABLE', 'ERROR']);

export function isFailed(row: StatusRow): boolean {
  return FAILED_STATES.has(row.state);
}

function baseRow(cluster: string, k: KindInfo, o: Obj): StatusRow {
  const generation = o.metadata.generation;
  const observed = (o.status as { observedGeneration?: unknown } | undefined)?.observedGeneration;
  const observedGeneration = typeof observed === 'number' ? observed : undefined;
  return {
    cluster,
    kind: k.kind,
    apiVersion: `${k.group}/${k.version}`,
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name,
    state: 'PENDING',
    generation,
    observedGeneration,
    generationLag: generation !== undefined && (observedGeneration ?? 0) < generation,
    object: o,
  };
}

const OWNED_KINDS = new Set<string>(['IssuedCertificate', 'CertificateRequest', 'PodBounceDirective']);

/** Marks who drives an object of a kind Gloo Mesh's controllers may own (engine/ownership.ts). */
function setDriver(row: StatusRow, o: Obj): void {
  if (!OWNED_KINDS.has(row.kind)) return;
  const owner = glooMeshOwner(row.kind as CertKind, o);
  row.drivenBy = owner ? 'Gloo Mesh' : 'mesh-cert';
  if (owner) row.owner = owner;
}

function setCert(
  row: StatusRow,
  certPem: string | undefined,
  rootPem: string | undefined,
  source: string,
  now: number,
): boolean {
  const cert = briefOf(certPem);
  if (!cert) return false;
  row.notAfter = cert.notAfter;
  row.daysLeft = daysLeft(cert.notAfter, now);
  const root = briefOf(rootPem);
  if (root) row.rootFingerprint = root.fingerprint;
  row.detail = [row.detail, `cert from ${source}`].filter(Boolean).join('; ');
  return true;
}

/**
 * What `read` decodes, or `otherwise` when it throws a PkiError (a value that is not base64): that
 * is recorded on the row, naming the object and field, and the row goes on with what does decode.
 */
function decoded<T>(row: StatusRow, read: () => T, otherwise: T): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof PkiError)) throw err;
    row.undecodable ??= [];
    if (!row.undecodable.includes(err.message)) row.undecodable.push(err.message);
    return otherwise;
  }
}

/** A base64 field of the row's object, `field` its path (status.signedCertificate); '' when absent or undecodable. */
function fieldText(row: StatusRow, value: string | undefined, field: string, of = ''): string {
  return decoded(row, () => base64Text(value, `${of}${field}`), '');
}

/** Rows of one cluster. Secrets are read only where an IssuedCertificate points at one. */
export async function clusterRows(
  k8s: K8s,
  cluster: Cluster,
  opts: { namespace?: string; selector?: string; now?: number },
): Promise<StatusRow[]> {
  const now = opts.now ?? Date.now();
  const lists = await Promise.all(
    KINDS.map(async (k) => {
      try {
        return { k, items: await k8s.list<Obj>(k, opts.namespace, { labelSelector: opts.selector }) };
      } catch (err) {
        // A CRD that is not installed is a finding of `check`, not a reason to hide the rest.
        if (isNotFound(err)) return { k, items: [] as Obj[], missing: true };
        throw err;
      }
    }),
  );
  if (lists.every((l) => 'missing' in l && l.missing)) {
    throw new Error(`the mesh-cert CRDs are not installed on cluster "${cluster.name}" (run: kubectl mesh-cert check)`);
  }
  const byKind = new Map(lists.map((l) => [l.k.kind, l.items]));
  const requests = new Map(
    (byKind.get('CertificateRequest') ?? []).map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]),
  );
  const rows: StatusRow[] = [];

  await Promise.all(
    (byKind.get('IssuedCertificate') ?? []).map(async (o) => {
      const k = KINDS.find((x) => x.kind === 'IssuedCertificate')!;
      const ic = o as IcObj;
      const row = baseRow(cluster.name, k, o);
      setDriver(row, o);
      row.state = ic.status?.state ?? 'PENDING';
      row.error = ic.status?.error || undefined;
      row.rotationState = ic.spec?.rotationState;
      row.observedRotationState = ic.status?.observedRotationState;
      const meshes = virtualMeshesOf(ic).map((r) => `${r.namespace}/${r.name}`);
      if (meshes.length) row.virtualMeshes = meshes;
      // The engine writes istio-system/cacerts when the IssuedCertificate names no Secret.
      const ref: api.ObjectRef | undefined = ic.spec?.issuedCertificateSecret ?? DEFAULT_ISSUED_SECRET;
      let found = false;
      if (ref?.name) {
        const ns = ref.namespace || row.namespace;
        try {
          const s = await k8s.findSecret(ns, ref.name);
          const trust = s ? decoded(row, () => secretTrust(`${ns}/${ref.name}`, s.data), undefined) : undefined;
          if (trust) row.trust = trust;
          const text = (key: string) => decoded(row, () => secretText(s, key), '');
          found = setCert(
            row,
            text(ISTIO_KEYS.caCert) || text(ISTIO_KEYS.certChain),
            text(ISTIO_KEYS.rootCert),
            `Secret ${ns}/${ref.name}`,
            now,
          );
          if (row.undecodable) row.detail = `issued Secret ${ns}/${ref.name} unreadable: ${row.undecodable.join('; ')}`;
        } catch (err) {
          row.detail = `issued Secret ${ns}/${ref.name} unreadable: ${errorMessage(err)}`;
        }
      }
      const cr = requests.get(`${row.namespace}/${row.name}`) as CrObj | undefined;
      if (!found && cr) {
        const of = `CertificateRequest ${row.namespace}/${row.name} `;
        setCert(
          row,
          fieldText(row, cr.status?.signedCertificate, 'status.signedCertificate', of),
          fieldText(row, cr.status?.signingRootCa, 'status.signingRootCa', of),
          `CertificateRequest ${row.namespace}/${row.name}`,
          now,
        );
      }
      rows.push(row);
    }),
  );

  for (const k of KINDS) {
    if (k.kind === 'IssuedCertificate') continue;
    for (const o of byKind.get(k.kind) ?? []) {
      const row = baseRow(cluster.name, k, o);
      setDriver(row, o);
      switch (k.kind) {
        case 'CertificateRequest': {
          const cr = o as CrObj;
          row.state = cr.status?.state ?? 'PENDING';
          row.error = cr.status?.error || undefined;
          setCert(
            row,
            fieldText(row, cr.status?.signedCertificate, 'status.signedCertificate'),
            fieldText(row, cr.status?.signingRootCa, 'status.signingRootCa'),
            'status.signedCertificate',
            now,
          );
          row.detail = undefined;
          break;
        }
        case 'CertificateRotation': {
          const rot = o as RotationObj;
          row.state = rot.status?.state ?? 'PENDING';
          row.error = rot.status?.error || undefined;
          row.rotationState = rot.status?.rotationState ?? 'NOT_ROTATING';
          if (rot.spec?.virtualMesh) {
            const vm = `${rot.spec.virtualMesh.namespace ?? row.namespace}/${rot.spec.virtualMesh.name}`;
            row.virtualMeshes = [vm];
            row.detail = `virtualMesh ${vm}`;
            // Filled in by collectStatus, which sees every cluster's certificates.
            if (row.state !== 'FINISHED' && row.state !== 'FAILED') {
              const reissued = (rot.status?.conditions ?? [])
                .filter((c) => c.state && c.state !== 'VERIFYING')
                .pop()?.state;
              row.progressStep = row.rotationState === 'VERIFYING' ? reissued : row.rotationState;
              row.progress = [];
            }
          }
          break;
        }
        case 'PodBounceDirective': {
          const pbd = o as BounceObj;
          const bounced = (pbd.status?.podsBounced ?? []).reduce((n, p) => n + (p.bouncedPods?.length ?? 0), 0);
          const selectors = (pbd.spec?.podsToBounce ?? []).length;
          const done = (pbd.status?.podsBounced ?? []).length;
          row.state = done >= selectors && selectors > 0 ? 'BOUNCED' : done > 0 ? 'BOUNCING' : 'PENDING';
          // PodBounceDirective has no observedGeneration: its status is the record of work done.
          row.generationLag = false;
          row.detail = `${bounced} pods bounced, ${done}/${selectors} selectors`;
          break;
        }
        case 'VirtualMeshCertificateSigningRequest': {
          const csr = o as VmcsrObj;
          const approval = csr.status?.thirdPartyApproval?.approvalStatus ?? 'PENDING';
          row.state = csr.status?.computedStatus?.state ?? 'UNKNOWN';
          row.error =
            csr.status?.computedStatus?.message ||
            (approval === 'DENIED' ? csr.status?.thirdPartyApproval?.message : undefined) ||
            undefined;
          row.generationLag = false;
          row.detail = `approval ${approval}`;
          const response = csr.status?.response;
          setCert(
            row,
            fieldText(row, response?.caCertificate, 'status.response.caCertificate'),
            fieldText(row, response?.rootCertificate, 'status.response.rootCertificate'),
            'status.response',
            now,
          );
          break;
        }
      }
      rows.push(row);
    }
  }
  return sortRows(rows);
}

function sortRows(rows: StatusRow[]): StatusRow[] {
  const order = new Map(KINDS.map((k, i) => [k.kind as string, i]));
  return rows.sort(
    (a, b) =>
      order.get(a.kind)! - order.get(b.kind)! || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
}

/** The row of a cluster that could not be listed: UNREACHABLE, or ERROR for any other cause. */
export function clusterErrorRow(cluster: string, error: Error): StatusRow {
  const unreachable = error instanceof UnreachableError;
  const message =
    unreachable || error.message.includes(`"${cluster}"`) ? error.message : `cluster "${cluster}": ${error.message}`;
  return {
    cluster,
    kind: 'Cluster',
    apiVersion: 'v1',
    namespace: '',
    name: cluster,
    state: unreachable ? 'UNREACHABLE' : 'ERROR',
    generationLag: false,
    error: message,
  };
}

export interface StatusReport {
  rows: StatusRow[];
  settled: Settled<StatusRow[]>[];
  /** The active CertificateRotations of every cluster that answered, whatever -n/-l selected. */
  rotations: ActiveRotation[];
  /** Per VirtualMesh of the IssuedCertificates shown: do its clusters trust the same roots? */
  trust: MeshVerdict[];
}

/** The active CertificateRotations of one cluster (every namespace, no selector). */
async function activeRotations(k8s: K8s, cluster: string): Promise<ActiveRotation[]> {
  const k = KINDS.find((x) => x.kind === 'CertificateRotation')!;
  let items: RotationObj[];
  try {
    items = await k8s.list<RotationObj>(k, undefined);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  return items
    .filter((o) => o.spec?.virtualMesh?.name && isActiveRotation(o.status?.state))
    .map((o) => ({
      cluster,
      name: `${o.metadata.namespace}/${o.metadata.name}`,
      virtualMesh: `${o.spec!.virtualMesh!.namespace || o.metadata.namespace}/${o.spec!.virtualMesh!.name}`,
      state: o.status?.state ?? 'PENDING',
      rotationState: o.status?.rotationState ?? 'NOT_ROTATING',
    }));
}

export async function collectStatus(
  clusters: Cluster[],
  opts: { namespace?: string; selector?: string },
): Promise<StatusReport> {
  const settled = await onClusters(clusters, (k8s, c) => clusterRows(k8s, c, opts));
  const rows = settled.flatMap((s) => (s.ok ? s.value : [clusterErrorRow(s.cluster.name, s.error)]));
  addRotationProgress(rows);
  // -n or -l may hide the CertificateRotation that makes a mixed VirtualMesh expected: look for it unfiltered.
  let rotations = rotationsOf(rows);
  if (opts.namespace || opts.selector) {
    const answered = settled.filter((s) => s.ok).map((s) => s.cluster);
    const found = await onClusters(answered, (k8s, c) => activeRotations(k8s, c.name));
    rotations = found.flatMap((s) => (s.ok ? s.value : rotationsOf(rows.filter((r) => r.cluster === s.cluster.name))));
  }
  return { rows, settled, rotations, trust: meshVerdicts(membersOf(rows), rotations) };
}

/** The IssuedCertificates of VirtualMeshes among the rows, with what their issued Secrets hold. */
export function membersOf(rows: StatusRow[]): MeshMember[] {
  return rows
    .filter((r) => r.kind === 'IssuedCertificate' && r.virtualMeshes?.length)
    .map((r) => ({
      cluster: r.cluster,
      ic: `${r.namespace}/${r.name}`,
      virtualMeshes: r.virtualMeshes!,
      ...(r.trust
        ? { trust: r.trust }
        : { missing: r.detail?.startsWith('issued Secret') ? r.detail : 'no issued Secret yet' }),
    }));
}

/** The active CertificateRotations among the rows. */
export function rotationsOf(rows: StatusRow[]): ActiveRotation[] {
  return rows
    .filter((r) => r.kind === 'CertificateRotation' && r.virtualMeshes?.length && isActiveRotation(r.state))
    .map((r) => ({
      cluster: r.cluster,
      name: `${r.namespace}/${r.name}`,
      virtualMesh: r.virtualMeshes![0]!,
      state: r.state,
      rotationState: r.rotationState ?? 'NOT_ROTATING',
    }));
}

/** One line per VirtualMesh, for the table formats: what its clusters trust, and whether that is right (its mark). */
export function trustLines(verdicts: MeshVerdict[], mark: (m: Mark) => string = (m) => MARKS[m]): string[] {
  return verdicts.map((v) => `${mark(v.ok ? 'ok' : 'fail')} ${v.message}`);
}

/**
 * A CertificateRotation's step for the ROTATION column (while VERIFYING, the step it verifies);
 * '' for other kinds, and when there is none or it would repeat the STATE column.
 */
export function rotationColumn(r: StatusRow): string {
  if (r.kind !== 'CertificateRotation') return '';
  if (r.state === 'VERIFYING' && r.progressStep) return r.progressStep;
  return rotationStep(r.state, r.rotationState) ?? '';
}

const DONE_STATES = new Set(['FINISHED', 'BOUNCED', 'APPROVED']);
const MOVING_STATES = new Set(['REQUESTED', 'ISSUED', 'ROTATING', 'VERIFYING', 'BOUNCING']);

/**
 * The mark whose colour a row's state takes: failures (and the FAILED objects status reports as
 * notes: Gloo Mesh's, superseded rotations) fail, done ok, under way step; PENDING and the rest
 * none.
 */
export function stateMark(r: StatusRow): Mark | undefined {
  if (r.kind === 'Cluster' || isFailed(r)) return 'fail';
  if (DONE_STATES.has(r.state)) return 'ok';
  if (MOVING_STATES.has(r.state)) return 'step';
  return undefined;
}

/** The mark of a certificate's days left: expired fail, within warnDays warn. */
export function daysMark(r: StatusRow, warnDays: number): Mark | undefined {
  if (r.daysLeft === undefined) return undefined;
  return r.daysLeft < 0 ? 'fail' : r.daysLeft < warnDays ? 'warn' : undefined;
}

/**
 * For each active CertificateRotation row, how far each cluster's IssuedCertificates of its
 * VirtualMesh are with the current step: done when FINISHED with observedRotationState = step.
 */
export function addRotationProgress(rows: StatusRow[]): void {
  for (const rot of rows) {
    if (rot.kind !== 'CertificateRotation' || !rot.progress) continue;
    const vm = rot.virtualMeshes?.[0];
    const step = rot.progressStep;
    const byCluster = new Map<string, ClusterProgress>();
    for (const ic of rows) {
      if (ic.kind !== 'IssuedCertificate' || !vm || !ic.virtualMeshes?.includes(vm)) continue;
      const p = byCluster.get(ic.cluster) ?? { cluster: ic.cluster, done: 0, total: 0, waiting: [] };
      byCluster.set(ic.cluster, p);
      p.total++;
      const at = ic.state === 'FINISHED' ? `at ${ic.observedRotationState ?? 'NOT_ROTATING'}` : ic.state;
      if (ic.state === 'FINISHED' && ic.observedRotationState === step) p.done++;
      else if (!p.waiting.includes(at)) p.waiting.push(at);
    }
    rot.progress = [...byCluster.values()].sort((a, b) => a.cluster.localeCompare(b.cluster));
  }
}

/** `c1 1/1 done`, `c2 0/1 ISSUED`: one line per active rotation, for the table formats. */
export function progressLines(rows: StatusRow[], mark: (m: Mark) => string = (m) => MARKS[m]): string[] {
  return rows
    .filter((r) => r.progress)
    .map((r) => {
      const clusters = r.progress!.map(
        (p) => `${p.cluster} ${p.done}/${p.total} ${p.done === p.total ? 'done' : p.waiting.join(',')}`,
      );
      return `${mark('step')} CertificateRotation ${r.namespace}/${r.name} (virtualMesh ${r.virtualMeshes?.[0] ?? '-'}) ${rotationWords(r.state, r.rotationState, r.progressStep)}: ${clusters.length ? clusters.join(', ') : 'no IssuedCertificate of the VirtualMesh found'}`;
    });
}

/** What Gloo Mesh drives is observed, never a failure of mesh-cert's to drive. */
const observed = (r: StatusRow) => r.drivenBy === 'Gloo Mesh';

const describe = (r: StatusRow) =>
  r.kind === 'Cluster' ? `cluster ${r.cluster}` : `${r.kind} ${r.namespace}/${r.name} on cluster ${r.cluster}`;

/** Exit code of `status` and `check` when there are warnings but no failure (documented in plugin/README.md). */
export const EXIT_WARNINGS = 3;

/**
 * A FAILED CertificateRotation that a later rotation of the same VirtualMesh (on the same
 * cluster) superseded: the record of a past attempt, not a failure now.
 */
export function isSuperseded(row: StatusRow, rows: readonly StatusRow[]): boolean {
  if (row.kind !== 'CertificateRotation' || row.state !== 'FAILED' || !row.virtualMeshes?.length) return false;
  const created = (r: StatusRow) =>
    Date.parse((r.object?.metadata as { creationTimestamp?: string } | undefined)?.creationTimestamp ?? '') || 0;
  return rows.some(
    (r) =>
      r !== row &&
      r.kind === 'CertificateRotation' &&
      r.cluster === row.cluster &&
      r.virtualMeshes?.[0] === row.virtualMeshes![0] &&
      created(r) > created(row),
  );
}

/**
 * What `status` found, one line each: failures (unreachable clusters, FAILED objects mesh-cert
 * drives, expired certificates, VirtualMeshes whose clusters trust different roots outside a
 * rotation or have a trust gap) exit 1; warnings only (certificates expiring within warnDays)
 * exit EXIT_WARNINGS. A FAILED rotation a later one superseded is neither (see notes()).
 */
export function findings(
  rows: StatusRow[],
  warnDays: number,
  verdicts: MeshVerdict[] = meshVerdicts(membersOf(rows), rotationsOf(rows)),
): { failures: string[]; warnings: string[] } {
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const r of rows) {
    const what = describe(r);
    if (r.kind === 'Cluster') failures.push(r.error ?? `${what} is ${r.state}`);
    else if (isFailed(r) && !observed(r) && !isSuperseded(r, rows))
      failures.push(`${what} is ${r.state}${r.error ? `: ${r.error}` : ''}`);
    for (const u of r.undecodable ?? []) failures.push(`${what}: ${u}`);
    if (r.daysLeft !== undefined && r.daysLeft < warnDays) {
      if (r.daysLeft < 0) failures.push(`${what}: certificate expired on ${r.notAfter}`);
      else
        warnings.push(
          `${what}: certificate expires in ${r.daysLeft} days (${r.notAfter}), within --warn-days ${warnDays}`,
        );
    }
  }
  for (const v of verdicts) if (!v.ok) failures.push(v.message);
  return { failures, warnings };
}

/** Every finding of `status`, failures and warnings, in row order (findings() tells them apart). */
export function problems(
  rows: StatusRow[],
  warnDays: number,
  verdicts: MeshVerdict[] = meshVerdicts(membersOf(rows), rotationsOf(rows)),
): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const { failures, warnings } = findings([r], warnDays, []);
    if (r.kind === 'CertificateRotation' && isSuperseded(r, rows)) continue;
    out.push(...failures, ...warnings);
  }
  for (const v of verdicts) if (!v.ok) out.push(v.message);
  return out;
}

/** What `status` reports without failing: FAILED objects Gloo Mesh drives (observe mode), FAILED rotations superseded. */
export function notes(rows: StatusRow[]): string[] {
  return [
    ...rows
      .filter((r) => observed(r) && isFailed(r))
      .map(
        (r) =>
          `${describe(r)} is ${r.state}${r.error ? `: ${r.error}` : ''} (driven by Gloo Mesh, ${r.owner}: mesh-cert only observes it)`,
      ),
    ...rows
      .filter((r) => isSuperseded(r, rows))
      .map(
        (r) =>
          `${describe(r)} is FAILED${r.error ? ` (${r.error})` : ''}; a later rotation of VirtualMesh ${r.virtualMeshes![0]} superseded it: history, not a failure`,
      ),
  ];
}
