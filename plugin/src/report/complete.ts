// Answers kubectl's plugin completion protocol (cobra's): given the words typed after
// `kubectl mesh-cert`, the last being the one under the cursor, print candidates one per line
// ("value\tdescription") and then ":<directive>".
import type { Command } from '@oclif/core';

export const Directive = {
  Default: 0,
  Error: 1,
  NoSpace: 2,
  NoFileComp: 4,
  FilterFileExt: 8,
  FilterDirs: 16,
  KeepOrder: 32,
} as const;

export interface Candidate {
  value: string;
  description?: string;
}
export interface Completion {
  candidates: Candidate[];
  directive: number;
}

export interface CommandInfo {
  id: string;
  summary?: string;
  hidden?: boolean;
  flags: Record<string, Command.Flag.Any>;
  args: Record<string, unknown>;
}

/** What the words around the cursor need; the API lookups are supplied by the caller. */
export interface Lookups {
  contexts(): Promise<string[]>;
  namespaces(ctx: ParsedWords): Promise<string[]>;
  objects(
    ctx: ParsedWords,
    kind: 'VirtualMeshCertificateSigningRequest' | 'CertificateRequest' | 'Secret',
    allNamespaces: boolean,
  ): Promise<{ namespace: string; name: string }[]>;
}

export interface ParsedWords {
  flags: Map<string, string>;
  positionals: string[];
}

const VALUE_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'];

function flagTakesValue(f: Command.Flag.Any | undefined): boolean {
  return Boolean(f && f.type === 'option');
}

function findFlag(cmd: CommandInfo | undefined, word: string): [string, Command.Flag.Any] | undefined {
  if (!cmd) return undefined;
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0];
    const f = cmd.flags[name];
    if (f) return [name, f];
    // a deprecated alias (--cluster for --managed-clusters) completes as the flag it names
    const e = Object.entries(cmd.flags).find(([, d]) => ((d as { aliases?: string[] }).aliases ?? []).includes(name));
    return e ? [e[0], e[1]] : undefined;
  }
  if (word.startsWith('-') && word.length >= 2) {
    const ch = word[1];
    const e = Object.entries(cmd.flags).find(([, f]) => f.char === ch);
    return e ? [e[0], e[1]] : undefined;
  }
  return undefined;
}

function matchCommand(commands: CommandInfo[], words: string[]): { cmd?: CommandInfo; consumed: number } {
  let best: { cmd?: CommandInfo; consumed: number } = { consumed: 0 };
  const plain: string[] = [];
  for (const w of words) {
    if (w.startsWith('-')) break;
    plain.push(w);
    const id = plain.join(':');
    const cmd = commands.find((c) => c.id === id);
    if (cmd) best = { cmd, consumed: plain.length };
  }
  return best;
}

function prefixed(cands: Candidate[], prefix: string): Candidate[] {
  return cands.filter((c) => c.value.startsWith(prefix));
}

