// Label selectors (the string form of list/watch queries, parsed as k8s.io/apimachinery/pkg/labels
// parses them, with its error messages; and the LabelSelector objects of webhook
// namespaceSelector/objectSelector) and field selectors (the fields each kind supports).
import { badRequest } from './errors.js';
import { isQualifiedName, isValidLabelValue } from './meta.js';
import type { KObject } from './store.js';

type Labels = Record<string, string> | undefined;
export type Matcher = (labels: Labels) => boolean;

type Op = 'in' | 'notin' | 'exists' | '!' | '=' | '==' | '!=' | 'gt' | 'lt';
interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

// ---- the lexer and parser of k8s.io/apimachinery/pkg/labels/selector.go ----

const enum T {
  Error,
  End,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}
const STRING2TOKEN: Record<string, T> = {
  ')': T.ClosedPar,
  ',': T.Comma,
  '!': T.DoesNotExist,
  '==': T.DoubleEquals,
  '=': T.Equals,
  '>': T.GreaterThan,
  in: T.In,
  '<': T.LessThan,
  '!=': T.NotEquals,
  notin: T.NotIn,
  '(': T.OpenPar,
};
const isWhitespace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string): boolean => '=!(),><'.includes(c) && c !== '';

function lex(s: string): Array<{ tok: T; lit: string }> {
  let pos = 0;
  const read = (): string => (pos < s.length ? s[pos++] : '');
  const out: Array<{ tok: T; lit: string }> = [];
  for (;;) {
    let ch = read();
    while (ch !== '' && isWhitespace(ch)) ch = read();
    if (ch === '') {
      out.push({ tok: T.End, lit: '' });
      return out;
    }
    if (isSpecial(ch)) {
      pos--;
      let buf = '';
      let last: { tok: T; lit: string } | undefined;
      for (;;) {
        const c = read();
        if (c === '') break;
        if (isSpecial(c)) {
          buf += c;
          const t = STRING2TOKEN[buf];
          if (t !== undefined) last = { tok: t, lit: buf };
          else if (last) {
            pos--;
            break;
          }
        } else {
          pos--;
          break;
        }
      }
      out.push(last ?? { tok: T.Error, lit: `error expected: keyword found '${buf}'` });
    } else {
      pos--;
      let buf = '';
      for (;;) {
        const c = read();
        if (c === '') break;
        if (isSpecial(c) || isWhitespace(c)) {
          pos--;
          break;
        }
        buf += c;
      }
      out.push({ tok: STRING2TOKEN[buf] ?? T.Identifier, lit: buf });
    }
  }
}

const BINARY_OPS = 'in, notin, =, ==, !=, gt, lt';

function keyError(key: string, path: string): string | undefined {
  const errs = isQualifiedName(key);
  return errs.length ? `${path}: Invalid value: ${JSON.stringify(key)}: ${errs.join('; ')}` : undefined;
}

