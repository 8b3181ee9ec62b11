// The only parts of @kubernetes/client-node the CLI uses. Importing them by name (and this module
// lazily) lets esbuild drop the rest of the generated client from the chunk.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { createSecureContext } from 'node:tls';

export {
  KubeConfig,
  CustomObjectsApi,
  CoreV1Api,
  VersionApi,
  setHeaderOptions,
  PatchStrategy,
  Observable,
} from '@kubernetes/client-node';

/**
 * A cluster's pool opens at most this many connections at first: a burst of calls (status lists
 * every kind at once) costs two TLS handshakes, not one per call; a handshake costs the CLI about
 * a millisecond of CPU, and status across 100 clusters is bound by CPU.
 */
export const INITIAL_SOCKETS_PER_CLUSTER = 2;
/** The pool grows by one connection each time requests have been waiting for one this long, */
export const GROW_AFTER_MS = 25;
/** up to this many (a busy cluster, as the management cluster in a rotation of many). */
export const MAX_SOCKETS_PER_CLUSTER = 16;
/** A pooled connection idle this long is closed (the API server may close it sooner: Node follows its Keep-Alive hint). */
export const IDLE_SOCKET_MS = 30_000;

/** What client-node puts on the agent it makes per request, and what a connection is made with. */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
type TlsMaterial = Pick<AgentOptions, (typeof TLS_OPTIONS)[number]>;

const sameValue = (a: unknown, b: unknown) => a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));

/**
 * One cluster's keep-alive connections. client-node makes a new agent for every request
 * (KubeConfig.applySecurityAuthentication puts it on the RequestContext), so every request opened
 * a new TLS connection with a new secure context. The K8s request middleware swaps that agent for
 * this pool's, made once from the same TLS material (CA, client certificate and key, skip-verify,
 * server name) with one secure context, and made again only if the material changes (an exec
 * credential plugin's new client certificate). The Authorization header is still client-node's,
 * per request (tokens expire). Agents of a proxy (proxy-url) are left as client-node makes them.
 *
 * HTTP/1.1 carries one request at a time per connection, and each connection costs a TLS
 * handshake: the pool opens INITIAL_SOCKETS_PER_CLUSTER for a burst of calls, and one more
 * (up to MAX_SOCKETS_PER_CLUSTER) each time calls have been waiting GROW_AFTER_MS for one.
 *
 * Free sockets do not hold a process open (Node's agent unrefs them); close() ends them at once.
 * An aborted request's socket is destroyed, never handed back to the pool.
 */
export class ConnectionPool {
  private agent?: HttpAgent;
  private material?: TlsMaterial;
  /** Since when requests have been seen waiting for a connection (undefined: none waiting). */
  private waitingSince?: number;

  /** The agent for a request client-node gave `perRequest`: the pooled one, or perRequest itself. */
  agentFor<A extends HttpAgent | undefined>(perRequest: A): A | HttpAgent {
    if (!perRequest) return perRequest;
    const https = perRequest.constructor === HttpsAgent;
    // A proxy's agent (a subclass) or anything else: client-node's own, as before.
    if (!https && perRequest.constructor !== HttpAgent) return perRequest;
    const opts = (perRequest as HttpsAgent).options ?? {};
    const material: TlsMaterial = {};
    for (const k of TLS_OPTIONS)
      if (opts[k] !== undefined && opts[k] !== null) (material as Record<string, unknown>)[k] = opts[k];
    const current = this.agent;
    if (current && current instanceof HttpsAgent === https && this.material && sameMaterial(this.material, material)) {
      this.arriving(current);
      return current;
    }
    if (current) retire(current);
    this.agent = https ? newHttpsAgent(material) : new HttpAgent(poolOptions());
    this.material = material;
    this.waitingSince = undefined;
    return this.agent;
  }

