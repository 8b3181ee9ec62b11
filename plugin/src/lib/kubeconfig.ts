// Kubeconfig loading as kubectl does it: --kubeconfig, else the KUBECONFIG path list, else
// ~/.kube/config. With several files the first file that defines a cluster, user or context
// name wins, and the first non-empty current-context wins. Relative file references are resolved
// against the file that holds them. One client-node KubeConfig per context, built on demand.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { UserError } from './errors.js';
import { loadYaml } from './lazy.js';

type Raw = Record<string, unknown>;
interface Named {
  name: string;
  value: Raw;
}

export interface ContextInfo {
  name: string;
  cluster: string;
  user: string;
  namespace?: string;
}

export interface MergedKubeconfig {
  files: string[];
  currentContext: string | undefined;
  contexts: Map<string, ContextInfo>;
  clusters: Map<string, Raw>;
  users: Map<string, Raw>;
}

/** The files kubectl would read, in precedence order. */
export function kubeconfigPaths(flag?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (flag) return [flag];
  const list = env.KUBECONFIG;
  if (list) return list.split(delimiter).filter(Boolean);
  return [resolve(homedir(), '.kube', 'config')];
}

const FILE_KEYS: Record<string, string[]> = {
  cluster: ['certificate-authority'],
  user: ['client-certificate', 'client-key', 'tokenFile'],
};

function absolutize(section: Raw, keys: string[], base: string): Raw {
  const out: Raw = { ...section };
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'string' && v && !isAbsolute(v)) out[k] = resolve(base, v);
  }
  return out;
}

function namedList(doc: Raw, key: string, inner: string, file: string): Named[] {
  const list = doc[key];
  if (list == null) return [];
  if (!Array.isArray(list)) throw new UserError(`kubeconfig ${file}: "${key}" must be a list`);
  return list.map((item, i) => {
    const it = item as Raw;
    if (!it || typeof it.name !== 'string') throw new UserError(`kubeconfig ${file}: ${key}[${i}].name is missing`);
    return { name: it.name, value: (it[inner] as Raw) ?? {} };
  });
}

export async function loadKubeconfig(flag?: string): Promise<MergedKubeconfig> {
  const paths = kubeconfigPaths(flag);
  const { parse } = await loadYaml();
  const merged: MergedKubeconfig = {
    files: [],
    currentContext: undefined,
    contexts: new Map(),
    clusters: new Map(),
    users: new Map(),
  };
  for (const p of paths) {
    const file = resolve(p);
    if (!existsSync(file)) {
      // kubectl ignores missing files in KUBECONFIG, but an explicit --kubeconfig must exist.
      if (flag) throw new UserError(`--kubeconfig ${p}: no such file`);
      continue;
    }
    let doc: Raw;
    try {
      doc = (parse(readFileSync(file, 'utf8')) as Raw) ?? {};
    } catch (err) {
      throw new UserError(`kubeconfig ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    merged.files.push(file);
    const base = dirname(file);
    for (const c of namedList(doc, 'clusters', 'cluster', file)) {
      if (!merged.clusters.has(c.name)) merged.clusters.set(c.name, absolutize(c.value, FILE_KEYS.cluster, base));
    }
    for (const u of namedList(doc, 'users', 'user', file)) {
      if (!merged.users.has(u.name)) merged.users.set(u.name, absolutize(u.value, FILE_KEYS.user, base));
    }
    for (const c of namedList(doc, 'contexts', 'context', file)) {
      if (merged.contexts.has(c.name)) continue;
      const ns = typeof c.value.namespace === 'string' && c.value.namespace ? c.value.namespace : undefined;
      merged.contexts.set(c.name, {
        name: c.name,
        cluster: String(c.value.cluster ?? ''),
        user: String(c.value.user ?? ''),
        namespace: ns,
      });
    }
    const cur = doc['current-context'];
    if (!merged.currentContext && typeof cur === 'string' && cur) merged.currentContext = cur;
  }
  if (merged.files.length === 0) {
    throw new UserError(
      `no kubeconfig found (looked at ${paths.join(delimiter)}): pass --kubeconfig or set KUBECONFIG`,
    );
  }
  return merged;
}

export function contextNames(kc: MergedKubeconfig): string[] {
  return [...kc.contexts.keys()];
}

/** The context to use: the given one (which must exist), else current-context. */
export function pickContext(kc: MergedKubeconfig, name: string | undefined, flag = '--context'): ContextInfo {
  const want = name ?? kc.currentContext;
  if (!want) throw new UserError(`no current context in the kubeconfig: pass ${flag}`);
  const ctx = kc.contexts.get(want);
  if (!ctx) {
    const known = contextNames(kc);
    throw new UserError(
      `${name ? flag : 'current-context'} "${want}" is not a context of the kubeconfig (known: ${known.join(', ') || 'none'})`,
    );
  }
  return ctx;
}

export function namespaceOf(kc: MergedKubeconfig, context: string): string {
  return kc.contexts.get(context)?.namespace ?? 'default';
}

/** A standalone kubeconfig document holding exactly one context. */
export function singleContextDoc(kc: MergedKubeconfig, context: string): Raw {
  const ctx = pickContext(kc, context);
  const cluster = kc.clusters.get(ctx.cluster);
  if (!cluster)
    throw new UserError(`context "${context}" names cluster "${ctx.cluster}", which the kubeconfig does not define`);
  const user = kc.users.get(ctx.user) ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': ctx.name,
    clusters: [{ name: ctx.cluster, cluster }],
    users: [{ name: ctx.user || 'user', user }],
    contexts: [
      {
        name: ctx.name,
        context: {
          cluster: ctx.cluster,
          user: ctx.user || 'user',
          ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
        },
      },
    ],
  };
}

/** One client-node KubeConfig for one context (loads client-node on first use). */
export async function kubeConfigFor(kc: MergedKubeconfig, context: string): Promise<KubeConfig> {
  const doc = singleContextDoc(kc, context);
  const { KubeConfig } = await import('./client-node.js');
  const out = new KubeConfig();
  // JSON is YAML: client-node parses it and handles every auth form (certs, tokens, exec).
  out.loadFromString(JSON.stringify(doc));
  return out;
}

export function serverOf(kc: MergedKubeconfig, context: string): string {
  const ctx = kc.contexts.get(context);
  const cluster = ctx ? kc.clusters.get(ctx.cluster) : undefined;
  return typeof cluster?.server === 'string' ? cluster.server : '';
}
