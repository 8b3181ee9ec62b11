// The few API calls the certificate controller makes (get, create, update, JSON patch of named
// objects), over node:https with the credentials of a kubeconfig or of the pod's service
// account. client-node loads those (certificates, token files that rotate) and is imported only
// here and only in a cluster; the requests are our own, so every call is bounded by a timeout
// and carries a User-Agent naming this replica (the API server's audit log shows who wrote).
import { Agent, request, type RequestOptions } from 'node:https';
import { ClusterConfigError } from '../rotation-cache.js';

export interface ApiResponse<T> {
  status: number;
  /** The object, or the API server's Status on an error. */
  body: T;
}

export interface KubeApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown, contentType?: string): Promise<ApiResponse<T>>;
  close(): void;
}

/** What a failed call returns: the API server's Status. */
export interface ApiStatus {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

export class ApiCallError extends Error {
  override name = 'ApiCallError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Throws ApiCallError for a status outside 2xx, naming the call and the API server's message. */
export function ok<T>(what: string, r: ApiResponse<T | ApiStatus>): T {
  if (r.status >= 200 && r.status < 300) return r.body as T;
  const s = r.body as ApiStatus;
  throw new ApiCallError(r.status, `${what}: ${r.status}${s?.reason ? ` ${s.reason}` : ''}: ${(s?.message ?? '').slice(0, 300)}`);
}

const TIMEOUT_MS = 10_000;

export async function connectKubeApi(opts: { kubeconfig?: string; userAgent: string }): Promise<KubeApi> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  let server: string;
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromCluster();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('no current context with a cluster');
    server = cluster.server.replace(/\/+$/, '');
  } catch (err) {
    const where = opts.kubeconfig ? `--kubeconfig ${opts.kubeconfig}` : 'in-cluster configuration';
    throw new ClusterConfigError(`${where}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const base = new URL(server);
  return {
    server,
    async call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse<T>> {
      // Applied per call: a service account token file is re-read as the kubelet rotates it.
      const o: RequestOptions = { headers: {} };
      await kc.applyToHTTPSOptions(o);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = { ...(o.headers as Record<string, string>), accept: 'application/json', 'user-agent': opts.userAgent };
      if (payload) Object.assign(headers, { 'content-type': contentType, 'content-length': payload.length });
      return new Promise((resolve, reject) => {
        const req = request(
          {
            ...o,
            agent,
            protocol: base.protocol,
            hostname: base.hostname.replace(/^\[|\]$/g, ''),
            port: base.port || 443,
            path: `${base.pathname.replace(/\/+$/, '')}${path}`,
            method,
            headers,
            timeout: TIMEOUT_MS,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown;
              try {
                parsed = text ? JSON.parse(text) : undefined;
              } catch {
                parsed = { message: text.slice(0, 300) };
              }
              resolve({ status: res.statusCode ?? 0, body: parsed as T });
            });
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer from ${server} within ${TIMEOUT_MS} ms`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