  /** A request is about to be handed to the agent: note whether it (or another) waits for a connection. */
  private arriving(agent: HttpAgent): void {
    const free = count(agent.freeSockets);
    const waits = count(agent.requests) > 0 || (free === 0 && count(agent.sockets) >= agent.maxSockets);
    if (!waits) this.waitingSince = undefined;
    else this.waitingSince ??= performance.now();
  }

  /**
   * A response arrived. Requests that have been waiting for a connection for GROW_AFTER_MS allow
   * one more (up to MAX_SOCKETS_PER_CLUSTER), which the next request opens. Decided here, after
   * I/O, not as requests are sent: a burst of calls sent at once waits for the connections it has.
   */
  responded(): void {
    const agent = this.agent;
    if (!agent || this.waitingSince === undefined) return;
    if (count(agent.requests) === 0) {
      this.waitingSince = undefined;
      return;
    }
    const now = performance.now();
    if (now - this.waitingSince >= GROW_AFTER_MS && agent.maxSockets < MAX_SOCKETS_PER_CLUSTER) {
      agent.maxSockets++;
      this.waitingSince = now;
    }
  }

  /** How many connections the pool may open now (it grows under load). */
  get maxSockets(): number {
    return this.agent?.maxSockets ?? INITIAL_SOCKETS_PER_CLUSTER;
  }

  /** Closes every pooled connection now (those in use too). A later request opens a new one. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.material = undefined;
  }
}

/** An agent replaced by another: its requests in flight finish, then their sockets close. */
function retire(agent: HttpAgent): void {
  (agent as { keepAlive?: boolean }).keepAlive = false;
  for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
}

const count = (lists: NodeJS.ReadOnlyDict<readonly unknown[]>) => {
  let n = 0;
  for (const l of Object.values(lists)) n += l?.length ?? 0;
  return n;
};

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return TLS_OPTIONS.every((k) => sameValue(a[k], b[k]));
}

function poolOptions() {
  return {
    keepAlive: true,
    maxSockets: INITIAL_SOCKETS_PER_CLUSTER,
    maxFreeSockets: MAX_SOCKETS_PER_CLUSTER,
    timeout: IDLE_SOCKET_MS,
    scheduling: 'lifo' as const,
  };
}

type SecureContext = ReturnType<typeof createSecureContext>;

/**
 * Secure contexts by their material, shared by every cluster that has the same (clusters of one
 * provider often share a CA, and contexts of one kubeconfig user share the client certificate).
 * Making one costs 0.4-1.2 ms of CPU (Node copies its whole root store into a context given a
 * CA), and `status` across many clusters is bound by CPU. A process lives for one command, so
 * the map only grows to the number of distinct materials in the kubeconfig's contexts in use.
 */
const secureContexts = new Map<string, SecureContext | null>();

function materialKey(m: TlsMaterial): string {
  const part = (v: unknown): string =>
    v === undefined || v === null
      ? ''
      : Buffer.isBuffer(v)
        ? v.toString('base64')
        : Array.isArray(v)
          ? v.map(part).join(',')
          : String(v);
  return [m.ca, m.cert, m.key, m.pfx, m.passphrase].map(part).join('\0');
}

function secureContextOf(material: TlsMaterial): SecureContext | undefined {
  const key = materialKey(material);
  let ctx = secureContexts.get(key);
  if (ctx === undefined) {
    try {
      // Parsed once, not on every connection. Material that does not parse is left to the
      // connection, which fails with the same error it always did.
      ctx = createSecureContext({
        ca: material.ca,
        cert: material.cert,
        key: material.key,
        pfx: material.pfx,
        passphrase: material.passphrase,
      });
    } catch {
      ctx = null;
    }
    secureContexts.set(key, ctx);
  }
  return ctx ?? undefined;
}

function newHttpsAgent(material: TlsMaterial): HttpsAgent {
  const secureContext = secureContextOf(material);
  return new HttpsAgent({ ...poolOptions(), ...material, ...(secureContext ? { secureContext } : {}) });
}
