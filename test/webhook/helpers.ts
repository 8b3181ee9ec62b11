// Shared by the webhook tests: real certificates from openssl (through webhook/gen-certs.sh where
// it is the serving certificate), real HTTPS requests, and AdmissionReview builders.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KINDS, type KindName } from '#schemas/src/index.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const GEN_CERTS = join(REPO, 'webhook/gen-certs.sh');

export function tmp(prefix = 'mesh-cert-webhook-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ServingCert {
  dir: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  caPem: string;
}

/** A CA and a serving certificate for 127.0.0.1, made by the script users run. */
export function genServingCert(dir = tmp(), extra: string[] = []): ServingCert {
  execFileSync(GEN_CERTS, ['--out', dir, '--san', 'IP:127.0.0.1', '--san', 'DNS:localhost', ...extra], {
    stdio: 'pipe',
  });
  return {
    dir,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    caFile: join(dir, 'ca.crt'),
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
  };
}

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

/** A client CA and a client certificate it signed (for --client-ca-file); RSA unless `ec`. */
export function genClientCert(
  dir = tmp(),
  ec = false,
): {
  caFile: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  otherCertPem: string;
  otherKeyPem: string;
} {
  const p = (f: string): string => join(dir, f);
  const newkey = ec ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  openssl([
    'req',
    '-x509',
    ...newkey,
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=apiserver-client-ca',
    '-keyout',
    p('cca.key'),
    '-out',
    p('cca.crt'),
  ]);
  openssl([
    'req',
    '-new',
    ...newkey,
    '-nodes',
    '-subj',
    '/CN=kube-apiserver',
    '-keyout',
    p('client.key'),
    '-out',
    p('client.csr'),
  ]);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl([
    'x509',
    '-req',
    '-in',
    p('client.csr'),
    '-CA',
    p('cca.crt'),
    '-CAkey',
    p('cca.key'),
    '-set_serial',
    '7',
    '-days',
    '2',
    '-extfile',
    p('client.ext'),
    '-out',
    p('client.crt'),
  ]);
  // signed by nobody the server trusts
  openssl([
    'req',
    '-x509',
    ...newkey,
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=intruder',
    '-keyout',
    p('other.key'),
    '-out',
    p('other.crt'),
  ]);
  return {
    caFile: p('cca.crt'),
    certFile: p('client.crt'),
    keyFile: p('client.key'),
    certPem: readFileSync(p('client.crt'), 'utf8'),
    keyPem: readFileSync(p('client.key'), 'utf8'),
    otherCertPem: readFileSync(p('other.crt'), 'utf8'),
    otherKeyPem: readFileSync(p('other.key'), 'utf8'),
  };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export interface Pki {
  rootPem: string;
  csrPem: string;
  /** An intermediate CA signed by root for the CSR's key. */
  signedPem: string;
  /** Signed by root, but for a different key than the CSR's. */
  wrongKeyPem: string;
  /** The CSR's key, signed by a root that is not `rootPem`. */
  otherRootSignedPem: string;
  otherRootPem: string;
  b64: typeof b64;
}

/** The material of a FINISHED CertificateRequest, made with the openssl CLI. */
export function genPki(dir = tmp()): Pki {
  const p = (f: string): string => join(dir, f);
  writeFileSync(
    p('ca.ext'),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectAltName=DNS:istiod.istio-system.svc\n',
  );
  for (const root of ['root', 'other']) {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '30',
      '-subj',
      `/O=gloo-mesh/CN=${root}-ca`,
      '-keyout',
      p(`${root}.key`),
      '-out',
      p(`${root}.crt`),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  }
  openssl([
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/O=gloo-mesh/OU=cluster-1',
    '-keyout',
    p('int.key'),
    '-out',
    p('int.csr'),
  ]);
  openssl([
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/O=gloo-mesh/OU=intruder',
    '-keyout',
    p('wrong.key'),
    '-out',
    p('wrong.csr'),
  ]);
  const sign = (csr: string, ca: string, out: string, serial: string): void => {
    openssl([
      'x509',
      '-req',
      '-in',
      p(csr),
      '-CA',
      p(`${ca}.crt`),
      '-CAkey',
      p(`${ca}.key`),
      '-set_serial',
      serial,
      '-days',
      '20',
      '-extfile',
      p('ca.ext'),
      '-out',
      p(out),
    ]);
  };
  sign('int.csr', 'root', 'int.crt', '11');
  sign('wrong.csr', 'root', 'wrong.crt', '12');
  sign('int.csr', 'other', 'int-other.crt', '13');
  const r = (f: string): string => readFileSync(p(f), 'utf8');
  return {
    rootPem: r('root.crt'),
    csrPem: r('int.csr'),
    signedPem: r('int.crt'),
    wrongKeyPem: r('wrong.crt'),
    otherRootSignedPem: r('int-other.crt'),
    otherRootPem: r('other.crt'),
    b64,
  };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;

  json: any;
}

export interface PostOptions {
  ca?: string;
  agent?: Agent;
  headers?: Record<string, string>;
  cert?: string;
  key?: string;
  method?: string;
}

export function post(
  url: string,
  path: string,
  body: string | Buffer | undefined,
  opts: PostOptions = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', ...opts.headers };
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const req = request(
      u,
      {
        method: opts.method ?? 'POST',
        headers,
        ca: opts.ca,
        agent: opts.agent,
        cert: opts.cert,
        key: opts.key,
        servername: u.hostname === '127.0.0.1' ? undefined : u.hostname,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function kindOf(kind: KindName): { group: string; version: string; plural: string } {
  const k = KINDS.find((i) => i.kind === kind);
  if (!k) throw new Error(`no kind ${kind}`);
  return k;
}

export type Op = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** An AdmissionReview as kube-apiserver sends it. */
export function review(
  kind: KindName,
  operation: Op,
  object: unknown,
  oldObject?: unknown,
  extra: { subResource?: string; dryRun?: boolean; uid?: string; name?: string; namespace?: string } = {},
): { apiVersion: string; kind: string; request: Record<string, unknown> } {
  const k = kindOf(kind);
  const meta =
    ((object ?? oldObject) as { metadata?: { name?: string; namespace?: string } } | undefined)?.metadata ?? {};
  const request: Record<string, unknown> = {
    uid: extra.uid ?? randomUUID(),
    kind: { group: k.group, version: k.version, kind },
    resource: { group: k.group, version: k.version, resource: k.plural },
    requestKind: { group: k.group, version: k.version, kind },
    requestResource: { group: k.group, version: k.version, resource: k.plural },
    name: extra.name ?? meta.name,
    namespace: extra.namespace ?? meta.namespace,
    operation,
    userInfo: {
      username: 'system:serviceaccount:gloo-mesh:cert-agent',
      uid: randomUUID(),
      groups: ['system:serviceaccounts', 'system:authenticated'],
    },
    object: object ?? null,
    oldObject: oldObject ?? null,
    dryRun: extra.dryRun ?? false,
    options:
      operation === 'CREATE'
        ? { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' }
        : operation === 'UPDATE'
          ? { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' }
          : { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions' },
  };
  if (extra.subResource) {
    request.subResource = extra.subResource;
    request.requestSubResource = extra.subResource;
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

export function meta(name: string, generation = 1, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    namespace: 'istio-system',
    uid: '3f1c6a2e-6d5b-4c8e-9a57-0e2f4b9d1c77',
    resourceVersion: '48211',
    generation,
    creationTimestamp: '2026-11-23T10:00:00Z',
    ...extra,
  };
}

export const clone = <T>(v: T): T => structuredClone(v);

/** Decodes a JSONPatch response. */
export function patchOf(response: { patch?: string; patchType?: string }): unknown[] | undefined {
  if (response.patch === undefined) return undefined;
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as unknown[];
}

/** Applies a JSONPatch the way the apiserver does (evanphx/json-patch inside kubectl). */
export function kubectlApplyPatch(obj: unknown, patch: unknown[]): unknown {
  const dir = tmp('mesh-cert-patch-');
  const file = join(dir, 'obj.json');
  writeFileSync(file, JSON.stringify(obj));
  const out = execFileSync(
    '/usr/bin/kubectl',
    ['patch', '--local', '-f', file, '--type=json', '-p', JSON.stringify(patch), '-o', 'json'],
    { stdio: 'pipe' },
  );
  return JSON.parse(out.toString()) as unknown;
}

export interface Harness {
  server: import('../../webhook/src/server.js').WebhookServer;
  cert: ServingCert;
  agent: Agent;
  /** POSTs a review and checks the envelope every answer must have; returns `response`. */
  send(path: '/mutate' | '/validate', body: { request: Record<string, unknown> }): Promise<Record<string, any>>;
  raw(path: string, body: string | Buffer | undefined, headers?: Record<string, string>): Promise<HttpResult>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: Partial<import('../../webhook/src/server.js').WebhookServerOptions> = {},
): Promise<Harness> {
  const { buildWebhookServer } = await import('../../webhook/src/server.js');
  const cert = genServingCert();
  const server = await buildWebhookServer({
    port: 0,
    healthPort: 0,
    tlsCertFile: cert.certFile,
    tlsKeyFile: cert.keyFile,
    logLevel: 'silent',
    rotationCache: null,
    ...opts,
  });
  const agent = new Agent({ keepAlive: true, ca: cert.caPem, maxSockets: 8 });
  const raw = (
    path: string,
    body: string | Buffer | undefined,
    headers?: Record<string, string>,
  ): Promise<HttpResult> => post(server.url, path, body, { agent, headers });
  return {
    server,
    cert,
    agent,
    raw,
    async send(path, body) {
      const res = await raw(path, JSON.stringify(body));
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
      if (res.json?.apiVersion !== 'admission.k8s.io/v1' || res.json?.kind !== 'AdmissionReview')
        throw new Error(`not an AdmissionReview: ${res.text}`);
      if (res.json.response?.uid !== body.request.uid) throw new Error(`uid not echoed: ${res.text}`);
      return res.json.response as Record<string, any>;
    },
    async close() {
      agent.destroy();
      await server.close();
    },
  };
}
