// `check`: a preflight in the style of `linkerd check`. CHECKS is the table of checks: each has
// an id, a category, what it verifies, the severity of its non-passing result (a failure makes
// the command exit 1, a warning does not) and a hint shown under a non-passing line. runChecks
// probes the clusters (reads only) and evaluates the facts into lines, one per check and subject;
// renderChecks prints them.
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { connect as tlsConnect, type DetailedPeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as pki from '#schemas/x509/index.js';
import type { Cluster, ClusterSet } from '../lib/clusters.js';
import { errorMessage } from '../lib/errors.js';
import { ApiError } from '../lib/errors.js';
import type { K8s, KObject, ResourceType, Secret } from '../lib/k8s.js';
import { isNotFound } from '../lib/k8s.js';
import { KINDS, resourceOf } from '../lib/kinds.js';
import { mark, type Mark } from '../lib/progress.js';
import type { Ref } from '../lib/refs.js';
import { certPems, daysLeft, fromBase64 } from '../lib/certs.js';
import { glooMeshOwner } from '../engine/ownership.js';
import { DEFAULT_ISSUED_SECRET, ISTIO_PREFERRED_KEYS } from '../engine/resources.js';
import type { IssuedCertificate, ObjectRef } from '../engine/objects.js';
import { signingPlan, signingSecretRef } from '../engine/issuance/signing-plan.js';
import { virtualMeshesOf } from '../engine/parents.js';
import { compareCrd, crdOwner, fewOf, ownerText, MESH_CERT_CRD_LABELS, type CrdOwner } from './crds.js';
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
import { CHECK_PROBE_PREFIX, SERVING_CERTIFICATE_ANNOTATION } from '#schemas/src/annotations.js';
import { textBase64 } from '#schemas/x509/pem.js';
import { PkiError } from '#schemas/x509/errors.js';
import { ISTIO_KEYS, TLS_KEYS } from '#schemas/x509/secret-keys.js';

export type Result = 'pass' | 'warn' | 'fail';
export type Severity = 'failure' | 'warning';

export interface CheckLine {
  category: string;
  cluster: string;
  name: string;
  result: Result;
  message: string;
  /** The id of the check (CHECKS) that made the line. */
  check?: string;
  /** What to do about a line that did not pass. */
  hint?: string;
}

export interface CheckDef {
  id: string;
  category: string;
  /** What passing means, in a few words. */
  title: string;
  severity: Severity;
  hint: string;
}

const def = (id: string, category: string, title: string, severity: Severity, hint: string): CheckDef => ({
  id,
  category,
  title,
  severity,
  hint,
});

/** What installs the CRDs, from a clone of the repository or from the Helm chart. */
export const INSTALL_CRDS =
  'install them: kubectl apply -k manifests/ (or helm install mesh-cert manifests/helm/mesh-cert -n mesh-cert-system --create-namespace)';

/** A CA or intermediate with fewer days left is a warning. */
export const MIN_DAYS = 60;

/** A webhook serving certificate with fewer days left is a warning (cert-manager renews at a third of 90 days). */
export const SERVING_MIN_DAYS = 30;
/** What mends the webhook's TLS in each of the install's TLS modes (manifests/README.md). */
const TLS_LOGS = 'kubectl -n mesh-cert-system logs deploy/mesh-cert-webhook';
const TLS_FIX = `tls mode self (the default) writes the caBundle and serving certificate itself: read ${TLS_LOGS}; manual TLS: webhook/gen-certs.sh --apply`;
const TLS_RENEW = `tls mode self renews it at 2/3 of its life: read ${TLS_LOGS} if it did not; manual TLS: webhook/gen-certs.sh --reuse-ca --apply (the caBundle stays)`;

/** The table of checks, in the order they are printed. */
export const CHECKS = {
  reachable: def(
    'reachable',
    'clusters',
    'the API server answers',
    'failure',
    'check the context: kubectl --context CLUSTER version (the other clusters are still checked)',
  ),
  crdInstalled: def(
    'crd-installed',
    'CRDs',
    "the CRD of each of the 5 kinds is installed; whose it is (mesh-cert's or Gloo Mesh's)",
    'failure',
    INSTALL_CRDS,
  ),
  crdContract: def(
    'crd-contract',
    'CRDs',
    "each CRD serves the contract's version with the status subresource and types no field otherwise than schemas/ does",
    'failure',
    "kubectl apply -k manifests/ installs the schemas/ contract (over Gloo Mesh's CRDs too: see README)",
  ),
  crdCurrent: def(
    'crd-current',
    'CRDs',
    "each CRD has every field of manifests/crds (generated from schemas/); mesh-cert's are identical to it",
    'warning',
    'kubectl apply -k manifests/ (re-apply them)',
  ),
  webhookConfig: def(
    'webhook-config',
    'webhook',
    `webhook configurations route the mesh-cert kinds with a caBundle valid for ${MIN_DAYS} days or more`,
    'failure',
    `kubectl apply -k manifests/; ${TLS_FIX}`,
  ),
  webhookCert: def(
    'webhook-serving-cert',
    'webhook',
    `each webhook's serving certificate chains to its caBundle, names the host the API server calls, and is valid for ${SERVING_MIN_DAYS} days or more`,
    'failure',
    TLS_RENEW,
  ),
  webhookDryRun: def(
    'webhook-dry-run',
    'webhook',
    'a write only the webhook refuses is refused (dry run)',
    'failure',
    'is the webhook running and reachable from the API server? kubectl apply -k manifests/',
  ),
  signingSecret: def(
    'signing-secret',
    'roots',
    'each signing Secret exists, verifies, and is valid for 60 days or more',
    'failure',
    'kubectl mesh-cert inspect secret NS/NAME --context MGMT; kubectl mesh-cert root create',
  ),
  cacerts: def(
    'cacerts',
    'cacerts',
    "each managed cluster's cacerts is valid for 60 days or more and chains to the current root",
    'failure',
    'kubectl mesh-cert issue NAME --cluster CLUSTER re-issues it',
  ),
  istioKeys: def(
    'cacerts-istio-keys',
    'cacerts',
    'no cacerts Secret holds tls.crt, tls.key or ca.crt, which Istio 1.15+ loads in preference to the *.pem keys',
    'failure',
    'kubectl mesh-cert issue NAME rewrites the Secret whole (the four Istio keys only)',
  ),
  meshTrust: def(
    'mesh-trust',
    'trust',
    'the clusters of each VirtualMesh trust the same roots, with intermediates anchored at one root, outside an active rotation; no intermediate is anchored at a root a cluster of its mesh does not trust',
    'failure',
    'finish or roll back the rotation (kubectl mesh-cert rotate --virtual-mesh NS/NAME [--abort]), or re-issue: kubectl mesh-cert issue NAME --cluster CLUSTER',
  ),
  staleRoot: def(
    'stale-root',
    'trust',
    "every root a cluster trusts is held by a signing Secret in use (an IssuedCertificate's, or an active rotation's)",
    'warning',
    "re-issue the cluster's certificates so that root-cert.pem holds only the roots in use: kubectl mesh-cert issue NAME --cluster CLUSTER",
  ),
  glooMeshOwned: def(
    'gloo-mesh-owned',
    'certificates',
    'IssuedCertificates Gloo Mesh owns are observed (Gloo Mesh drives them, mesh-cert does not)',
    'warning',
    "Gloo Mesh's agent and issuer drive it: see their logs (mesh-cert issue and rotate refuse it)",
  ),
} as const satisfies Record<string, CheckDef>;

const CATEGORY_ORDER = ['clusters', 'CRDs', 'webhook', 'roots', 'cacerts', 'trust', 'certificates'];

export interface CheckOptions {
  /** The CRDs to compare with (default: the ones this client was built with, clientCrds). */
  crds?: KObject[];
  cacerts: Ref;
  rootSecret?: Ref;
  dryRunNamespace: string;
}

/** A line of check `d` about `cluster`; a non-passing line carries the check's hint (or `hint`). */
function line(d: CheckDef, cluster: string, name: string, result: Result, message: string, hint?: string): CheckLine {
  return {
    category: d.category,
    cluster,
    name,
    result,
    message,
    check: d.id,
    ...(result === 'pass' ? {} : { hint: hint ?? d.hint }),
  };
}

/** The non-passing result of a check: fail or warn, as its severity says. */
const notPassing = (d: CheckDef): Result => (d.severity === 'failure' ? 'fail' : 'warn');

// ---------------------------------------------------------------------------------------------
// CRDs: probed with one list per cluster, evaluated here.

/** Lines of the CRD checks for one cluster, from the installed CRDs and manifests/crds. */
export function evaluateCrds(
  cluster: string,
  installed: Map<string, KObject>,
  manifests: Map<string, KObject>,
): CheckLine[] {
  const lines: CheckLine[] = [];
  const present: { name: string; crd: KObject; owner: CrdOwner }[] = [];
  for (const k of KINDS) {
    const name = `${k.plural}.${k.group}`;
    const crd = installed.get(name);
    if (!crd) {
      lines.push(line(CHECKS.crdInstalled, cluster, name, 'fail', `CRD ${name} is not installed`));
      continue;
    }
    const want = manifests.get(name);
    const owner = crdOwner(crd, (want?.metadata.labels as Record<string, string> | undefined) ?? MESH_CERT_CRD_LABELS);
    present.push({ name, crd, owner: owner.owner });
    lines.push(line(CHECKS.crdInstalled, cluster, name, 'pass', `CRD ${name} is installed, ${ownerText(owner)}`));
  }
  if (present.length === 0) return lines;

  const contract: CheckLine[] = [];
  const current: CheckLine[] = [];
  for (const { name, crd, owner } of present) {
    const want = manifests.get(name);
    if (!want) {
      current.push(
        line(
          CHECKS.crdCurrent,
          cluster,
          name,
          'warn',
          `CRD ${name} is installed; manifests/crds has no copy to compare with`,
        ),
      );
      continue;
    }
    const cmp = compareCrd(crd, want);
    if (cmp.contract.length)
      contract.push(
        line(
          CHECKS.crdContract,
          cluster,
          name,
          'fail',
          `CRD ${name} (${owner === 'unknown' ? 'of unknown origin' : `${owner}'s`}) disagrees with the schemas/ contract: it ${cmp.contract.join('; it ')}`,
        ),
      );
    const { missing, extra } = cmp.diff;
    const fields = [
      missing.length ? `lacks ${fewOf(missing)} (the API server prunes them from what mesh-cert writes)` : '',
      extra.length ? `has ${fewOf(extra)}, which the contract does not` : '',
    ]
      .filter(Boolean)
      .join('; ');
    if (owner === 'mesh-cert') {
      if (!cmp.identical)
        current.push(
          line(
            CHECKS.crdCurrent,
            cluster,
            name,
            'warn',
            `CRD ${name} is installed but differs from manifests/crds (re-apply them)${fields ? `: it ${fields}` : ''}`,
          ),
        );
    } else if (missing.length) {
      const hint =
        owner === 'Gloo Mesh'
          ? "upgrade Gloo Mesh's CRDs, or install mesh-cert's over them: kubectl apply -k manifests/ (see README: what that does to Gloo Mesh's)"
          : undefined;
      current.push(
        line(
          CHECKS.crdCurrent,
          cluster,
          name,
          'warn',
          `CRD ${name} (${owner === 'unknown' ? 'of unknown origin' : `${owner}'s`}) ${fields}`,
          hint,
        ),
      );
    }
  }
  if (contract.length === 0)
    lines.push(
      line(
        CHECKS.crdContract,
        cluster,
        'served schemas',
        'pass',
        `the ${present.length} installed CRDs serve the contract's versions and agree with its field types`,
      ),
    );
  else lines.push(...contract);
  if (current.length === 0) {
    const owners = [...new Set(present.map((p) => p.owner))];
    const which =
      owners.length === 1 && owners[0] === 'mesh-cert'
        ? 'are identical to manifests/crds'
        : 'have every field of manifests/crds';
    lines.push(line(CHECKS.crdCurrent, cluster, 'fields', 'pass', `the ${present.length} installed CRDs ${which}`));
  } else lines.push(...current);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Webhooks.

interface ServiceRef {
  name: string;
  namespace: string;
  port?: number;
  path?: string;
}
interface WebhookEntry {
  name: string;
  clientConfig?: { url?: string; caBundle?: string; service?: ServiceRef };
  rules?: { apiGroups?: string[] }[];
}

const GROUPS = new Set(KINDS.map((k) => k.group));

/** A webhook's serving certificate as check found it, and where it was read. */
export interface ServingCert {
  /** The leaf, then any certificates the server (or the Secret) sends after it. */
  pems: string[];
  /** Where it was read: `TLS handshake with URL`, or `Secret NS/NAME key K, mounted by Deployment NS/NAME`. */
  source: string;
  /** The name the API server verifies it for: the URL's host, or `<service>.<namespace>.svc`. */
  host: string;
}

/**
 * The certificates a TLS server presents. Not verified here (rejectUnauthorized false): an
 * expired or foreign certificate is exactly what evaluateServingCert has to name.
 */
function handshakeCerts(url: string, timeoutMs = 5000): Promise<string[]> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host,
        port: Number(u.port || 443),
        servername: isIP(host) ? undefined : host,
        rejectUnauthorized: false,
        timeout: timeoutMs,
      },
      () => {
        const pems: string[] = [];
        const seen = new Set<DetailedPeerCertificate>();
        for (
          let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
          c?.raw && !seen.has(c);
          c = c.issuerCertificate
        ) {
          seen.add(c);
          pems.push(new X509Certificate(c.raw).toString());
        }
        socket.end();
        resolve(pems);
      },
    );
    socket.on('timeout', () => {
      socket.destroy();
      reject(new Error(`no TLS answer within ${timeoutMs / 1000}s`));
    });
    socket.on('error', reject);
  });
}

