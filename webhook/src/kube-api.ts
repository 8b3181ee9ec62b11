// The webhook's one way to the Kubernetes API: where the cluster is (the pod's service account,
// or a kubeconfig file given by flag), plain requests (a method, a JSON body, a status and a
// parsed answer) and streamed GETs (a watch), over node:https. The CertificateRotation cache, the
// expiry exporter (both through informer.ts) and the certificate controller all use it. It
// replaces @kubernetes/client-node, which cost the webhook 35 to 50 MiB of resident memory
// (bench/webhook-memory.ts) for what is here a few hundred lines.
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { dirname, isAbsolute, resolve } from 'node:path';

export class ClusterConfigError extends Error {
  override name = 'ClusterConfigError';
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const SA_TOKEN = `${SA_DIR}/token`;
const SA_CA = `${SA_DIR}/ca.crt`;

/** Whether a cluster is reachable at all: a kubeconfig flag, or the pod's service account. */
export function clusterConfigured(kubeconfig?: string): boolean {
  return !!kubeconfig || (!!process.env.KUBERNETES_SERVICE_HOST && existsSync(SA_TOKEN));
}

export interface ClusterConnection {
  /** The API server's base URL. */
  server: string;
  /** Where the connection came from, for logs. */
  source: string;
  /** Headers for the next request: a projected service-account token rotates, so it is re-read. */
  headers(): Record<string, string>;
  agent: HttpAgent;
}

/**
 * Status of a failed request, as the API server sends it. The message is kept whole up to this
 * many characters: a 403's names the user, the verb and the resource it lacks.
 */
export const MAX_STATUS_MESSAGE_CHARS = 2048;

export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  constructor(
    /** HTTP status, or the Status code of a watch ERROR event; 0 when no answer came. */
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type Raw = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function tokenHeaders(read: () => string | undefined): () => Record<string, string> {
  return (): Record<string, string> => {
    const token = read()?.trim();
    return token ? { authorization: `Bearer ${token}` } : {};
  };
}

/** The pod's service account: token, CA and the API server's in-cluster address. */
export function inClusterConnection(): ClusterConnection {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new ClusterConfigError('in-cluster configuration: KUBERNETES_SERVICE_HOST is not set');
  let ca: Buffer;
  try {
    ca = readFileSync(SA_CA);
    readFileSync(SA_TOKEN);
  } catch (err) {
    throw new ClusterConfigError(`in-cluster configuration: ${(err as Error).message}`);
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    source: 'in-cluster service account',
    headers: tokenHeaders(() => readFileSync(SA_TOKEN, 'utf8')),
    agent: new HttpsAgent({ keepAlive: true, ca }),
  };
}

/**
 * The current context of a kubeconfig file: client certificates, a bearer token (or token file),
 * or basic auth. Exec and auth-provider plugins are refused with a clear error: a webhook in a pod
 * uses its service account, and the flag is for running it beside a cluster.
 */
export async function kubeconfigConnection(file: string): Promise<ClusterConnection> {
  const where = `--kubeconfig ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ClusterConfigError(`${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  // yaml is loaded only here: a pod never reads a kubeconfig.
  // Loaded only when a kubeconfig is given (in a pod, the service account needs no YAML). yaml is
  // CommonJS: bundled with splitting, its dynamic import yields only `default`; unbundled (tsx,
  // vitest), the named exports too.
  type Yaml = typeof import('yaml');
  const mod = (await import('yaml')) as Yaml | { default: Yaml };
  const { parse } = 'parse' in mod ? mod : mod.default;
  let doc: Raw;
  try {
    doc = (parse(text) as Raw | null) ?? {};
  } catch (err) {
    throw new ClusterConfigError(`${where}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const named = (key: string, name: string): Raw | undefined => {
    const list = doc[key];
    const entry = Array.isArray(list) ? (list as Raw[]).find((e) => e?.name === name) : undefined;
    return entry ? ((entry[key.slice(0, -1)] as Raw | undefined) ?? {}) : undefined;
  };
  const current = str(doc['current-context']);
  if (!current) throw new ClusterConfigError(`${where}: no current-context`);
  const context = named('contexts', current);
  if (!context) throw new ClusterConfigError(`${where}: current-context "${current}" is not among its contexts`);
  const clusterName = str(context.cluster) ?? '';
  const cluster = named('clusters', clusterName);
  if (!cluster)
    throw new ClusterConfigError(
      `${where}: context "${current}" names cluster "${clusterName}", which is not among its clusters`,
    );
  const server = str(cluster.server);
  if (!server || !/^https?:\/\//.test(server))
    throw new ClusterConfigError(
      `${where}: cluster "${clusterName}": server must be an http(s) URL, got ${JSON.stringify(cluster.server ?? null)}`,
    );
  const user = named('users', str(context.user) ?? '') ?? {};
  for (const plugin of ['exec', 'auth-provider']) {
    if (user[plugin])
      throw new ClusterConfigError(
        `${where}: user "${String(context.user)}" authenticates with ${plugin}, which the webhook does not run: use a client certificate or a token`,
      );
  }
  const base = dirname(resolve(file));
  // `<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig)
  const material = (section: Raw, key: string): Buffer | undefined => {
    const data = str(section[`${key}-data`]);
    if (data) return Buffer.from(data, 'base64');
    const path = str(section[key]);
    if (!path) return undefined;
    try {
      return readFileSync(isAbsolute(path) ? path : resolve(base, path));
    } catch (err) {
      throw new ClusterConfigError(`${where}: ${key}: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  const tls = {
    ca: material(cluster, 'certificate-authority'),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    cert: material(user, 'client-certificate'),
    key: material(user, 'client-key'),
  };
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  const basic = str(user.username)
    ? `Basic ${Buffer.from(`${String(user.username)}:${String(user.password ?? '')}`).toString('base64')}`
    : undefined;
  const headers =
    token || tokenFile
      ? tokenHeaders(
          () => token ?? readFileSync(isAbsolute(tokenFile!) ? tokenFile! : resolve(base, tokenFile!), 'utf8'),
        )
      : (): Record<string, string> => (basic ? { authorization: basic } : {});
  return {
    server: server.replace(/\/+$/, ''),
    source: `kubeconfig ${file}`,
    headers,
    agent: server.startsWith('https:')
      ? new HttpsAgent({ keepAlive: true, ...tls })
      : new HttpAgent({ keepAlive: true }),
  };
}

/** The cluster the flags name: a kubeconfig file's current context, else the pod's service account. */
export function connect(kubeconfig?: string): Promise<ClusterConnection> {
  return kubeconfig ? kubeconfigConnection(kubeconfig) : Promise.resolve().then(inClusterConnection);
}

/** Status.message of an error body, else its first characters; bounded either way. */
export function statusMessage(code: number, body: string): string {
  let status: unknown;
  try {
    status = JSON.parse(body);
  } catch {
    // not a Status: an HTML page from a proxy, say
  }
  const s = (status && typeof status === 'object' ? status : {}) as Raw;
  return describeStatus(code, { ...s, message: str(s.message) ?? body.trim() });
}

/** `<code> <reason>: <message>` of a Status the API server sent, its message bounded. */
export function describeStatus(code: number, status: unknown): string {
  const s = (status && typeof status === 'object' ? status : {}) as Raw;
  const reason = str(s.reason);
  const text = str(s.message) ?? 'no body';
  const clipped =
    text.length > MAX_STATUS_MESSAGE_CHARS
      ? `${text.slice(0, MAX_STATUS_MESSAGE_CHARS)}... (${text.length - MAX_STATUS_MESSAGE_CHARS} more characters)`
      : text;
  return `${code}${reason ? ` ${reason}` : ''}: ${clipped}`;
}

/** Error bodies read at most this far: enough for any Status. */
const MAX_ERROR_BODY = 64 * 1024;

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SendOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Default application/json; a JSON patch is application/json-patch+json. */
  contentType?: string;
  /** Names the caller in the API server's audit log. */
  userAgent?: string;
  /** No bytes for this long ends the request in an error. */
  timeoutMs: number;
}

/**
 * One request: a 2xx answer goes to `onSuccess` as it streams; any other is read (bounded) and
 * handed to `onFailure` with its text. A request with no answer within `timeoutMs` of silence
 * rejects with an ApiRequestError of code 0; `abort()` ends it quietly.
 */
function send(
  conn: ClusterConnection,
  method: Method,
  path: string,
  opts: SendOptions,
  onSuccess: (res: IncomingMessage) => Promise<void>,
  onFailure: (code: number, text: string) => void,
): Stream {
  // appended, not resolved: a server URL may carry a path (a proxy in front of the API server)
  const url = new URL(`${conn.server}${path}`);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  // re-read per request: a projected service-account token rotates
  const headers: Record<string, string | number> = { accept: 'application/json', ...conn.headers() };
  if (opts.userAgent) headers['user-agent'] = opts.userAgent;
  if (payload)
    Object.assign(headers, {
      'content-type': opts.contentType ?? 'application/json',
      'content-length': payload.length,
    });
  const transport = url.protocol === 'https:' ? httpsRequest : httpRequest;
  let req: ReturnType<typeof httpRequest> | undefined;
  let aborted = false;
  const done = new Promise<void>((resolvePromise, reject) => {
    req = transport(url, { method, agent: conn.agent, headers }, (res) => {
      const code = res.statusCode ?? 0;
      if (code >= 200 && code < 300) {
        onSuccess(res).then(resolvePromise, reject);
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (text.length < MAX_ERROR_BODY) text += d;
      });
      res.on('end', () => {
        try {
          onFailure(code, text);
          resolvePromise();
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs, () =>
      req!.destroy(
        new ApiRequestError(
          0,
          `${method} ${url.pathname}: no answer from ${conn.server} for ${Math.round(opts.timeoutMs / 1000)} s`,
        ),
      ),
    );
    req.on('error', (err) =>
      aborted ? resolvePromise() : reject(err instanceof ApiRequestError ? err : new ApiRequestError(0, err.message)),
    );
    req.end(payload);
  });
  return {
    done,
    abort() {
      aborted = true;
      req?.destroy();
    },
  };
}

export interface Stream {
  /** Resolves when the answer ends (or the request is aborted); rejects on a failed request. */
  done: Promise<void>;
  abort(): void;
}

/**
 * GET `path`: a 2xx answer is handed to `onResponse` as it streams (a watch); anything else
 * rejects with the API server's Status message. `idleMs`: no bytes for that long ends the request
 * in an error (a frozen API server leaves a watch open and silent).
 */
export function get(
  conn: ClusterConnection,
  path: string,
  onResponse: (res: IncomingMessage) => Promise<void>,
  idleMs: number,
): Stream {
  return send(conn, 'GET', path, { timeoutMs: idleMs }, onResponse, (code, text) => {
    throw new ApiRequestError(code, statusMessage(code, text));
  });
}

export interface ApiResponse<T = unknown> {
  status: number;
  /** The parsed answer; on an error, the API server's Status (or `{ message }` of a body that is none). */
  body: T;
}

/** What a failed call answers: the API server's Status. */
export interface ApiStatus {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/**
 * A whole request: resolves with the status and the parsed answer, whatever the status (the
 * caller decides what a 404 or a 409 means); rejects only when no answer came or a 2xx answer
 * is not JSON.
 */
export async function request<T = unknown>(
  conn: ClusterConnection,
  method: Method,
  path: string,
  opts: SendOptions,
): Promise<ApiResponse<T>> {
  let answer: ApiResponse<T> | undefined;
  const s = send(
    conn,
    method,
    path,
    opts,
    async (res) => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        answer = { status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T };
      } catch (err) {
        throw new ApiRequestError(0, `${method} ${path}: the answer is not JSON: ${(err as Error).message}`);
      }
    },
    (code, text) => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text.trim() };
      }
      answer = { status: code, body: body as T };
    },
  );
  await s.done;
  if (!answer) throw new ApiRequestError(0, `${method} ${path}: aborted`);
  return answer;
}

/** The object of a 2xx answer; any other status throws an ApiRequestError naming `what` and the Status. */
export function ok<T>(what: string, r: ApiResponse<T | ApiStatus>): T {
  if (r.status >= 200 && r.status < 300) return r.body as T;
  throw new ApiRequestError(r.status, `${what}: ${describeStatus(r.status, r.body)}`);
}
