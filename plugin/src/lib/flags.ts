// The flags every command shares, grouped so a command takes only the groups it needs. kubectl
// hands a plugin nothing but argv and the environment, so the kubectl flags are parsed here.
import { Flags } from '@oclif/core';
import { UserError } from './errors.js';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
/** -o: one of OUTPUT_FORMATS, or kubectl's jsonpath=TEMPLATE / custom-columns=SPEC. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number] | `jsonpath=${string}` | `custom-columns=${string}`;

/** Checks a value of -o (as oclif would check an option), allowing jsonpath= and custom-columns=. */
export function parseOutput(value: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  const m = /^(jsonpath|custom-columns)=/.exec(value);
  if (m) return value as OutputFormat;
  if (value === 'jsonpath' || value === 'custom-columns')
    throw new UserError(
      `-o ${value} needs a template: -o ${value}=${value === 'jsonpath' ? "'{.items[*].metadata.name}'" : 'NAME:.metadata.name'}`,
    );
  throw new UserError(
    `Expected --output=${value} to be one of: ${OUTPUT_FORMATS.join(', ')}, jsonpath=TEMPLATE, custom-columns=SPEC`,
  );
}

/** --verbose: every command has it (stack traces on errors, debug lines on stderr). */
export const baseFlags = {
  verbose: Flags.boolean({
    description: 'print stack traces on errors and extra detail on stderr',
    default: false,
    helpGroup: 'GLOBAL',
  }),
  'request-timeout': Flags.string({
    description:
      'give up on a single API call after this long (e.g. 10s, 1m; 0: no limit); default 30s, or --timeout when shorter',
    helpGroup: 'GLOBAL',
  }),
  // kubectl's -v=N: a plugin receives it in argv, so it is parsed here.
  v: Flags.integer({
    char: 'v',
    description:
      "log level as kubectl's -v=N: 6 and above logs every API request (method, URL, status, duration) on stderr",
    min: 0,
    max: 10,
    helpGroup: 'GLOBAL',
  }),
  as: Flags.string({
    description: 'username to impersonate for every API call (as kubectl --as)',
    helpGroup: 'GLOBAL',
  }),
  'as-group': Flags.string({
    description: 'group to impersonate, repeatable (as kubectl --as-group)',
    multiple: true,
    helpGroup: 'GLOBAL',
  }),
};

/**
 * --dry-run for every command that writes: server sends every write with dryRun=All (the CRD
 * rules and the admission webhook judge it, nothing is stored); client sends none and prints
 * what would be written. Commands that wait for controllers make one pass.
 */
export const dryRunFlags = {
  'dry-run': Flags.option({
    description:
      'client (send no write, print what would be written) or server (every write judged by the API server and its webhooks, nothing stored); one pass, no waiting',
    options: ['none', 'client', 'server'] as const,
    default: 'none' as const,
  })(),
};

/** Which kubeconfig, context and namespace. */
export const kubeFlags = {
  kubeconfig: Flags.string({
    description: 'path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)',
    helpGroup: 'KUBE',
  }),
  context: Flags.string({ description: 'kubeconfig context to use (default: the current context)', helpGroup: 'KUBE' }),
  namespace: Flags.string({
    char: 'n',
    description: "namespace (default: the context's namespace, else default)",
    helpGroup: 'KUBE',
  }),
};

export const listFlags = {
  'all-namespaces': Flags.boolean({
    char: 'A',
    description: 'list across all namespaces',
    default: false,
    helpGroup: 'KUBE',
  }),
  selector: Flags.string({
    char: 'l',
    description: 'label selector, e.g. -l app=istiod,tier!=canary',
    helpGroup: 'KUBE',
  }),
};

export const outputFlags = {
  output: Flags.custom<OutputFormat>({
    char: 'o',
    description: `output format: ${OUTPUT_FORMATS.join('|')}, jsonpath=TEMPLATE or custom-columns=SPEC (as kubectl's)`,
    default: 'table',
    helpGroup: 'OUTPUT',
    parse: async (v) => parseOutput(v),
  })(),
  'no-headers': Flags.boolean({ description: 'omit the header line of tables', default: false, helpGroup: 'OUTPUT' }),
};

