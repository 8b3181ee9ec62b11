// The HTTP face of one cluster: bearer-token authentication, fault injection, discovery and
// OpenAPI stubs, and the REST routes of kube-apiserver mapped onto ClusterApi.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { ClusterApi, DeleteOptions, Result, WriteOptions } from './apiserver.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from './discovery.js';
import {
  ApiError,
  badRequest,
  methodNotAllowed,
  notAcceptable,
  notFoundPath,
  notServed,
  unauthorized,
} from './errors.js';
import type { FaultInjector } from './faults.js';
import { gvKey, storeKey } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { KObject } from './store.js';
import { toTable, wantsTable, type IncludeObject } from './tables.js';
import { serveWatch } from './watch.js';
import { decodeKubeProtobuf } from './protobuf.js';

export interface RequestRecord {
  method: string;
  path: string;
  contentType?: string;
  accept?: string;
  status: number;
}

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
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(buf: Buffer, contentType: string): unknown {
  if (!buf.length) return undefined;
  if (contentType.startsWith('application/vnd.kubernetes.protobuf')) return decodeKubeProtobuf(buf);
  if (/protobuf|cbor/.test(contentType))
    throw notServed(`request bodies in ${contentType.split(';')[0]} (send JSON or YAML)`);
  const text = buf.toString('utf8');
  try {
    if (/yaml/.test(contentType)) return parseYaml(text);
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(
      `the server rejected our request due to an error in our request: couldn't get version/kind; json parse error: ${(e as Error).message}`,
    );
  }
}

/** kube-apiserver's answer for paths no API group serves: plain text, not a Status. */
class PlainNotFound extends Error {}