function parseSelectorString(s: string): Requirement[] {
  const items = lex(s);
  let p = 0;
  const asValue = (t: T): T => (t === T.In || t === T.NotIn ? T.Identifier : t);
  const look = (values: boolean): { tok: T; lit: string } => {
    const i = items[p];
    return { tok: values ? asValue(i.tok) : i.tok, lit: i.lit };
  };
  const consume = (values: boolean): { tok: T; lit: string } => {
    const i = items[p++];
    return { tok: values ? asValue(i.tok) : i.tok, lit: i.lit };
  };
  const fail = (m: string): never => {
    throw badRequest(m);
  };

  const parseValues = (): string[] => {
    let t = consume(true);
    if (t.tok !== T.OpenPar) return fail(`unable to parse requirement: found '${t.lit}' expected: '('`);
    t = look(true);
    if (t.tok === T.Identifier || t.tok === T.Comma) {
      const set = new Set<string>();
      for (;;) {
        const u = consume(true);
        if (u.tok === T.Identifier) {
          set.add(u.lit);
          const n = look(true);
          if (n.tok === T.Comma) continue;
          if (n.tok === T.ClosedPar) break;
          return fail(`unable to parse requirement: found '${n.lit}', expected: ',' or ')'`);
        } else if (u.tok === T.Comma) {
          if (!set.size) set.add('');
          const n = look(true);
          if (n.tok === T.ClosedPar) {
            set.add('');
            break;
          }
          if (n.tok === T.Comma) {
            consume(true);
            set.add('');
          }
        } else return fail(`unable to parse requirement: found '${u.lit}', expected: ',', or identifier`);
      }
      if (consume(true).tok !== T.ClosedPar)
        return fail(`unable to parse requirement: found '${t.lit}', expected: ')'`);
      return [...set].sort();
    }
    if (t.tok === T.ClosedPar) {
      consume(true);
      return [''];
    }
    return fail(`unable to parse requirement: found '${t.lit}', expected: ',', ')' or identifier`);
  };

  const parseRequirement = (): Requirement => {
    let t = consume(true);
    let op: Op | undefined;
    if (t.tok === T.DoesNotExist) {
      op = '!';
      t = consume(true);
    }
    if (t.tok !== T.Identifier) return fail(`unable to parse requirement: found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const ke = keyError(key, '<nil>');
    if (ke) return fail(`unable to parse requirement: ${ke}`);
    if (op === '!') return { key, op, values: [] };
    const n = look(true);
    if (n.tok === T.End || n.tok === T.Comma) return { key, op: 'exists', values: [] };
    const o = consume(false);
    const ops: Partial<Record<T, Op>> = {
      [T.In]: 'in',
      [T.Equals]: '=',
      [T.DoubleEquals]: '==',
      [T.GreaterThan]: 'gt',
      [T.LessThan]: 'lt',
      [T.NotIn]: 'notin',
      [T.NotEquals]: '!=',
    };
    const found = ops[o.tok];
    if (!found) return fail(`unable to parse requirement: found '${o.lit}', expected: ${BINARY_OPS}`);
    let values: string[];
    if (found === 'in' || found === 'notin') values = parseValues();
    else {
      const v = look(true);
      if (v.tok === T.End || v.tok === T.Comma) values = [''];
      else {
        const u = consume(true);
        if (u.tok !== T.Identifier) return fail(`unable to parse requirement: found '${u.lit}', expected: identifier`);
        values = [u.lit];
      }
    }
    // NewRequirement's checks
    const errs: string[] = [];
    if ((found === 'in' || found === 'notin') && !values.length)
      errs.push(`values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`);
    if (found === 'gt' || found === 'lt')
      values.forEach((v, i) => {
        if (!/^[+-]?\d+$/.test(v))
          errs.push(
            `values[${i}]: Invalid value: ${JSON.stringify(v)}: for 'Gt', 'Lt' operators, the value must be an integer`,
          );
      });
    values.forEach((v, i) => {
      const m = isValidLabelValue(v);
      if (m.length) errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${m.join('; ')}`);
    });
    if (errs.length) fail(`unable to parse requirement: ${errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`}`);
    return { key, op: found, values };
  };

  const reqs: Requirement[] = [];
  for (;;) {
    const t = look(true);
    if (t.tok === T.Identifier || t.tok === T.DoesNotExist) {
      reqs.push(parseRequirement());
      const n = consume(true);
      if (n.tok === T.End) return reqs;
      if (n.tok === T.Comma) {
        const n2 = look(true);
        if (n2.tok !== T.Identifier && n2.tok !== T.DoesNotExist)
          fail(`found '${n2.lit}', expected: identifier after ','`);
        continue;
      }
      fail(`found '${n.lit}', expected: ',' or 'end of string'`);
    } else if (t.tok === T.End) return reqs;
    else fail(`found '${t.lit}', expected: !, identifier, or 'end of string'`);
  }
}

export function parseLabelSelector(s: string | null | undefined): Matcher {
  if (!s) return () => true;
  const reqs = parseSelectorString(s);
  return (labels) => reqs.every((r) => matchReq(r, labels ?? {}));
}

function matchReq(r: Requirement, l: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(l, r.key);
  const v = l[r.key];
  switch (r.op) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(v);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(v);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
      return has && /^[+-]?\d+$/.test(v) && Number(v) > Number(r.values[0]);
    case 'lt':
      return has && /^[+-]?\d+$/.test(v) && Number(v) < Number(r.values[0]);
  }
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

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

// ---- field selectors (k8s.io/apimachinery/pkg/fields) ----

/** The fields each kind serves in field selectors (its field label conversion); the others only metadata.name and metadata.namespace. */
const FIELD_LABELS: Record<string, string[]> = {
  '/namespaces': ['metadata.name', 'status.phase'],
  '/secrets': ['metadata.name', 'metadata.namespace', 'type'],
  '/pods': [
    'metadata.name',
    'metadata.namespace',
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.podIPs',
    'status.nominatedNodeName',
  ],
  '/events': [
    'metadata.name',
    'metadata.namespace',
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  '/services': ['metadata.name', 'metadata.namespace', 'spec.clusterIP', 'spec.type'],
};

function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') {
        out += c;
        inSlash = false;
        continue;
      }
      throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=')
      throw badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

/**
 * A field selector for a kind ({group, plural, crd}); unsupported fields are refused as
 * kube-apiserver refuses them (custom resources: "field label not supported").
 */
export function parseFieldSelector(
  s: string | null | undefined,
  r?: { group: string; plural: string; crd?: string },
): (o: KObject) => boolean {
  if (!s) return () => true;
  const parts = splitTerms(s).sort();
  const reqs: Array<{ path: string[]; neg: boolean; value: string }> = [];
  for (const part of parts) {
    if (!part) continue;
    let found: { lhs: string; op: string; rhs: string } | undefined;
    outer: for (let i = 0; i < part.length; i++) {
      for (const op of ['!=', '==', '=']) {
        if (part.startsWith(op, i)) {
          found = { lhs: part.slice(0, i), op, rhs: part.slice(i + op.length) };
          break outer;
        }
      }
    }
    if (!found) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    reqs.push({ path: found.lhs.split('.'), neg: found.op === '!=', value: unescapeValue(found.rhs) });
  }
  if (r) {
    const key = `${r.group}/${r.plural}`;
    const allowed = FIELD_LABELS[key];
    for (const q of reqs) {
      const f = q.path.join('.');
      if (allowed ? !allowed.includes(f) : f !== 'metadata.name' && f !== 'metadata.namespace') {
        throw badRequest(
          allowed || r.crd
            ? `field label not supported: ${f}`
            : `"${f}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
        );
      }
    }
  }
  return (o) =>
    reqs.every((q) => {
      const v = q.path.reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
      const eq = String(v ?? '') === q.value;
      return q.neg ? !eq : eq;
    });
}