/** Clusters are kubeconfig contexts: one management cluster and the managed ones. */
export const clusterFlags = {
  'mgmt-context': Flags.string({
    description: 'context of the management cluster (default: --context, else the current context)',
    helpGroup: 'CLUSTERS',
  }),
  'managed-clusters': Flags.string({
    description:
      'managed clusters, as context names: a,b (default: every context but the management one); --cluster, its old name, still works but is deprecated',
    helpGroup: 'CLUSTERS',
    exclusive: ['all-contexts'],
    aliases: ['cluster'],
  }),
  'all-contexts': Flags.boolean({
    description: 'every context of the kubeconfig is a managed cluster (the management one included)',
    default: false,
    helpGroup: 'CLUSTERS',
  }),
};

/**
 * --timeout here bounds the whole command: every API call ends by then (lib/deadline.ts), and a
 * command that ran out of it exits 124 (MeshCertCommand). A command's own --timeout flag (e.g.
 * rotate's, per step) bounds each single call instead.
 */
export const waitFlags = {
  wait: Flags.boolean({ description: 'wait until the operation completes', default: true, allowNo: true }),
  timeout: Flags.string({
    description: 'give up after this long (e.g. 90s, 5m, 1h), every API call included; exit code 124',
    default: '5m',
  }),
};

export interface KubeFlagValues {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  'all-namespaces'?: boolean;
  selector?: string;
}

export interface ClusterFlagValues extends KubeFlagValues {
  'mgmt-context'?: string;
  /** --managed-clusters a,b (alias: --cluster, deprecated). */
  'managed-clusters'?: string;
  /** @deprecated the old name of 'managed-clusters' (programmatic callers). */
  cluster?: string;
  'all-contexts'?: boolean;
}

/** The timeout flags' values, as MeshCertCommand reads them. */
export interface TimeoutFlagValues {
  timeout?: string;
  'request-timeout'?: string;
}

/** The flags of lib/request-mode.ts, as MeshCertCommand reads them. */
export interface RequestFlagValues {
  'dry-run'?: 'none' | 'client' | 'server';
  v?: number;
  as?: string;
  'as-group'?: string[];
}

/** "90", "90s", "5m", "1h30m", "250ms" -> milliseconds. */
export function parseDuration(text: string, flag = '--timeout'): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(t))) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    end = re.lastIndex;
  }
  if (end !== t.length || t.length === 0)
    throw new UserError(`${flag} expects a duration such as 30s, 5m or 1h, got "${text}"`);
  return Math.round(total);
}

/**
 * Flags renamed, old name -> new: the old one is an alias of the new, and using it prints a
 * warning (MeshCertCommand.parse). --cluster is kubectl's flag for a kubeconfig cluster entry,
 * which a managed-cluster list must not be mistaken for.
 */
export const DEPRECATED_FLAG_ALIASES: Record<string, string> = { cluster: 'managed-clusters' };

/** The deprecation warnings for the old flag names among argv (each once), for flags the command has. */
export function deprecatedAliasWarnings(argv: readonly string[], flags: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [old, now] of Object.entries(DEPRECATED_FLAG_ALIASES)) {
    if (!(now in flags) || old in flags) continue;
    const stop = argv.indexOf('--');
    const words = stop >= 0 ? argv.slice(0, stop) : argv;
    if (words.some((w) => w === `--${old}` || w.startsWith(`--${old}=`))) {
      out.push(
        `--${old} is deprecated and will be removed: use --${now} (kubectl's --${old} names a kubeconfig cluster entry, not managed clusters)`,
      );
    }
  }
  return out;
}

/** The comma list of --managed-clusters, trimmed, without empties or duplicates. */
export function splitList(text: string | undefined): string[] {
  if (!text) return [];
  return [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** Where the "current root" of an issued certificate is read: the management cluster. */
export const currentRootFlags = {
  'mgmt-context': Flags.string({
    description: 'context of the management cluster (default: the current context)',
    helpGroup: 'CLUSTERS',
  }),
  'root-secret': Flags.string({
    description:
      'the signing Secret (NAMESPACE/NAME) in the management cluster whose root is current (default: the one the IssuedCertificate names)',
  }),
};