export async function complete(commands: CommandInfo[], words: string[], lookups: Lookups): Promise<Completion> {
  const visible = commands.filter((c) => !c.hidden);
  const toComplete = words.length ? words[words.length - 1] : '';
  const before = words.slice(0, -1);
  const { cmd, consumed } = matchCommand(visible, before);

  // Parse the words after the command: flags with values, and positionals.
  const parsed: ParsedWords = { flags: new Map(), positionals: [] };
  let pendingFlag: [string, Command.Flag.Any] | undefined;
  for (const w of before.slice(consumed)) {
    if (pendingFlag) {
      parsed.flags.set(pendingFlag[0], w);
      pendingFlag = undefined;
      continue;
    }
    const f = findFlag(cmd, w);
    if (f) {
      if (w.includes('=')) parsed.flags.set(f[0], w.slice(w.indexOf('=') + 1));
      else if (flagTakesValue(f[1])) pendingFlag = f;
      else parsed.flags.set(f[0], 'true');
      continue;
    }
    if (!w.startsWith('-')) parsed.positionals.push(w);
  }

  const none = Directive.NoFileComp;
  // The value of a flag.
  let valueFlag = pendingFlag?.[0];
  let partial = toComplete;
  let valuePrefix = '';
  if (!valueFlag && toComplete.startsWith('--') && toComplete.includes('=')) {
    const f = findFlag(cmd, toComplete);
    if (f && flagTakesValue(f[1])) {
      valueFlag = f[0];
      valuePrefix = toComplete.slice(0, toComplete.indexOf('=') + 1);
      partial = toComplete.slice(valuePrefix.length);
    }
  }
  if (valueFlag) {
    const flag = cmd?.flags[valueFlag] as (Command.Flag.Any & { options?: readonly string[] }) | undefined;
    const wrap = (values: string[], directive: number = none): Completion => ({
      candidates: prefixed(
        values.map((v) => ({ value: v })),
        partial,
      ).map((c) => ({ value: valuePrefix + c.value })),
      directive,
    });
    switch (valueFlag) {
      case 'kubeconfig':
      case 'from-files':
        return { candidates: [], directive: Directive.Default };
      case 'context':
      case 'mgmt-context':
        return wrap(await lookups.contexts().catch(() => []));
      case 'managed-clusters':
      case 'cluster': {
        // A comma list: complete the last item, keep the ones before.
        const head = partial.includes(',') ? partial.slice(0, partial.lastIndexOf(',') + 1) : '';
        const last = partial.slice(head.length);
        const used = new Set(head.split(',').filter(Boolean));
        const ctxs = (await lookups.contexts().catch(() => [])).filter((c) => !used.has(c) && c.startsWith(last));
        return {
          candidates: ctxs.map((c) => ({ value: valuePrefix + head + c })),
          directive: none | Directive.NoSpace,
        };
      }
      case 'namespace':
        return wrap(await lookups.namespaces(parsed).catch(() => []));
      case 'output':
        return wrap(VALUE_FORMATS);
      default:
        if (flag?.options?.length) return wrap([...flag.options]);
        return { candidates: [], directive: none };
    }
  }

  // Flags.
  if (toComplete.startsWith('-')) {
    if (!cmd) return { candidates: [], directive: none };
    const cands: Candidate[] = [];
    for (const [name, f] of Object.entries(cmd.flags)) {
      if (f.hidden) continue;
      cands.push({ value: `--${name}`, description: f.summary ?? f.description });
      if (f.type === 'boolean' && (f as { allowNo?: boolean }).allowNo) cands.push({ value: `--no-${name}` });
      if (f.char && !toComplete.startsWith('--'))
        cands.push({ value: `-${f.char}`, description: f.summary ?? f.description });
    }
    return { candidates: prefixed(cands, toComplete), directive: none };
  }

  // Sub-commands: ids that extend what has been typed.
  const typed = before.slice(0, consumed > 0 ? consumed : before.filter((w) => !w.startsWith('-')).length);
  const subs = new Map<string, string | undefined>();
  const path = cmd ? cmd.id.split(':') : typed;
  for (const c of visible) {
    const parts = c.id.split(':');
    if (parts.length <= path.length || path.some((p, i) => parts[i] !== p)) continue;
    const next = parts[path.length];
    if (!subs.has(next)) subs.set(next, parts.length === path.length + 1 ? c.summary : undefined);
  }
  if (!cmd || subs.size > 0) {
    if (!cmd || parsed.positionals.length === 0) {
      const cands = [...subs].map(([value, description]) => ({ value, description }));
      if (cands.length || !cmd) return { candidates: prefixed(cands, toComplete), directive: none };
    }
  }

  // Positional arguments of the command.
  const allNs = parsed.flags.has('all-namespaces');
  const argIndex = parsed.positionals.length;
  const objects = async (
    kind: 'VirtualMeshCertificateSigningRequest' | 'CertificateRequest' | 'Secret',
    qualified: boolean,
  ): Promise<Completion> => {
    const list = await lookups.objects(parsed, kind, qualified).catch(() => []);
    const values = list.map((o) => (qualified ? `${o.namespace}/${o.name}` : o.name));
    return {
      candidates: prefixed(
        [...new Set(values)].map((value) => ({ value })),
        toComplete,
      ),
      directive: none,
    };
  };
  switch (cmd?.id) {
    case 'approve':
    case 'deny':
      if (argIndex === 0) return objects('VirtualMeshCertificateSigningRequest', allNs);
      break;
    case 'inspect:secret':
      if (argIndex === 0) return objects('Secret', true);
      break;
    case 'inspect:certificaterequest':
      if (argIndex === 0) return objects('CertificateRequest', true);
      break;
    case 'root:create':
      if (argIndex === 0) {
        const ns = await lookups.namespaces(parsed).catch(() => []);
        return {
          candidates: prefixed(
            ns.map((n) => ({ value: `${n}/` })),
            toComplete,
          ),
          directive: none | Directive.NoSpace,
        };
      }
      break;
    case 'completion':
      if (argIndex === 0) return { candidates: prefixed([{ value: 'kubectl' }], toComplete), directive: none };
      break;
  }
  return { candidates: [], directive: none };
}

export function formatCompletion(c: Completion): string {
  const lines = c.candidates.map((x) => (x.description ? `${x.value}\t${x.description.split('\n')[0]}` : x.value));
  return `${[...lines, `:${c.directive}`].join('\n')}\n`;
}