const DEPLOYMENT: ResourceType = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' };

interface PodSpec {
  containers?: { args?: string[]; command?: string[]; volumeMounts?: { name: string; mountPath: string }[] }[];
  volumes?: { name: string; secret?: { secretName?: string; items?: { key: string; path: string }[] } }[];
}

/**
 * The Secret key a Deployment serves TLS from: the Secret volume mounted where its
 * --tls-cert-file points (mesh-cert-webhook's flag), else the first Secret volume, key tls.crt.
 */
/** The value of `--name=VALUE` or `--name VALUE` in a container's argv (the first), if given. */
function flagValue(argv: readonly string[], name: string): string | undefined {
  const at = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  return argv[at] === name ? argv[at + 1] : argv[at]!.slice(name.length + 1);
}

export function servingSecretOf(pod: PodSpec): { secret: string; key: string; how: string } | undefined {
  const volumes = pod.volumes ?? [];
  for (const c of pod.containers ?? []) {
    const argv = [...(c.command ?? []), ...(c.args ?? [])];
    // --tls-mode=self: the webhook serves from the Secret it keeps itself (webhook/README.md, "TLS").
    const ownName = flagValue(argv, '--tls-secret');
    if (ownName) return { secret: ownName, key: TLS_KEYS.cert, how: 'kept by' };
    const file = flagValue(argv, '--tls-cert-file');
    if (file === undefined) continue;
    const mount = file
      ? (c.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
      : undefined;
    const vol = mount && volumes.find((v) => v.name === mount.name);
    if (!mount || !vol?.secret?.secretName) continue;
    const rel = posix.relative(mount.mountPath, file!);
    return {
      secret: vol.secret.secretName,
      key: vol.secret.items?.find((i) => i.path === rel)?.key ?? rel,
      how: 'mounted by',
    };
  }
  const first = volumes.find((v) => v.secret?.secretName);
  return first
    ? {
        secret: first.secret!.secretName!,
        key: first.secret!.items?.find((i) => i.path === TLS_KEYS.cert)?.key ?? TLS_KEYS.cert,
        how: 'mounted by',
      }
    : undefined;
}

/**
 * The serving certificate of a Service-registered webhook, from the Secret its Deployment serves from (kept itself, or mounted):
 * the API server's service proxy ends TLS itself, so no handshake from here reaches the pods.
 * The Deployment is the one named as the Service, else the only one in its namespace mounting a Secret.
 */
async function serviceServingCert(k8s: K8s, svc: ServiceRef): Promise<ServingCert> {
  const what = `service ${svc.namespace}/${svc.name}`;
  const deployments = await k8s.list<KObject & { spec?: { template?: { spec?: PodSpec } } }>(DEPLOYMENT, svc.namespace);
  const mounting = deployments
    .map((d) => ({ d, s: servingSecretOf(d.spec?.template?.spec ?? {}) }))
    .filter((x): x is { d: (typeof deployments)[number]; s: NonNullable<ReturnType<typeof servingSecretOf>> } => !!x.s);
  const found =
    mounting.find((x) => x.d.metadata.name === svc.name) ?? (mounting.length === 1 ? mounting[0] : undefined);
  if (!found) {
    throw new Error(
      mounting.length
        ? `Deployments ${mounting.map((x) => x.d.metadata.name).join(', ')} in namespace ${svc.namespace} mount Secrets, none is named ${svc.name}: which serves ${what} is not known`
        : `no Deployment in namespace ${svc.namespace} names or mounts a Secret to serve ${what} from`,
    );
  }
  const source = `Secret ${svc.namespace}/${found.s.secret} key ${found.s.key}, ${found.s.how} Deployment ${svc.namespace}/${found.d.metadata.name}`;
  const secret = await k8s.findSecret(svc.namespace, found.s.secret);
  if (!secret) throw new Error(`${source}: the Secret does not exist`);
  const pems = certPems(fromBase64(secret.data?.[found.s.key], source));
  if (pems.length === 0) throw new Error(`${source}: no PEM certificate under that key`);
  return { pems, source, host: `${svc.name}.${svc.namespace}.svc` };
}

/** The serving-certificate line of one webhook: expiry, chain to the caBundle, the host's name in it. */
export function evaluateServingCert(
  cluster: string,
  webhook: string,
  cert: ServingCert,
  caPems: string[],
  now: number,
): CheckLine {
  const d = CHECKS.webhookCert;
  const name = `${webhook} serving certificate`;
  const [leaf, ...rest] = cert.pems;
  if (!leaf) return line(d, cluster, name, 'fail', `no serving certificate (${cert.source})`);
  const x = new X509Certificate(leaf);
  const subject = `"${pki.parseCertificate(leaf).subjectText}"`;
  const left = daysLeft(x.validTo, now);
  const from = `(${cert.source})`;
  if (Date.parse(x.validTo) < now)
    return line(
      d,
      cluster,
      name,
      'fail',
      `the serving certificate ${subject} ${from} expired on ${new Date(x.validTo).toISOString()}: the API server refuses it`,
    );
  const chain = pki.verifyChain({ certPem: leaf, chainPems: rest, rootPems: caPems, at: new Date(now) });
  if (!chain.ok)
    return line(
      d,
      cluster,
      name,
      'fail',
      `the serving certificate ${subject} ${from} does not chain to the caBundle: ${chain.error}`,
      TLS_FIX,
    );
  const forHost = isIP(cert.host) ? x.checkIP(cert.host) : x.checkHost(cert.host);
  if (!forHost)
    return line(
      d,
      cluster,
      name,
      'fail',
      `the serving certificate ${subject} ${from} is not valid for ${cert.host}, the name the API server verifies`,
    );
  if (left < SERVING_MIN_DAYS)
    return line(
      d,
      cluster,
      name,
      'warn',
      `the serving certificate ${subject} ${from} expires in ${left} days (< ${SERVING_MIN_DAYS}), on ${new Date(x.validTo).toISOString()}`,
    );
  return line(
    d,
    cluster,
    name,
    'pass',
    `the serving certificate ${subject} ${from} chains to the caBundle and is valid for ${left} more days`,
  );
}

async function checkWebhooks(c: Cluster, k8s: K8s, now: number): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const W = CHECKS.webhookConfig;
  // One read per endpoint: the validating and mutating webhooks are usually the same server.
  const served = new Map<string, Promise<ServingCert>>();
  const servingCert = (w: WebhookEntry, cfg: KObject, kind: string): Promise<ServingCert> | undefined => {
    const url = w.clientConfig?.url;
    const svc = w.clientConfig?.service;
    const key = url ? new URL(url).host : svc ? `${svc.namespace}/${svc.name}` : undefined;
    if (!key) return undefined;
    // A Service-registered webhook's pods cannot be reached from here; the certificate it
    // published on its configuration needs no access to its Secret (schemas/src/annotations.ts).
    const published = certPems(cfg.metadata.annotations?.[SERVING_CERTIFICATE_ANNOTATION] ?? '');
    if (!served.has(key)) {
      served.set(
        key,
        url
          ? handshakeCerts(url).then((pems) => ({
              pems,
              source: `TLS handshake with ${new URL(url).host}`,
              host: new URL(url).hostname.replace(/^\[|\]$/g, ''),
            }))
          : published.length
            ? Promise.resolve({
                pems: published,
                source: `published by the webhook on ${kind}WebhookConfiguration ${cfg.metadata.name}`,
                host: `${svc!.name}.${svc!.namespace}.svc`,
              })
            : serviceServingCert(k8s, svc!),
      );
    }
    return served.get(key);
  };
  for (const kind of ['Validating', 'Mutating'] as const) {
    const configs = await k8s.listWebhookConfigurations(kind);
    const ours = configs.flatMap((cfg) =>
      ((cfg.webhooks as WebhookEntry[] | undefined) ?? [])
        .filter((w) => (w.rules ?? []).some((r) => (r.apiGroups ?? []).some((g) => GROUPS.has(g) || g === '*')))
        .map((w) => ({ cfg: cfg.metadata.name, config: cfg, w })),
    );
    const push = (name: string, result: Result, message: string, hint?: string) =>
      lines.push(line(W, c.name, name, result, message, hint));
    if (ours.length === 0) {
      push(
        `${kind}WebhookConfiguration`,
        'fail',
        `no ${kind}WebhookConfiguration routes the mesh-cert kinds to a webhook (kubectl apply -k manifests/)`,
      );
      continue;
    }
    for (const { cfg, config, w } of ours) {
      const name = `${kind}WebhookConfiguration ${cfg} / ${w.name}`;
      const svc = w.clientConfig?.service;
      const to = w.clientConfig?.url ?? (svc ? `service ${svc.namespace}/${svc.name}` : undefined);
      if (!to) {
        push(name, 'fail', 'names neither a url nor a service to call');
        continue;
      }
      let caCerts: string[];
      try {
        caCerts = certPems(fromBase64(w.clientConfig?.caBundle, 'clientConfig.caBundle'));
      } catch (err) {
        // The API server could not read it either: a failed line for this webhook, the others still checked.
        if (!(err instanceof PkiError)) throw err;
        push(name, 'fail', err.message, TLS_FIX);
        continue;
      }
      if (caCerts.length === 0) {
        push(name, 'fail', 'has no caBundle: the API server cannot verify the webhook', TLS_FIX);
        continue;
      }
      const caLeft = Math.min(...caCerts.map((p) => daysLeft(new X509Certificate(p).validTo, now)));
      if (caLeft < 0) push(name, 'fail', `routes the mesh-cert kinds to ${to}; its caBundle has expired`, TLS_FIX);
      else if (caLeft < MIN_DAYS)
        push(
          name,
          'warn',
          `routes the mesh-cert kinds to ${to}; its caBundle expires in ${caLeft} days (< ${MIN_DAYS})`,
          TLS_FIX,
        );
      else push(name, 'pass', `routes the mesh-cert kinds to ${to}; its caBundle is valid for ${caLeft} more days`);
      try {
        lines.push(evaluateServingCert(c.name, name, (await servingCert(w, config, kind))!, caCerts, now));
      } catch (err) {
        // Unread is not bad: the dry-run check still shows whether the API server accepts it.
        lines.push(
          line(
            CHECKS.webhookCert,
            c.name,
            `${name} serving certificate`,
            'warn',
            `the serving certificate of ${to} could not be read: ${errorMessage(err)}`,
            svc
              ? `let check read Deployments and Secrets in namespace ${svc.namespace}, or look yourself: kubectl -n ${svc.namespace} get secret SECRET -o jsonpath='{.data.tls\\.crt}' | base64 -d | openssl x509 -noout -enddate`
              : 'is the webhook running and reachable from here?',
          ),
        );
      }
    }
  }
  return lines;
}

