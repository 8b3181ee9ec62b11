// A webhook's serving certificate for `check`: read by a TLS handshake (a URL-registered webhook),
// else from what the webhook published on its configuration or the Secret its Deployment serves
// from (a Service-registered one); then evaluated against the caBundle (evaluateServingCert).
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { connect as tlsConnect, type DetailedPeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as pki from '#schemas/x509/index.js';
import type { K8s, KObject, ResourceType } from '../lib/k8s.js';
import { certPems, daysLeft, fromBase64 } from '../lib/certs.js';
import { TLS_KEYS } from '#schemas/x509/secret-keys.js';
import { CHECKS, line, SERVING_MIN_DAYS, TLS_FIX, type CheckLine } from './check-table.js';

export interface ServiceRef {
  name: string;
  namespace: string;
  port?: number;
  path?: string;
}

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
export function handshakeCerts(url: string, timeoutMs = 5000): Promise<string[]> {
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

/** The value of `--name=VALUE` or `--name VALUE` in a container's argv (the first), if given. */
function flagValue(argv: readonly string[], name: string): string | undefined {
  const at = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return undefined;
  return argv[at] === name ? argv[at + 1] : argv[at]!.slice(name.length + 1);
}

/**
 * The Secret key a Deployment serves TLS from: the Secret volume mounted where its
 * --tls-cert-file points (mesh-cert-webhook's flag), else the first Secret volume, key tls.crt.
 */
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
export async function serviceServingCert(k8s: K8s, svc: ServiceRef): Promise<ServingCert> {
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
