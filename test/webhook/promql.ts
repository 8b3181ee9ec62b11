// A PromQL reader for the monitoring tests, so that the alert rules and the dashboard are checked
// without promtool or a Prometheus. It parses the whole expression language the dashboard uses
// (selectors, ranges, function calls, aggregations, binary operators), and evaluates the subset
// the alert rules use against one scrape: instant selectors with label matchers, number literals,
// time(), + - * / %, comparisons (filtering, as PromQL's without `bool`), and
// sum/min/max/avg/count with `by` or `without`. Anything else evaluated is an error, never a guess.
import type { Sample } from './expiry-fixtures.js';

type Matcher = { label: string; op: '=' | '!=' | '=~' | '!~'; value: string };
export type Node =
  | { type: 'number'; value: number }
  | { type: 'selector'; name: string; matchers: Matcher[]; range?: string }
  | { type: 'call'; fn: string; args: Node[] }
  | { type: 'aggregate'; op: string; grouping?: { mode: 'by' | 'without'; labels: string[] }; args: Node[] }
  | { type: 'binary'; op: string; bool: boolean; left: Node; right: Node }
  | { type: 'neg'; expr: Node };

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
]);
const PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '>': 3,
  '<=': 3,
  '>=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};

type Token = { kind: 'num' | 'ident' | 'str' | 'op' | 'range' | 'eof'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const rest = src.slice(i);
    const num = /^(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+)/i.exec(rest);
    if (num) {
      out.push({ kind: 'num', text: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    if (id) {
      out.push({ kind: 'ident', text: id[0] });
      i += id[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new Error(`PromQL: unterminated string at ${i}: ${src}`);
      out.push({
        kind: 'str',
        text: JSON.parse(
          `"${src
            .slice(i + 1, j)
            .replace(/\\'/g, "'")
            .replace(/"/g, '\\"')}"`,
        ) as string,
      });
      i = j + 1;
      continue;
    }
    if (c === '[') {
      const j = src.indexOf(']', i);
      if (j < 0) throw new Error(`PromQL: unterminated range at ${i}: ${src}`);
      out.push({ kind: 'range', text: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const op = /^(?:==|!=|=~|!~|<=|>=|[-+*/%^<>(){},=])/.exec(rest);
    if (!op) throw new Error(`PromQL: unexpected ${JSON.stringify(c)} at ${i}: ${src}`);
    out.push({ kind: 'op', text: op[0] });
    i += op[0].length;
  }
  out.push({ kind: 'eof', text: '' });
  return out;
}

export function parsePromQL(src: string): Node {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Token => toks[p]!;
  const next = (): Token => toks[p++]!;
  const expect = (text: string): void => {
    const t = next();
    if (t.text !== text)
      throw new Error(`PromQL: expected ${JSON.stringify(text)}, got ${JSON.stringify(t.text)} in: ${src}`);
  };
  const labelList = (): string[] => {
    expect('(');
    const labels: string[] = [];
    while (peek().text !== ')') {
      labels.push(next().text);
      if (peek().text === ',') next();
    }
    expect(')');
    return labels;
  };
  const args = (): Node[] => {
    expect('(');
    const list: Node[] = [];
    while (peek().text !== ')') {
      list.push(expr(0));
      if (peek().text === ',') next();
    }
    expect(')');
    return list;
  };
  const primary = (): Node => {
    const t = next();
    if (t.kind === 'num') return { type: 'number', value: Number(t.text) };
    if (t.kind === 'str') return { type: 'number', value: NaN };
    if (t.text === '(') {
      const e = expr(0);
      expect(')');
      return e;
    }
    if (t.text === '-') return { type: 'neg', expr: primary() };
    if (t.text === '+') return primary();
    if (
      t.kind === 'ident' &&
      AGGREGATIONS.has(t.text) &&
      (peek().text === '(' || peek().text === 'by' || peek().text === 'without')
    ) {
      let grouping: { mode: 'by' | 'without'; labels: string[] } | undefined;
      if (peek().text === 'by' || peek().text === 'without')
        grouping = { mode: next().text as 'by' | 'without', labels: labelList() };
      const a = args();
      if (peek().text === 'by' || peek().text === 'without')
        grouping = { mode: next().text as 'by' | 'without', labels: labelList() };
      return { type: 'aggregate', op: t.text, grouping, args: a };
    }
    if (t.kind === 'ident' && peek().text === '(') return { type: 'call', fn: t.text, args: args() };
    if (t.kind === 'ident' || t.text === '{') {
      const name = t.kind === 'ident' ? t.text : '';
      const matchers: Matcher[] = [];
      if (t.text === '{' || peek().text === '{') {
        if (t.text !== '{') next();
        while (peek().text !== '}') {
          const label = next().text;
          const op = next().text as Matcher['op'];
          if (!['=', '!=', '=~', '!~'].includes(op)) throw new Error(`PromQL: bad matcher operator ${op} in: ${src}`);
          const v = next();
          if (v.kind !== 'str') throw new Error(`PromQL: a label value must be a string in: ${src}`);
          matchers.push({ label, op, value: v.text });
          if (peek().text === ',') next();
        }
        expect('}');
      }
      const range = peek().kind === 'range' ? next().text : undefined;
      if (peek().text === 'offset') {
        next();
        next();
      }
      return { type: 'selector', name, matchers, range };
    }
    throw new Error(`PromQL: unexpected ${JSON.stringify(t.text)} in: ${src}`);
  };
  const expr = (minPrec: number): Node => {
    let left = primary();
    for (;;) {
      const op = peek().text;
      const prec = peek().kind === 'op' || peek().kind === 'ident' ? PRECEDENCE[op] : undefined;
      if (prec === undefined || prec <= minPrec) break;
      next();
      let bool = false;
      if (peek().text === 'bool') {
        next();
        bool = true;
      }
      if (
        peek().text === 'on' ||
        peek().text === 'ignoring' ||
        peek().text === 'group_left' ||
        peek().text === 'group_right'
      ) {
        throw new Error(`PromQL: vector matching modifiers are outside the evaluated subset: ${src}`);
      }
      // left-associative, but for ^
      const right = expr(op === '^' ? prec - 1 : prec);
      left = { type: 'binary', op, bool, left, right };
    }
    return left;
  };
  const root = expr(0);
  if (peek().kind !== 'eof') throw new Error(`PromQL: unexpected ${JSON.stringify(peek().text)} in: ${src}`);
  return root;
}

/** Every metric name a selector in `node` reads. */
export function metricNames(node: Node): string[] {
  switch (node.type) {
    case 'selector':
      return node.name
        ? [node.name]
        : node.matchers.filter((m) => m.label === '__name__' && m.op === '=').map((m) => m.value);
    case 'call':
    case 'aggregate':
      return node.args.flatMap(metricNames);
    case 'binary':
      return [...metricNames(node.left), ...metricNames(node.right)];
    case 'neg':
      return metricNames(node.expr);
    case 'number':
      return [];
  }
}

type Series = { labels: Record<string, string>; value: number };
export type Value = { kind: 'scalar'; value: number } | { kind: 'vector'; series: Series[] };

const key = (labels: Record<string, string>): string =>
  JSON.stringify(
    Object.keys(labels)
      .filter((k) => k !== '__name__')
      .sort()
      .map((k) => [k, labels[k]]),
  );
const withoutName = (labels: Record<string, string>): Record<string, string> => {
  const { __name__: _drop, ...rest } = labels;
  return rest;
};

function arith(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
  }
  throw new Error(`PromQL: operator ${op} is outside the evaluated subset`);
}
const COMPARE: Partial<Record<string, (a: number, b: number) => boolean>> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
};

function matches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return new RegExp(`^(?:${m.value})$`).test(value);
    case '!~':
      return !new RegExp(`^(?:${m.value})$`).test(value);
  }
}

/** Evaluates `node` at `nowSeconds` (what time() returns) against the samples of one scrape. */
export function evaluate(node: Node, samples: readonly Sample[], nowSeconds: number): Value {
  const ev = (n: Node): Value => evaluate(n, samples, nowSeconds);
  switch (node.type) {
    case 'number':
      return { kind: 'scalar', value: node.value };
    case 'neg': {
      const v = ev(node.expr);
      return v.kind === 'scalar'
        ? { kind: 'scalar', value: -v.value }
        : { kind: 'vector', series: v.series.map((s) => ({ labels: withoutName(s.labels), value: -s.value })) };
    }
    case 'selector': {
      if (node.range !== undefined)
        throw new Error(`PromQL: range selector ${node.name}[${node.range}] is outside the evaluated subset`);
      const series = samples
        .filter((s) => s.name === node.name && node.matchers.every((m) => matches(m, s.labels[m.label] ?? '')))
        .map((s) => ({ labels: { __name__: s.name, ...s.labels }, value: s.value }));
      return { kind: 'vector', series };
    }
    case 'call':
      if (node.fn === 'time' && node.args.length === 0) return { kind: 'scalar', value: nowSeconds };
      throw new Error(`PromQL: function ${node.fn}() is outside the evaluated subset`);
    case 'aggregate': {
      const inner = ev(node.args[node.args.length - 1]!);
      if (inner.kind !== 'vector' || node.args.length !== 1)
        throw new Error(`PromQL: ${node.op} takes one instant vector here`);
      const groups = new Map<string, { labels: Record<string, string>; values: number[] }>();
      for (const s of inner.series) {
        const labels: Record<string, string> = {};
        for (const [k, v] of Object.entries(withoutName(s.labels))) {
          const keep = !node.grouping
            ? false
            : node.grouping.mode === 'by'
              ? node.grouping.labels.includes(k)
              : !node.grouping.labels.includes(k);
          if (keep) labels[k] = v;
        }
        const g = groups.get(key(labels)) ?? { labels, values: [] };
        g.values.push(s.value);
        groups.set(key(labels), g);
      }
      const reduce: Record<string, (v: number[]) => number> = {
        sum: (v) => v.reduce((a, b) => a + b, 0),
        min: (v) => Math.min(...v),
        max: (v) => Math.max(...v),
        avg: (v) => v.reduce((a, b) => a + b, 0) / v.length,
        count: (v) => v.length,
      };
      const f = reduce[node.op];
      if (!f) throw new Error(`PromQL: aggregation ${node.op} is outside the evaluated subset`);
      return { kind: 'vector', series: [...groups.values()].map((g) => ({ labels: g.labels, value: f(g.values) })) };
    }
    case 'binary': {
      const l = ev(node.left);
      const r = ev(node.right);
      const cmp = COMPARE[node.op];
      if (cmp && node.bool) throw new Error('PromQL: comparisons with bool are outside the evaluated subset');
      if (l.kind === 'scalar' && r.kind === 'scalar') {
        if (cmp) throw new Error('PromQL: a comparison of two scalars needs bool');
        return { kind: 'scalar', value: arith(node.op, l.value, r.value) };
      }
      if (l.kind === 'vector' && r.kind === 'vector') {
        const right = new Map(r.series.map((s) => [key(s.labels), s]));
        const series: Series[] = [];
        for (const s of l.series) {
          const o = right.get(key(s.labels));
          if (!o) continue;
          if (cmp) {
            if (cmp(s.value, o.value)) series.push(s);
          } else series.push({ labels: withoutName(s.labels), value: arith(node.op, s.value, o.value) });
        }
        return { kind: 'vector', series };
      }
      const vec = (l.kind === 'vector' ? l : r) as Extract<Value, { kind: 'vector' }>;
      const scalar = (l.kind === 'scalar' ? l : r) as Extract<Value, { kind: 'scalar' }>;
      const pair = (v: number): [number, number] => (l.kind === 'vector' ? [v, scalar.value] : [scalar.value, v]);
      if (cmp) return { kind: 'vector', series: vec.series.filter((s) => cmp(...pair(s.value))) };
      return {
        kind: 'vector',
        series: vec.series.map((s) => ({ labels: withoutName(s.labels), value: arith(node.op, ...pair(s.value)) })),
      };
    }
  }
}
