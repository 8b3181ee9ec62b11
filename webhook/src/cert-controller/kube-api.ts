// The certificate controller's handle on the API server: webhook/src/kube-api.ts's requests
// bound to one connection, with a timeout on every call and a User-Agent naming this replica
// (the API server's audit log shows which replica wrote).
import { connect, request, type ApiResponse, type Method } from '../kube-api.js';

export interface KubeApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  call<T = unknown>(method: Method, path: string, body?: unknown, contentType?: string): Promise<ApiResponse<T>>;
  close(): void;
}

const TIMEOUT_MS = 10_000;

export async function connectKubeApi(opts: { kubeconfig?: string; userAgent: string }): Promise<KubeApi> {
  const conn = await connect(opts.kubeconfig);
  return {
    server: conn.server,
    call: (method, path, body, contentType) =>
      request(conn, method, path, { body, contentType, userAgent: opts.userAgent, timeoutMs: TIMEOUT_MS }),
    close() {
      conn.agent.destroy();
    },
  };
}
