// The material of a signing Secret in the Istio `cacerts` layout, generated (a new self-signed
// root) or imported from files (a root, or an intermediate with its chain). Everything is
// verified with schemas/x509 before anything is written.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as pki from '#schemas/x509/index.js';
import { splitPem, textBase64 } from '#schemas/x509/pem.js';
import { ISTIO_KEYS, LEGACY_KEY } from '#schemas/x509/secret-keys.js';
import { UserError } from '../lib/errors.js';
import { resourceOf } from '../lib/kinds.js';
import { ANN_ROTATION_ROOTS, DEFAULT_ISSUED_SECRET, PARENTS_ANNOTATION } from '../engine/resources.js';

export interface SigningMaterial {
  caCertPem: string;
  caKeyPem: string;
  rootPems: string[];
  /** ca-cert, then every intermediate, then the root (Istio's cert-chain.pem). */
  chainPems: string[];
}

export function secretData(m: SigningMaterial): Record<string, string> {
  const b64 = textBase64;
  const join_ = (pems: string[]) => pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
  const isRoot = m.rootPems.length > 0 && m.rootPems[0]!.replace(/\s+/g, '') === m.caCertPem.replace(/\s+/g, '');
  return {
    [ISTIO_KEYS.caCert]: b64(m.caCertPem),
    [ISTIO_KEYS.caKey]: b64(m.caKeyPem),
    [ISTIO_KEYS.rootCert]: b64(join_(m.rootPems)),
    [ISTIO_KEYS.certChain]: b64(join_(m.chainPems)),
    // A root also carries key.pem: Gloo Mesh's own issuer signs from that legacy layout (key.pem +
    // root-cert.pem, the root signing directly). Not for an intermediate: there key.pem would
    // not be root-cert.pem's key.
    ...(isRoot ? { [LEGACY_KEY]: b64(m.caKeyPem) } : {}),
  };
}

export async function generateRoot(opts: {
  org: string;
  commonName: string;
  ttlDays: number;
  keyBits: 2048 | 3072 | 4096;
}): Promise<SigningMaterial> {
  const key = await pki.generateRsaKey(opts.keyBits);
  const cert = pki.createRootCa({
    privateKeyPem: key.privateKeyPem,
    subject: { O: opts.org, CN: opts.commonName },
    ttlDays: opts.ttlDays,
  });
  return { caCertPem: cert, caKeyPem: key.privateKeyPem, rootPems: [cert], chainPems: [cert] };
}

