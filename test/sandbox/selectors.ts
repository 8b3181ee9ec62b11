// Label selectors (the string form of list/watch queries and the LabelSelector objects of
// webhook namespaceSelector/objectSelector) and the metadata field selectors.
import { badRequest } from './errors.js';
import type { KObject } from './store.js';

type Labels = Record<string, string> | undefined;
export type Matcher = (labels: Labels) => boolean;

interface Requirement { key: string; op: 'in' | 'notin' | 'exists' | '!' | '=' | '!=' | 'gt' | 'lt'; values: string[] }

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0; let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

export function parseLabelSelector(s: string | null | undefined): Matcher {
  if (!s) return () => true;
  const reqs: Requirement[] = splitTop(s).map((part) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()).filter(Boolean) };
    m = /^!\s*([\w./-]+)$/.exec(part);
    if (m) return { key: m[1], op: '!', values: [] };
    m = /^([\w./-]+)\s*(==|=|!=|>|<)\s*([\w.-]*)$/.exec(part);
    if (m) return { key: m[1], op: m[2] === '!=' ? '!=' : m[2] === '>' ? 'gt' : m[2] === '<' ? 'lt' : '=', values: [m[3]] };
    m = /^([\w./-]+)$/.exec(part);
    if (m) return { key: m[1], op: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, gt, lt`);
  });
  return (labels) => reqs.every((r) => matchReq(r, labels ?? {}));
}

function matchReq(r: Requirement, l: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(l, r.key);
  const v = l[r.key];
  switch (r.op) {
    case 'in': case '=': return has && r.values.includes(v);
    case 'notin': case '!=': return !has || !r.values.includes(v);
    case 'exists': return has;
    case '!': return !has;
    case 'gt': return has && Number(v) > Number(r.values[0]);
    case 'lt': return has && Number(v) < Number(r.values[0]);
  }
}

export interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> }

/** A LabelSelector object; an empty or absent selector matches everything. */
export function labelSelectorMatcher(sel: LabelSelector | undefined | null): Matcher {
  if (!sel) return () => true;
  const reqs: Requirement[] = [
    ...Object.entries(sel.matchLabels ?? {}).map(([key, v]): Requirement => ({ key, op: '=', values: [v] })),
    ...(sel.matchExpressions ?? []).map((e): Requirement => {
      const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[e.operator as 'In'];
      if (!op) throw badRequest(`"${e.operator}" is not a valid label selector operator`);
      return { key: e.key, op, values: e.values ?? [] };
    }),
  ];
  return (labels) => reqs.every((r) => matchReq(r, labels ?? {}));
}

/** Field selectors: metadata.name and metadata.namespace as every resource supports, plus any dotted field equality. */
export function parseFieldSelector(s: string | null | undefined): (o: KObject) => boolean {
  if (!s) return () => true;
  const reqs = splitTop(s).map((part) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    return { path: m[1].split('.'), neg: m[2] === '!=', value: m[3] };
  });
  return (o) => reqs.every((r) => {
    const v = r.path.reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
    const eq = String(v ?? '') === r.value;
    return r.neg ? !eq : eq;
  });
}
