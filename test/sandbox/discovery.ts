// Discovery documents: /api, /apis, /api/v1, /apis/<group>[/<version>]. Plain (unaggregated)
// documents only: kubectl and client-go fall back to them when the aggregated form is not offered.
import { createHash } from 'node:crypto';
import type { ResourceType } from './resources.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
/** the apiextensions apiserver lists a custom resource's verbs in this order */
const CR_VERBS = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

const hash = (s: string): string => createHash('sha256').update(s).digest('base64').slice(0, 11);

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

interface GroupInfo {
  name: string;
  versions: string[];
}

function groups(types: ResourceType[]): GroupInfo[] {
  const m = new Map<string, Set<string>>();
  for (const t of types)
    if (t.group) {
      if (!m.has(t.group)) m.set(t.group, new Set());
      m.get(t.group)!.add(t.version);
    }
  return [...m.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, vs]) => ({ name, versions: sortVersions([...vs]) }));
}

/** kube's version priority: GA before beta before alpha, higher numbers first. */
function sortVersions(vs: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    return [m[2] === 'alpha' ? 2 : m[2] === 'beta' ? 1 : 0, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  return vs.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || a.localeCompare(b);
  });
}

function groupDoc(g: GroupInfo): object {
  const versions = g.versions.map((version) => ({ groupVersion: `${g.name}/${version}`, version }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

export function apiGroupList(types: ResourceType[]): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups(types).map(groupDoc) };
}

export function apiGroup(types: ResourceType[], group: string): object | undefined {
  const g = groups(types).find((x) => x.name === group);
  return g && { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g) };
}

export function apiResourceList(types: ResourceType[], group: string, version: string): object | undefined {
  const ts = types.filter((t) => t.group === group && t.version === version);
  if (!ts.length) return undefined;
  const resources = ts.flatMap((t) => {
    const main = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.review
        ? ['create']
        : t.crd
          ? CR_VERBS
          : t.group === '' && t.plural === 'namespaces'
            ? VERBS.filter((v) => v !== 'deletecollection')
            : VERBS,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
      storageVersionHash: hash(`${t.group}/${t.version}/${t.kind}`),
    };
    const status = t.statusSubresource
      ? [
          {
            name: `${t.plural}/status`,
            singularName: '',
            namespaced: t.namespaced,
            kind: t.kind,
            verbs: ['get', 'patch', 'update'],
          },
        ]
      : [];
    return [main, ...status];
  });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-mesh-cert-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};