/** The files to read: a directory's *.pem/*.crt/*.key files, or the listed files (comma list). */
export function filesOf(spec: string): string[] {
  const items = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: string[] = [];
  for (const item of items) {
    let st;
    try {
      st = statSync(item);
    } catch {
      throw new UserError(`--from-files: ${item}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const files = readdirSync(item)
        .filter((f) => /\.(pem|crt|key)$/.test(f))
        .sort()
        .map((f) => join(item, f));
      if (files.length === 0) throw new UserError(`--from-files: directory ${item} holds no .pem, .crt or .key files`);
      out.push(...files);
    } else out.push(item);
  }
  return out;
}

/**
 * Reads keys and certificates from files and orders them into signing material: the one private
 * key, the certificate it belongs to (ca-cert), the chain up to a self-signed root, and the roots.
 */
export function importFiles(spec: string): SigningMaterial {
  const files = filesOf(spec);
  const keys: { file: string; pem: string }[] = [];
  const certs = new Map<string, { file: string; pem: string; x: X509Certificate }>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const blocks = splitPem(text);
    if (blocks.length === 0) throw new UserError(`--from-files: ${basename(file)} holds no PEM block`);
    for (const { type, pem } of blocks) {
      if (/PRIVATE KEY$/.test(type)) keys.push({ file, pem });
      else if (type === 'CERTIFICATE') {
        let x: X509Certificate;
        try {
          x = new X509Certificate(pem);
        } catch {
          throw new UserError(`--from-files: ${basename(file)} holds a certificate that does not parse`);
        }
        if (!certs.has(x.fingerprint256)) certs.set(x.fingerprint256, { file, pem, x });
      } else
        throw new UserError(
          `--from-files: ${basename(file)} holds a "${type}" block; expected certificates and one private key`,
        );
    }
  }
  const distinctKeys = [...new Map(keys.map((k) => [k.pem.replace(/\s+/g, ''), k])).values()];
  if (distinctKeys.length !== 1) {
    throw new UserError(`--from-files: expected exactly one private key (ca-key.pem), found ${distinctKeys.length}`);
  }
  const key = distinctKeys[0];
  if (certs.size === 0)
    throw new UserError('--from-files: no certificate found; expected the CA certificate (ca-cert.pem) and its root');
  const all = [...certs.values()];
  const own = all.filter((c) => pki.privateKeyMatchesCert(key.pem, c.pem));
  if (own.length === 0)
    throw new UserError(`--from-files: the private key in ${basename(key.file)} matches none of the certificates`);
  // Prefer the file named ca-cert.pem if several certificates share the key (re-issued CA).
  const ca = own.find((c) => basename(c.file) === ISTIO_KEYS.caCert) ?? own[0];
  if (!ca.x.ca)
    throw new UserError(
      `--from-files: the certificate of the private key (${ca.x.subject.replace(/\n/g, ', ')}) is not a CA certificate`,
    );

  const isSelfSigned = (c: { x: X509Certificate }) => c.x.checkIssued(c.x) && c.x.verify(c.x.publicKey);
  const chain = [ca];
  let cur = ca;
  while (!isSelfSigned(cur)) {
    const parent = all.find((p) => p !== cur && cur.x.checkIssued(p.x) && cur.x.verify(p.x.publicKey));
    if (!parent) {
      throw new UserError(
        `--from-files: the chain of ${cur.x.subject.replace(/\n/g, ', ')} stops: its issuer (${cur.x.issuer.replace(/\n/g, ', ')}) is not among the files; add the intermediate or root certificate`,
      );
    }
    if (chain.includes(parent)) throw new UserError('--from-files: the certificates form a loop');
    chain.push(parent);
    cur = parent;
  }
  const root = cur;
  // Other self-signed certificates (a root-cert.pem bundle during a rotation) stay trusted too.
  const otherRoots = all.filter((c) => c !== root && !chain.includes(c) && isSelfSigned(c));
  const unused = all.filter((c) => !chain.includes(c) && !otherRoots.includes(c));
  if (unused.length) {
    throw new UserError(
      `--from-files: ${unused.length} certificate(s) are neither in the chain of the CA certificate nor roots (first: ${unused[0].x.subject.replace(/\n/g, ', ')} in ${basename(unused[0].file)})`,
    );
  }
  return {
    caCertPem: ca.pem,
    caKeyPem: key.pem,
    rootPems: [root.pem, ...otherRoots.map((r) => r.pem)],
    chainPems: chain.map((c) => c.pem),
  };
}

/** Verifies material as a signing Secret would be verified; returns the warnings. */
export function verifyMaterial(m: SigningMaterial): string[] {
  const res = pki.verifySigningSecret(secretData(m));
  if (!res.ok) throw new UserError(`the CA material does not verify: ${res.error}`);
  return res.warnings;
}

// ---- overwriting a root Secret (root create --force) ----

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'mesh-cert';
/** On a backup Secret: the name of the Secret it copies (as the engine labels its backups). */
export const LABEL_BACKUP_OF = 'mesh-cert.solo.io/backup-of';
/** On a backup Secret: NAMESPACE/NAME of the Secret it copies, and when. */
export const ANN_BACKUP_OF = 'mesh-cert.solo.io/backup-of';
export const ANN_BACKUP_TIME = 'mesh-cert.solo.io/backed-up-at';
export const ANN_BACKUP_SOURCE = 'mesh-cert.solo.io/backup-source';

export interface SecretRef {
  namespace: string;
  name: string;
}

interface ObjLike {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}

/** One object that uses a Secret, and how. */
export interface SecretUse {
  cluster: string;
  kind: 'IssuedCertificate' | 'CertificateRotation' | 'VirtualMesh';
  namespace: string;
  name: string;
  /** The field that names the Secret, e.g. spec.glooMeshCa.signingCertificateSecret. */
  via: string;
  /** The VirtualMeshes an IssuedCertificate belongs to (parents annotation), or a rotation's state. */
  note?: string;
}

export function describeUse(u: SecretUse): string {
  return `${u.kind} ${u.namespace}/${u.name} in cluster "${u.cluster}" (${u.via}${u.note ? `; ${u.note}` : ''})`;
}

function refAt(v: unknown, path: string[]): { name?: unknown; namespace?: unknown } | undefined {
  let cur: unknown = v;
  for (const p of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur && typeof cur === 'object' ? (cur as { name?: unknown; namespace?: unknown }) : undefined;
}

function names(r: { name?: unknown; namespace?: unknown } | undefined, target: SecretRef, defaultNs: string): boolean {
  if (!r || typeof r.name !== 'string') return false;
  const ns = typeof r.namespace === 'string' && r.namespace ? r.namespace : defaultNs;
  return r.name === target.name && ns === target.namespace;
}

function virtualMeshesOf(o: ObjLike): string[] {
  const raw = o.metadata.annotations?.[PARENTS_ANNOTATION];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    return Object.entries(v ?? {})
      .filter(([gvk, refs]) => /VirtualMesh$/.test(gvk) && Array.isArray(refs))
      .flatMap(([, refs]) =>
        (refs as { name?: unknown; namespace?: unknown }[])
          .filter((r) => typeof r?.name === 'string')
          .map((r) => `${String(r.namespace ?? '')}/${String(r.name)}`),
      );
  } catch {
    return [];
  }
}

/**
 * How an IssuedCertificate uses `target`: as its signing Secret (spec.glooMeshCa.signingCertificateSecret
 * or the deprecated spec.signingCertificateSecret), as the old or new root of a rotation
 * (annotation mesh-cert.solo.io/rotation-roots), or, when it lives in the Secret's own cluster,
 * as its issued Secret (spec.issuedCertificateSecret, default istio-system/cacerts).
 */
export function issuedCertificateUses(
  ic: ObjLike,
  cluster: string,
  target: SecretRef,
  sameCluster: boolean,
): SecretUse[] {
  const ns = ic.metadata.namespace ?? 'default';
  const vms = virtualMeshesOf(ic);
  const note = vms.length ? `VirtualMesh ${vms.join(', ')}` : undefined;
  const use = (via: string): SecretUse => ({
    cluster,
    kind: 'IssuedCertificate',
    namespace: ns,
    name: ic.metadata.name,
    via,
    ...(note ? { note } : {}),
  });
  const out: SecretUse[] = [];
  if (names(refAt(ic.spec, ['glooMeshCa', 'signingCertificateSecret']), target, ns))
    out.push(use('spec.glooMeshCa.signingCertificateSecret'));
  if (names(refAt(ic.spec, ['signingCertificateSecret']), target, ns)) out.push(use('spec.signingCertificateSecret'));
  const raw = ic.metadata.annotations?.[ANN_ROTATION_ROOTS];
  if (raw) {
    try {
      const roots = JSON.parse(raw) as { old?: unknown; new?: unknown };
      if (names(refAt(roots, ['old']), target, ns)) out.push(use(`annotation ${ANN_ROTATION_ROOTS}: old root`));
      if (names(refAt(roots, ['new']), target, ns)) out.push(use(`annotation ${ANN_ROTATION_ROOTS}: new root`));
    } catch {
      /* not ours to judge here */
    }
  }
  if (sameCluster) {
    const issued = refAt(ic.spec, ['issuedCertificateSecret']) ?? DEFAULT_ISSUED_SECRET;
    if (names(issued, target, ns)) out.push(use('spec.issuedCertificateSecret'));
  }
  return out;
}

/** A CertificateRotation (management cluster) whose spec.newRootCaSecret is `target`. */
export function rotationUses(rot: ObjLike, cluster: string, target: SecretRef): SecretUse[] {
  const ns = rot.metadata.namespace ?? 'default';
  if (!names(refAt(rot.spec, ['newRootCaSecret']), target, ns)) return [];
  const state = (rot.status as { state?: string } | undefined)?.state ?? 'PENDING';
  const vm = refAt(rot.spec, ['virtualMesh']);
  const note = `state ${state}${vm && typeof vm.name === 'string' ? `, VirtualMesh ${String(vm.namespace ?? ns)}/${vm.name}` : ''}`;
  return [
    { cluster, kind: 'CertificateRotation', namespace: ns, name: rot.metadata.name, via: 'spec.newRootCaSecret', note },
  ];
}

/** A Gloo Mesh VirtualMesh whose shared root CA is `target` (spec.mtlsConfig.shared.rootCertificateAuthority.secret). */
export function virtualMeshUses(vm: ObjLike, cluster: string, target: SecretRef): SecretUse[] {
  const ns = vm.metadata.namespace ?? 'default';
  if (!names(refAt(vm.spec, ['mtlsConfig', 'shared', 'rootCertificateAuthority', 'secret']), target, ns)) return [];
  return [
    {
      cluster,
      kind: 'VirtualMesh',
      namespace: ns,
      name: vm.metadata.name,
      via: 'spec.mtlsConfig.shared.rootCertificateAuthority.secret',
    },
  ];
}

// Gloo Mesh's VirtualMesh is no kind of mesh-cert's (schemas' registry has none of its names): read here only.
const VIRTUAL_MESH = {
  group: 'networking.mesh.gloo.solo.io',
  version: 'v1',
  plural: 'virtualmeshes',
  kind: 'VirtualMesh',
};
const ISSUED_CERTIFICATE = resourceOf('IssuedCertificate');
const CERTIFICATE_ROTATION = resourceOf('CertificateRotation');

type ClusterLike = import('../lib/clusters.js').Cluster;

/**
 * Every object that uses the Secret `target` of the management cluster: IssuedCertificates in
 * every given cluster, CertificateRotations and VirtualMeshes in the management cluster. A kind
 * a cluster does not serve (404) uses nothing; a cluster that cannot be asked is in `failed`.
 */
export async function findSecretUses(
  mgmt: ClusterLike,
  clusters: readonly ClusterLike[],
  target: SecretRef,
): Promise<{ uses: SecretUse[]; failed: { cluster: string; error: Error }[] }> {
  const [{ onClusters, failures }, { isNotFound }] = await Promise.all([
    import('../lib/clusters.js'),
    import('../lib/k8s.js'),
  ]);
  const listOr404 = async <T>(fn: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await fn();
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  };
  const all = [mgmt, ...clusters.filter((c) => c.name !== mgmt.name)];
  const settled = await onClusters(all, async (k8s, c) => {
    const isMgmt = c.name === mgmt.name;
    const [ics, rots, vms] = await Promise.all([
      listOr404(() => k8s.list(ISSUED_CERTIFICATE, undefined)),
      isMgmt ? listOr404(() => k8s.list(CERTIFICATE_ROTATION, undefined)) : Promise.resolve([]),
      isMgmt ? listOr404(() => k8s.list(VIRTUAL_MESH, undefined)) : Promise.resolve([]),
    ]);
    return [
      ...ics.flatMap((o) => issuedCertificateUses(o, c.name, target, isMgmt)),
      ...rots.flatMap((o) => rotationUses(o, c.name, target)),
      ...vms.flatMap((o) => virtualMeshUses(o, c.name, target)),
    ];
  });
  return { uses: settled.flatMap((s) => (s.ok ? s.value : [])), failed: failures(settled) };
}

/** `<name>-backup-<UTC timestamp>` (YYYYMMDDhhmmss), within the 253 characters of a name. */
export function backupName(name: string, when: Date, attempt = 0): string {
  const stamp = when.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const suffix = `-backup-${stamp}${attempt ? `-${attempt + 1}` : ''}`;
  return `${name.slice(0, 253 - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
}

/** A label value naming the Secret (63 characters at most, alphanumeric at both ends). */
function labelValueOf(name: string): string {
  if (name.length <= 63) return name;
  return name.slice(0, 63).replace(/[^a-z0-9]+$/, '');
}

export interface SecretLike {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  type?: string;
  data?: Record<string, string>;
}

/**
 * The copy of `secret` kept before it is overwritten: the same type and data, labelled as mesh-cert's
 * backup of it, immutable (a backup is never edited, only deleted).
 */
export function backupSecret(
  secret: SecretLike,
  when: Date,
  attempt = 0,
): SecretLike & {
  apiVersion: string;
  kind: string;
  immutable: boolean;
  metadata: { annotations: Record<string, string> };
} {
  const ns = secret.metadata.namespace ?? 'default';
  const source = JSON.stringify({
    uid: secret.metadata.uid,
    resourceVersion: secret.metadata.resourceVersion,
    labels: secret.metadata.labels ?? {},
  });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: backupName(secret.metadata.name, when, attempt),
      namespace: ns,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_BACKUP_OF]: labelValueOf(secret.metadata.name) },
      annotations: {
        [ANN_BACKUP_OF]: `${ns}/${secret.metadata.name}`,
        [ANN_BACKUP_TIME]: when.toISOString(),
        [ANN_BACKUP_SOURCE]: source,
      },
    },
    ...(secret.type ? { type: secret.type } : {}),
    data: { ...(secret.data ?? {}) },
    immutable: true,
  };
}

export function createdByMeshCert(secret: SecretLike): boolean {
  return secret.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}