function warningHeader(w: string): string {
  return `299 - "${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  warnings: string[] = [],
  headers: Record<string, string> = {},
): void {
  // kube-apiserver ends every JSON body with a newline
  const text = `${JSON.stringify(body)}\n`;
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache, private');
  if (warnings.length) res.setHeader('Warning', warnings.map(warningHeader));
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(text);
}

interface Route {
  group: string;
  version: string;
  rest: string[];
  legacyWatch: boolean;
}

function parseResourcePath(segs: string[]): Route | undefined {
  let route: Route | undefined;
  if (segs[0] === 'api' && segs.length >= 3)
    route = { group: '', version: segs[1], rest: segs.slice(2), legacyWatch: false };
  if (segs[0] === 'apis' && segs.length >= 4)
    route = { group: segs[1], version: segs[2], rest: segs.slice(3), legacyWatch: false };
  if (route && route.rest[0] === 'watch') {
    route.rest = route.rest.slice(1);
    route.legacyWatch = true;
  }
  return route;
}

export function createHandler(d: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      status: 0,
    };
    d.requests.push(record);
    if (d.requests.length > 500) d.requests.shift();
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    handle(d, req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (e instanceof PlainNotFound) {
        res.statusCode = 404;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.end('404 page not found\n');
        return;
      }
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
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
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('ok');
    return;
  }
  const auth = Buffer.from(req.headers.authorization ?? '');
  const want = Buffer.from(`Bearer ${d.token}`);
  if (auth.length !== want.length || !timingSafeEqual(auth, want)) throw unauthorized();

  const fault = await d.faults.apply(method, `${path}${url.search}`);
  if (fault) throw fault;

  // every token is cluster-admin: acting as another user would need RBAC, which is not served
  const as = req.headers['impersonate-user'] ?? req.headers['impersonate-group'] ?? req.headers['impersonate-uid'];
  if (as !== undefined) {
    throw notServed(
      `impersonation (Impersonate-User: ${String(req.headers['impersonate-user'] ?? '')}): there is no RBAC, every sandbox token is cluster-admin`,
    );
  }

  const types = d.api.resources();
  const segs = path.split('/').filter(Boolean);

  // discovery and OpenAPI
  if (method === 'GET') {
    if (path === '/api') return send(res, 200, apiVersions(d.address()));
    if (path === '/apis') return send(res, 200, apiGroupList(types));
    if (path === '/openapi/v2') {
      // an empty document: kubectl then validates client-side against nothing and computes
      // strategic merge patches from its compiled-in types, as with a server without OpenAPI
      if (accept?.includes('protobuf')) {
        res.setHeader('Content-Type', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
        res.end();
        return;
      }
      return send(res, 200, {
        swagger: '2.0',
        info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion },
        paths: {},
        definitions: {},
      });
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
  // paths under no served group (or no API prefix at all) are plain 404s; a served group with an unknown version is a Status
  const groupServed = (g: string): boolean => g === '' || types.some((t) => t.group === g);
  if (!route) {
    if ((segs[0] === 'api' && segs.length <= 2) || (segs[0] === 'apis' && segs.length >= 2 && groupServed(segs[1])))
      throw notFoundPath();
    throw new PlainNotFound();
  }
  if (!groupServed(route.group)) throw new PlainNotFound();
  let ns: string | undefined;
  let rest = route.rest;
  const maybeNs =
    rest[0] === 'namespaces' && rest.length >= 3 ? d.api.lookup(route.group, route.version, rest[2]) : undefined;
  if (maybeNs?.namespaced) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  const r = d.api.lookup(route.group, route.version, plural);
  if (!r) throw notFoundPath();
  if (r.namespaced && !ns && name) throw new PlainNotFound();
  if (extra.length) throw notFoundPath();
  if (sub && !(sub === 'status' && r.statusSubresource)) {
    // a custom resource's unknown subresource reads as the object not found; a built-in's as no such resource
    if (r.crd && !d.api.store.get(storeKey(r), ns, name))
      throw new ApiError(404, 'NotFound', `${r.plural}.${r.group} "${name}" not found`, {
        name,
        group: r.group,
        kind: r.plural,
      });
    throw notFoundPath();
  }
  if (r.review && (method !== 'POST' || name)) throw methodNotAllowed();
  if (accept && !/application\/json|\*\/\*|application\/yaml/.test(accept)) throw notAcceptable();

  const force = q.get('force');
  const wo: WriteOptions = {
    dryRun: q.getAll('dryRun'),
    fieldManager: q.get('fieldManager') ?? undefined,
    subResource: sub ?? '',
    fieldValidation: q.get('fieldValidation') ?? undefined,
    defaultManager: managerFromUserAgent(req.headers['user-agent']),
    force: force === null ? undefined : force === 'true' || force === '1',
  };
  const table = wantsTable(accept);
  const include = (q.get('includeObject') ?? 'Metadata') as IncludeObject;
  const respond = (out: Result): void =>
    send(
      res,
      out.code,
      table && out.code < 300 && (out.body as KObject).metadata && (out.body as KObject).kind !== 'Status'
        ? toTable(
            r,
            [out.body as KObject],
            { resourceVersion: (out.body as KObject).metadata.resourceVersion },
            include,
            table,
          )
        : out.body,
      out.warnings,
    );

  const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
    ? parseBody(await readBody(req), req.headers['content-type'] ?? 'application/json')
    : undefined;
  if (method === 'DELETE') {
    wo.deleteOptions = deleteOptionsOf(body, q);
    wo.dryRun = wo.deleteOptions.dryRun ?? [];
  }

  if (!name) {
    const watching = route.legacyWatch || q.get('watch') === 'true' || q.get('watch') === '1';
    if (method === 'GET' && watching) {
      const labels = parseLabelSelector(q.get('labelSelector'));
      const fields = parseFieldSelector(q.get('fieldSelector'), r);
      serveWatch(
        res,
        {
          store: d.api.store,
          key: storeKey(r),
          namespace: ns,
          match: (o) => labels(o.metadata.labels) && fields(o),
          resourceVersion: q.get('resourceVersion'),
          bookmarks: q.get('allowWatchBookmarks') === 'true',
          sendInitialEvents: q.get('sendInitialEvents') === 'true',
          bookmarkIntervalMs: d.bookmarkIntervalMs,
          timeoutMs: Number(q.get('timeoutSeconds') ?? 1800) * 1000,
          encode: (o) =>
            table
              ? toTable(r, [d.api.present(r, o)], { resourceVersion: o.metadata.resourceVersion }, include, table)
              : d.api.present(r, o),
          bookmarkObject: (rv) => ({
            kind: r.kind,
            apiVersion: gvKey(r.group, r.version),
            metadata: { resourceVersion: rv },
          }),
        },
        d.watches,
      );
      return;
    }
    if (method === 'GET') {
      const l = d.api.list(r, ns, q);
      const meta = {
        resourceVersion: l.resourceVersion,
        ...(l.continue ? { continue: l.continue, remainingItemCount: l.remainingItemCount } : {}),
      };
      if (table) return send(res, 200, toTable(r, l.items, meta, include, table));
      // the items of a built-in kind's list carry no apiVersion/kind (a custom resource's do)
      const items = r.crd ? l.items : l.items.map(({ apiVersion: _a, kind: _k, ...o }) => o);
      return send(res, 200, { apiVersion: gvKey(r.group, r.version), kind: r.listKind, metadata: meta, items });
    }
    if (method === 'POST') {
      if (r.namespaced && !ns) throw notFoundPath();
      return respond(await d.api.create(r, ns, body, wo));
    }
    if (method === 'DELETE') {
      if (r.group === '' && r.plural === 'namespaces') throw methodNotAllowed();
      const out = await d.api.deleteCollection(r, ns, q, wo);
      if (!r.crd)
        (out.body as { items: KObject[] }).items = (out.body as { items: KObject[] }).items.map(
          ({ apiVersion: _a, kind: _k, ...o }) => o as KObject,
        );
      return respond(out);
    }
    throw methodNotAllowed();
  }

  switch (method) {
    case 'GET': {
      // a named GET ignores ?watch (kube-apiserver answers the object); the legacy /watch/ path is not served for one object
      if (route.legacyWatch)
        throw notServed(
          'the legacy /watch/ path for a single object: use a list with fieldSelector=metadata.name=NAME',
        );
      const o = d.api.get(r, ns, name);
      if (table)
        return send(res, 200, toTable(r, [o], { resourceVersion: o.metadata.resourceVersion }, include, table));
      return send(res, 200, o);
    }
    case 'PUT':
      return respond(await d.api.update(r, ns, name, body, wo));
    case 'PATCH':
      return respond(await d.api.patch(r, ns, name, body, req.headers['content-type'] ?? '', wo));
    case 'DELETE':
      return respond(await d.api.delete(r, ns, name, wo));
    default:
      throw methodNotAllowed();
  }
}

/** The field manager kube-apiserver derives from a User-Agent: its program name ("kubectl", "node-fetch"). */
function managerFromUserAgent(ua: string | undefined): string {
  return (ua ?? 'unknown').split('/')[0].slice(0, 128) || 'unknown';
}

/**
 * DeleteOptions as kube-apiserver reads them: from the body when there is one (kubectl sends them
 * there), from the query otherwise; never both.
 */
function deleteOptionsOf(body: unknown, q: URLSearchParams): DeleteOptions {
  if (body !== undefined) return deleteOptionsFromBody(body);
  const d: DeleteOptions = {};
  if (q.getAll('dryRun').length) d.dryRun = q.getAll('dryRun');
  if (q.get('propagationPolicy')) d.propagationPolicy = q.get('propagationPolicy')!;
  if (q.get('gracePeriodSeconds')) d.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
  if (q.get('orphanDependents')) d.orphanDependents = q.get('orphanDependents') === 'true';
  return d;
}

function deleteOptionsFromBody(body: unknown): DeleteOptions {
  const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  if (b.kind !== undefined && b.kind !== 'DeleteOptions')
    throw badRequest(`the body of the request was not a DeleteOptions: kind ${String(b.kind)}`);
  const d: DeleteOptions = {};
  if (Array.isArray(b.dryRun)) d.dryRun = b.dryRun.map(String);
  if (typeof b.propagationPolicy === 'string') d.propagationPolicy = b.propagationPolicy;
  if (typeof b.gracePeriodSeconds === 'number') d.gracePeriodSeconds = b.gracePeriodSeconds;
  if (typeof b.orphanDependents === 'boolean') d.orphanDependents = b.orphanDependents;
  if (b.preconditions && typeof b.preconditions === 'object')
    d.preconditions = b.preconditions as DeleteOptions['preconditions'];
  return d;
}
