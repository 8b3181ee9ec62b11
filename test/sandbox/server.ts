// The HTTP face of one cluster: bearer-token authentication, fault injection, discovery and
// OpenAPI stubs, and the REST routes of kube-apiserver mapped onto ClusterApi.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { ClusterApi, Result, WriteOptions } from './apiserver.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from './discovery.js';
import { ApiError, badRequest, methodNotAllowed, notAcceptable, notFoundPath, unauthorized, unsupportedMediaType } from './errors.js';
import type { FaultInjector } from './faults.js';
import { gvKey, storeKey } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { KObject } from './store.js';
import { toTable, wantsTable, type IncludeObject } from './tables.js';
import { serveWatch } from './watch.js';
import { decodeKubeProtobuf } from './protobuf.js';

export interface RequestRecord { method: string; path: string; contentType?: string; accept?: string; status: number }

export interface ServerDeps {
  api: ClusterApi;
  token: string;
  faults: FaultInjector;
  address: () => string;
  watches: Set<() => void>;
  bookmarkIntervalMs: number;
  requests: RequestRecord[];
}

const PUBLIC = new Set(['/healthz', '/livez', '/readyz', '/version']);
const MAX_BODY = 3 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(buf: Buffer, contentType: string): unknown {
  if (!buf.length) return undefined;
  if (contentType.startsWith('application/vnd.kubernetes.protobuf')) return decodeKubeProtobuf(buf);
  if (/protobuf|cbor/.test(contentType)) throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
  const text = buf.toString('utf8');
  try {
    if (/yaml/.test(contentType)) return parseYaml(text);
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the server rejected our request due to an error in our request: couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

function warningHeader(w: string): string { return `299 - "${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`; }

function send(res: ServerResponse, code: number, body: unknown, warnings: string[] = [], headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache, private');
  if (warnings.length) res.setHeader('Warning', warnings.map(warningHeader));
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(text);
}

interface Route { group: string; version: string; rest: string[]; legacyWatch: boolean }

function parseResourcePath(segs: string[]): Route | undefined {
  let route: Route | undefined;
  if (segs[0] === 'api' && segs.length >= 3) route = { group: '', version: segs[1], rest: segs.slice(2), legacyWatch: false };
  if (segs[0] === 'apis' && segs.length >= 4) route = { group: segs[1], version: segs[2], rest: segs.slice(3), legacyWatch: false };
  if (route && route.rest[0] === 'watch') { route.rest = route.rest.slice(1); route.legacyWatch = true; }
  return route;
}

export function createHandler(d: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const record: RequestRecord = { method: req.method ?? 'GET', path: req.url ?? '/', contentType: req.headers['content-type'], accept: req.headers.accept, status: 0 };
    d.requests.push(record);
    if (d.requests.length > 500) d.requests.shift();
    res.on('finish', () => { record.status = res.statusCode; });
    handle(d, req, res).catch((e: unknown) => {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
      if (res.headersSent) { res.end(); return; }
      send(res, err.code, err.toStatus(), (e as { warnings?: string[] }).warnings ?? [], err.headers);
    });
  };
}

async function handle(d: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://sandbox');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  const q = url.searchParams;
  const accept = req.headers.accept;

  if (PUBLIC.has(path)) {
    if (path === '/version') return send(res, 200, VERSION_INFO);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8'); res.end('ok'); return;
  }
  const auth = Buffer.from(req.headers.authorization ?? '');
  const want = Buffer.from(`Bearer ${d.token}`);
  if (auth.length !== want.length || !timingSafeEqual(auth, want)) throw unauthorized();

  const fault = await d.faults.apply(method, `${path}${url.search}`);
  if (fault) throw fault;

  const types = d.api.resources();
  const segs = path.split('/').filter(Boolean);

  // discovery and OpenAPI
  if (method === 'GET') {
    if (path === '/api') return send(res, 200, apiVersions(d.address()));
    if (path === '/apis') return send(res, 200, apiGroupList(types));
    if (path === '/openapi/v2') {
      // an empty document: kubectl then validates client-side against nothing and computes
      // strategic merge patches from its compiled-in types, as with a server without OpenAPI
      if (accept?.includes('protobuf')) { res.setHeader('Content-Type', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'); res.end(); return; }
      return send(res, 200, { swagger: '2.0', info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion }, paths: {}, definitions: {} });
    }
    if ((segs[0] === 'api' && segs.length === 2) || (segs[0] === 'apis' && segs.length === 3)) {
      const group = segs[0] === 'api' ? '' : segs[1];
      const doc = apiResourceList(types, group, segs[segs.length - 1]);
      if (!doc) throw notFoundPath();
      return send(res, 200, doc);
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      const doc = apiGroup(types, segs[1]);
      if (!doc) throw notFoundPath();
      return send(res, 200, doc);
    }
  }

  const route = parseResourcePath(segs);
  if (!route) throw notFoundPath();
  let ns: string | undefined;
  let rest = route.rest;
  const maybeNs = rest[0] === 'namespaces' && rest.length >= 3 ? d.api.lookup(route.group, route.version, rest[2]) : undefined;
  if (maybeNs?.namespaced) { ns = rest[1]; rest = rest.slice(2); }
  const [plural, name, sub, ...extra] = rest;
  const r = d.api.lookup(route.group, route.version, plural);
  if (!r || extra.length) throw notFoundPath();
  if (sub && !(sub === 'status' && r.statusSubresource)) throw notFoundPath();
  if (r.namespaced && !ns && name) throw notFoundPath();
  if (r.review && (method !== 'POST' || name)) throw methodNotAllowed();
  if (accept && !/application\/json|\*\/\*|application\/yaml/.test(accept)) throw notAcceptable();

  const dryRun = q.getAll('dryRun').includes('All');
  if (q.getAll('dryRun').some((v) => v !== 'All')) throw badRequest(`Invalid dryRun value: ${q.getAll('dryRun').join(',')}`);
  const wo: WriteOptions = { dryRun, fieldManager: q.get('fieldManager') ?? undefined, subResource: sub ?? '', fieldValidation: q.get('fieldValidation') ?? undefined };
  const table = wantsTable(accept);
  const include = (q.get('includeObject') ?? 'Metadata') as IncludeObject;
  const respond = (out: Result): void => send(res, out.code, table && out.code < 300 && (out.body as KObject).metadata ? toTable(r, [out.body as KObject], { resourceVersion: (out.body as KObject).metadata.resourceVersion }, include, table) : out.body, out.warnings);

  const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? parseBody(await readBody(req), req.headers['content-type'] ?? 'application/json') : undefined;

  if (!name) {
    const watching = route.legacyWatch || q.get('watch') === 'true' || q.get('watch') === '1';
    if (method === 'GET' && watching) {
      const labels = parseLabelSelector(q.get('labelSelector'));
      const fields = parseFieldSelector(q.get('fieldSelector'));
      serveWatch(res, {
        store: d.api.store, key: storeKey(r), namespace: ns, match: (o) => labels(o.metadata.labels) && fields(o),
        resourceVersion: q.get('resourceVersion'), bookmarks: q.get('allowWatchBookmarks') === 'true',
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
        bookmarkIntervalMs: d.bookmarkIntervalMs, timeoutMs: Number(q.get('timeoutSeconds') ?? 1800) * 1000,
        encode: (o) => (table ? toTable(r, [d.api.present(r, o)], { resourceVersion: o.metadata.resourceVersion }, include, table) : d.api.present(r, o)),
        bookmarkObject: (rv) => ({ kind: r.kind, apiVersion: gvKey(r.group, r.version), metadata: { resourceVersion: rv } }),
      }, d.watches);
      return;
    }
    if (method === 'GET') {
      const l = d.api.list(r, ns, q);
      const meta = { resourceVersion: l.resourceVersion, ...(l.continue ? { continue: l.continue, remainingItemCount: l.remainingItemCount } : {}) };
      if (table) return send(res, 200, toTable(r, l.items, meta, include, table));
      return send(res, 200, { apiVersion: gvKey(r.group, r.version), kind: r.listKind, metadata: meta, items: l.items });
    }
    if (method === 'POST') {
      if (r.namespaced && !ns) throw notFoundPath();
      return respond(await d.api.create(r, ns, body, wo));
    }
    if (method === 'DELETE') return respond(await d.api.deleteCollection(r, ns, q, wo));
    throw methodNotAllowed();
  }

  switch (method) {
    case 'GET': {
      if (q.get('watch') === 'true' || q.get('watch') === '1' || route.legacyWatch) throw badRequest('watch on a single object: use a list with fieldSelector=metadata.name=NAME');
      const o = d.api.get(r, ns, name);
      if (table) return send(res, 200, toTable(r, [o], { resourceVersion: o.metadata.resourceVersion }, include, table));
      return send(res, 200, o);
    }
    case 'PUT': return respond(await d.api.update(r, ns, name, body, wo));
    case 'PATCH': return respond(await d.api.patch(r, ns, name, body, req.headers['content-type'] ?? '', wo));
    case 'DELETE': return respond(await d.api.delete(r, ns, name, body, wo));
    default: throw methodNotAllowed();
  }
}