/**
 * A write only the webhook refuses, as a dry run: a CertificateRequest whose CSR is base64 (the
 * CRD's `format: byte` admits it) but no PEM CSR (the webhook checks the PEM type, the CRD cannot).
 * No Gloo Mesh controller ever writes one, so the webhook must deny it (rule zero is not at stake).
 */
async function checkDryRun(c: Cluster, k8s: K8s, ns: string): Promise<CheckLine> {
  const name = 'dry-run write is denied by the webhook';
  const D = CHECKS.webhookDryRun;
  const CR = resourceOf('CertificateRequest');
  const body = {
    apiVersion: `${CR.group}/${CR.version}`,
    kind: CR.kind,
    metadata: { name: `${CHECK_PROBE_PREFIX}${Date.now().toString(36)}`, namespace: ns },
    spec: { certificateSigningRequest: textBase64('mesh-cert check: this is not a PEM certificate request') },
  };
  try {
    // Namespace admission runs before webhooks: a missing namespace would hide the webhook.
    const namespaces = await k8s.listNamespaces();
    if (!namespaces.includes(ns) && namespaces.length) {
      ns = namespaces[0];
      body.metadata.namespace = ns;
    }
    await k8s.create(CR, ns, body as never, { dryRun: true });
    return line(
      D,
      c.name,
      name,
      'fail',
      'a CertificateRequest whose spec.certificateSigningRequest is no PEM CSR was admitted: the webhook is not enforcing',
    );
  } catch (err) {
    const msg = errorMessage(err);
    if (err instanceof ApiError && /admission webhook/i.test(msg)) {
      return line(D, c.name, name, 'pass', 'the webhook denied a CertificateRequest whose CSR is no PEM (dry run)');
    }
    if (err instanceof ApiError && /failed calling webhook/i.test(msg)) {
      return line(D, c.name, name, 'fail', `the API server could not call the webhook: ${msg}`);
    }
    return line(D, c.name, name, 'fail', `the dry run failed without a webhook denial: ${msg}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Signing Secrets and cacerts.

function validityLines(
  d: CheckDef,
  cluster: string,
  what: string,
  pems: { role: string; pem: string }[],
  now: number,
): CheckLine[] {
  return pems.map(({ role, pem }) => {
    const c = pki.parseCertificate(pem);
    const left = daysLeft(c.notAfter.toISOString(), now);
    const name = `${what} ${role}`;
    if (left < 0)
      return line(d, cluster, name, 'fail', `${role} "${c.subjectText}" expired on ${c.notAfter.toISOString()}`);
    if (left < MIN_DAYS)
      return line(d, cluster, name, 'warn', `${role} "${c.subjectText}" expires in ${left} days (< ${MIN_DAYS})`);
    return line(d, cluster, name, 'pass', `${role} "${c.subjectText}" is valid for ${left} more days`);
  });
}

type Ic = IssuedCertificate & KObject;
type Rotation = KObject & {
  spec?: {
    virtualMesh?: { name?: string; namespace?: string };
    newRootCaSecret?: { name?: string; namespace?: string };
  };
  status?: { state?: string; rotationState?: string };
};

const refKey = (r: Ref) => `${r.namespace}/${r.name}`;
const icKey = (ic: Ic) => `${ic.metadata.namespace}/${ic.metadata.name}`;
const signingRefOf = (ic: Ic): Ref | undefined => {
  const s = ic.spec ? signingSecretRef(ic) : undefined;
  return s?.name ? { namespace: s.namespace || ic.metadata.namespace || 'default', name: s.name } : undefined;
};
const issuedRefOf = (ic: Ic): Ref => {
  const r = ic.spec?.issuedCertificateSecret ?? DEFAULT_ISSUED_SECRET;
  return { namespace: r.namespace || ic.metadata.namespace || DEFAULT_ISSUED_SECRET.namespace, name: r.name };
};

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

/** A cacerts-like Secret of a cluster: the --cacerts one, or one an IssuedCertificate writes. */
interface HeldSecret {
  cluster: string;
  ref: Ref;
  secret?: Secret;
  /** The IssuedCertificates of that cluster that write it. */
  writers: Ic[];
  trust?: SecretTrust;
}

/** Fail a Secret holding keys Istio 1.15+ loads before the *.pem ones; the fix names its writer. */
export function evaluateIstioKeys(h: HeldSecret): CheckLine | undefined {
  if (!h.secret) return undefined;
  const what = `Secret ${refKey(h.ref)}`;
  const keys = ISTIO_PREFERRED_KEYS.filter(
    (k) => h.secret!.data?.[k] !== undefined || h.secret!.stringData?.[k] !== undefined,
  );
  if (keys.length === 0)
    return line(
      CHECKS.istioKeys,
      h.cluster,
      `${what} keys`,
      'pass',
      `${what} holds none of ${ISTIO_PREFERRED_KEYS.join(', ')} (Istio reads its *.pem keys)`,
    );
  const mine = h.writers.filter((ic) => !glooMeshOwner('IssuedCertificate', ic));
  const owned = h.writers.filter((ic) => glooMeshOwner('IssuedCertificate', ic));
  const remove = `kubectl --context ${h.cluster} -n ${h.ref.namespace} patch secret ${h.ref.name} --type=json -p '[${keys.map((k) => `{"op":"remove","path":"/data/${k.replace('/', '~1')}"}`).join(',')}]'`;
  const hint = mine.length
    ? `kubectl mesh-cert issue ${mine[0]!.metadata.name} -n ${mine[0]!.metadata.namespace} --cluster ${h.cluster} rewrites it whole (the four Istio keys only)`
    : owned.length
      ? `Gloo Mesh's agent writes it (IssuedCertificate ${icKey(owned[0]!)}); remove the keys: ${remove}`
      : `kubectl mesh-cert issue NAME --cluster ${h.cluster} --issued-secret ${refKey(h.ref)} rewrites it whole (the four Istio keys only), or remove the keys: ${remove}`;
  return line(
    CHECKS.istioKeys,
    h.cluster,
    `${what} keys`,
    'fail',
    `${what} holds ${keys.join(', ')}, which Istio 1.15+ loads in preference to ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem: istiod ignores the intermediate mesh-cert issued`,
    hint,
  );
}

/**
 * The roots a signing Secret holds (any layout verifySigningSecret reads; its root-cert.pem or
 * ca.crt as a fallback). A value that is not base64 is a PkiError naming the Secret and the key.
 */
function signingRoots(s: Secret): string[] {
  const v = pki.verifySigningSecret(s.data ?? {});
  if (v.ok) return v.rootPems;
  const what = (key: string) => `Secret ${s.metadata.namespace ?? ''}/${s.metadata.name} ${key}`;
  return certPems(
    fromBase64(s.data?.[ISTIO_KEYS.rootCert], what(ISTIO_KEYS.rootCert)) ??
      fromBase64(s.data?.[TLS_KEYS.ca], what(TLS_KEYS.ca)),
  );
}

// ---------------------------------------------------------------------------------------------

export async function runChecks(set: ClusterSet, opts: CheckOptions, now = Date.now()): Promise<CheckLine[]> {
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
  const heldOf = (cluster: string, ref: Ref) =>
    held.find((h) => h.cluster === cluster && refKey(h.ref) === refKey(ref));

  // Each managed cluster's --cacerts: valid, and chaining to the current root of its issuer.
  for (const c of set.managed.filter((x) => reachable.has(x.name))) {
    const what = `Secret ${refKey(opts.cacerts)}`;
    const h = heldOf(c.name, opts.cacerts);
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

  // No key Istio would load in preference to what mesh-cert writes.
  for (const h of held) {
    const l = evaluateIstioKeys(h);
    if (l) lines.push(l);
  }

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
      const h = heldOf(cluster, issuedRefOf(ic));
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

  // Roots still trusted that no signing Secret in use holds (left by a rollback that could not finish, a failed rotation's new root).
  lines.push(
    ...(await staleRootLines(
      set,
      opts,
      icsByCluster,
      active,
      rotations.filter(({ rot }) => isActiveRotation(rot.status?.state)).map(({ rot }) => rot),
      held,
      mk8s ? mgmtSecret : undefined,
    )),
  );

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

  const clusterOrder = set.all.map((c) => c.name);
  return lines.sort(
    (a, b) =>
      CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category) ||
      clusterOrder.indexOf(a.cluster) - clusterOrder.indexOf(b.cluster),
  );
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

const SYMBOL: Record<Result, Mark> = { pass: 'ok', warn: 'warn', fail: 'fail' };

export function renderChecks(lines: CheckLine[]): string {
  const out: string[] = [];
  let cat = '';
  for (const l of lines) {
    if (l.category !== cat) {
      if (cat) out.push('');
      cat = l.category;
      out.push(cat, '-'.repeat(cat.length));
    }
    out.push(`${mark(SYMBOL[l.result], process.stdout)} [${l.cluster}] ${l.message}`);
    if (l.result !== 'pass' && l.hint) out.push(`    hint: ${l.hint}`);
  }
  const fails = lines.filter((l) => l.result === 'fail').length;
  const warns = lines.filter((l) => l.result === 'warn').length;
  out.push(
    '',
    fails
      ? `Status check results are ${mark('fail', process.stdout)} (${fails} failed, ${warns} warnings)`
      : `Status check results are ${mark(warns ? 'warn' : 'ok', process.stdout)}${warns ? ` (${warns} warnings)` : ''}`,
  );
  return `${out.join('\n')}\n`;
}
