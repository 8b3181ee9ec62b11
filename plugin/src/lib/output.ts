// Printers for the -o formats. Data goes to stdout, nothing else does. Tables follow kubectl's
// look: upper-case headers, columns separated by three spaces, "<none>" never padded away.
import type { OutputFormat } from './flags.js';
import { loadYaml } from './lazy.js';
import { UserError } from './errors.js';
import type { Mark } from './progress.js';

export interface Column<T> {
  header: string;
  /** Shown only with -o wide. */
  wide?: boolean;
  get(row: T): string;
  /** The mark whose colour the cell takes where the table is painted (TableOptions.paint). */
  tone?(row: T): Mark | undefined;
  /** The column that gives way when a line would pass TableOptions.maxWidth (its cells are cut, ending in …). */
  shrink?: boolean;
}

export interface TableOptions {
  wide?: boolean;
  noHeaders?: boolean;
  /** headers as given, not upper-cased */
  rawHeaders?: boolean;
  /** Colours a cell in the colour of a mark (progress.ts's paint on a terminal); none: plain text. */
  paint?: (mark: Mark, text: string) => string;
  /** Lines no wider than this, by cutting the `shrink` column (never narrower than its header). */
  maxWidth?: number;
}

const GAP = '   ';
const ELLIPSIS = '…';

/**
 * Widths are those of the text itself: a cell is sanitized first and painted last, so colour
 * escapes never count, and a painted cell is padded as if it were plain.
 */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], opts: TableOptions = {}): string {
  const cols = columns.filter((c) => opts.wide || !c.wide);
  const cells = rows.map((r) => cols.map((c) => sanitize(c.get(r))));
  const header = cols.map((c) => (opts.rawHeaders ? c.header : c.header.toUpperCase()));
  const all = opts.noHeaders ? cells : [header, ...cells];
  if (all.length === 0) return '';
  const widths = cols.map((_, i) => Math.max(...all.map((row) => visibleWidth(row[i]!))));
  fitWidths(cols, widths, header, opts.maxWidth);
  const tones = rows.map((r) => cols.map((c) => (opts.paint && c.tone ? c.tone(r) : undefined)));
  const toneOffset = opts.noHeaders ? 0 : 1;
  return (
    all
      .map((row, r) => {
        const line = row.map((cell, i) => {
          const text = visibleWidth(cell) > widths[i]! ? cut(cell, widths[i]!) : cell;
          const pad = i === row.length - 1 ? '' : ' '.repeat(widths[i]! - visibleWidth(text));
          const tone = r >= toneOffset ? tones[r - toneOffset]![i] : undefined;
          return (tone && opts.paint ? opts.paint(tone, text) : text) + pad;
        });
        return line.join(GAP).trimEnd();
      })
      .join('\n') + '\n'
  );
}

/** Narrows the shrinkable column so that a line is at most maxWidth wide. */
function fitWidths<T>(
  cols: readonly Column<T>[],
  widths: number[],
  header: string[],
  maxWidth: number | undefined,
): void {
  if (!maxWidth) return;
  const total = widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
  const i = cols.findIndex((c) => c.shrink);
  if (i < 0 || total <= maxWidth) return;
  widths[i] = Math.max(header[i]!.length, ELLIPSIS.length + 1, widths[i]! - (total - maxWidth));
}

function cut(text: string, width: number): string {
  return [...text].slice(0, width - ELLIPSIS.length).join('') + ELLIPSIS;
}

/** The columns a text takes on a terminal: SGR colour sequences take none. */
export function visibleWidth(text: string): number {
  return [...text.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

/** Cells are one line: control characters and newlines would break the columns. */
function sanitize(s: string): string {
  return (s ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

export interface List<T = unknown> {
  apiVersion: 'v1';
  kind: 'List';
  metadata: Record<string, unknown>;
  items: T[];
}

export function makeList<T>(items: T[], metadata: Record<string, unknown> = {}): List<T> {
  return { apiVersion: 'v1', kind: 'List', metadata, items };
}

export async function toYaml(data: unknown): Promise<string> {
  const { stringify } = await loadYaml();
  return stringify(data, { lineWidth: 0 });
}

export function toJson(data: unknown): string {
  return JSON.stringify(data, null, 2) + '\n';
}

/** Writes text to stdout. */
export function out(text: string): void {
  if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints data as JSON or YAML. */
export async function printData(format: 'json' | 'yaml', data: unknown): Promise<void> {
  out(format === 'json' ? toJson(data) : await toYaml(data));
}

export interface PrintOptions<T> {
  format: OutputFormat;
  noHeaders?: boolean;
  columns: readonly Column<T>[];
  /** For -o name: e.g. "issuedcertificate.certificates.mesh.gloo.solo.io/foo". */
  name(row: T): string;
  /** For -o json|yaml: the data of the row (default: the row itself). */
  data?(row: T): unknown;
  /** Extra fields of the List's metadata (e.g. cluster errors). */
  listMetadata?: Record<string, unknown>;
}

/** Prints rows in any format; json/yaml always give a List, even with one row. */
export async function printRows<T>(rows: readonly T[], opts: PrintOptions<T>): Promise<void> {
  if (
    printTemplate(
      opts.format,
      rows.map((r) => (opts.data ? opts.data(r) : r)),
      { noHeaders: opts.noHeaders },
    )
  )
    return;
  switch (opts.format) {
    case 'json':
    case 'yaml':
      await printData(
        opts.format,
        makeList(
          rows.map((r) => (opts.data ? opts.data(r) : r)),
          opts.listMetadata,
        ),
      );
      return;
    case 'name':
      out(rows.map((r) => opts.name(r)).join('\n'));
      return;
    default:
      out(renderTable(rows, opts.columns, { wide: opts.format === 'wide', noHeaders: opts.noHeaders }));
  }
}

export function age(from: string | undefined, now = Date.now()): string {
  if (!from) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(from)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

// ---- -o jsonpath=TEMPLATE and -o custom-columns=SPEC, as kubectl parses them (a subset) ----

/** One step of a path: a field, an index, or every element ([*]). */
type Step = { field: string } | { index: number } | { all: true };

/**
 * A jsonpath such as `.items[*].metadata.name`, `.metadata.annotations.a\.b/c`, `.x['a.b']`,
 * `.items[0]`; a leading `$` or `@` is the current object.
 */
export function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  const p = path.trim().replace(/^[$@]/, '');
  while (i < p.length) {
    const c = p[i]!;
    if (c === '.') {
      i++;
      let name = '';
      while (i < p.length && p[i] !== '.' && p[i] !== '[') {
        if (p[i] === '\\' && i + 1 < p.length) {
          name += p[i + 1];
          i += 2;
          continue;
        }
        name += p[i++];
      }
      if (name) steps.push({ field: name });
    } else if (c === '[') {
      const end = p.indexOf(']', i);
      if (end < 0) throw new UserError(`jsonpath "${path}": unclosed [`);
      const inner = p.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^(['"]).*\1$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
      else throw new UserError(`jsonpath "${path}": [${inner}] is not supported (use [N], [*] or ['key'])`);
    } else {
      throw new UserError(`jsonpath "${path}": unexpected "${c}" (paths start with ".", e.g. .metadata.name)`);
    }
  }
  return steps;
}

/** Every value the path reaches from data (a [*] fans out); missing fields reach nothing. */
export function evalPath(data: unknown, steps: readonly Step[]): unknown[] {
  let cur: unknown[] = [data];
  for (const s of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if ('all' in s) {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === 'object') next.push(...Object.values(v as object));
      } else if ('index' in s) {
        if (Array.isArray(v)) {
          const x = v[s.index < 0 ? v.length + s.index : s.index];
          if (x !== undefined) next.push(x);
        }
      } else if (typeof v === 'object' && s.field in (v as object)) {
        next.push((v as Record<string, unknown>)[s.field]);
      }
    }
    cur = next;
  }
  return cur;
}

/** A value as kubectl's jsonpath prints it: strings bare, anything else as JSON. */
function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

type Node = { text: string } | { path: Step[] } | { range: Step[]; body: Node[] };

/** Unquotes a jsonpath string literal ({"\n"}, {'\t'}). */
function literal(s: string): string {
  return s.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

export function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const top = stack[stack.length - 1]!;
    if (open < 0) {
      top.push({ text: template.slice(i) });
      break;
    }
    if (open > i) top.push({ text: template.slice(i, open) });
    // the closing brace, skipping braces inside quotes
    let j = open + 1;
    let quote = '';
    for (; j < template.length; j++) {
      const c = template[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = '';
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '}') break;
    }
    if (j >= template.length) throw new UserError(`jsonpath template "${template}": unclosed {`);
    const expr = template.slice(open + 1, j).trim();
    i = j + 1;
    if (/^(['"]).*\1$/s.test(expr)) top.push({ text: literal(expr) });
    else if (expr.startsWith('range ')) {
      const node: Node = { range: parsePath(expr.slice(6)), body: [] };
      top.push(node);
      stack.push(node.body);
    } else if (expr === 'end') {
      if (stack.length === 1) throw new UserError(`jsonpath template "${template}": {end} without {range}`);
      stack.pop();
    } else top.push({ path: parsePath(expr) });
  }
  if (stack.length > 1) throw new UserError(`jsonpath template "${template}": {range} without {end}`);
  return root;
}

function runNodes(nodes: readonly Node[], data: unknown): string {
  let s = '';
  for (const n of nodes) {
    if ('text' in n) s += n.text;
    else if ('path' in n) s += evalPath(data, n.path).map(show).join(' ');
    else for (const v of evalPath(data, n.range)) s += runNodes(n.body, v);
  }
  return s;
}

/** kubectl's -o jsonpath=TEMPLATE (a subset: fields, [N], [*], ['key'], {range}…{end}, string literals). */
export function jsonpath(template: string, data: unknown): string {
  // kubectl accepts a bare path too: -o jsonpath=.metadata.name
  const t = template.includes('{') ? template : `{${template}}`;
  return runNodes(parseTemplate(t), data);
}

export interface CustomColumn {
  header: string;
  path: Step[];
}

/** kubectl's -o custom-columns=HEADER:.path,HEADER2:.path2 (a path may be {.path} too). */
export function parseCustomColumns(spec: string): CustomColumn[] {
  if (!spec.trim())
    throw new UserError(
      '-o custom-columns= expects HEADER:.path[,HEADER:.path…], e.g. custom-columns=NAME:.metadata.name',
    );
  return spec.split(',').map((part) => {
    const at = part.indexOf(':');
    if (at <= 0) throw new UserError(`-o custom-columns: "${part}" is not HEADER:.path (e.g. NAME:.metadata.name)`);
    const path = part
      .slice(at + 1)
      .trim()
      .replace(/^\{(.*)\}$/, '$1');
    return { header: part.slice(0, at).trim(), path: parsePath(path) };
  });
}

/** The custom-columns table of items ("<none>" where a path reaches nothing, as kubectl). */
export function renderCustomColumns(
  items: readonly unknown[],
  columns: readonly CustomColumn[],
  opts: { noHeaders?: boolean } = {},
): string {
  const cols: Column<unknown>[] = columns.map((c) => ({
    header: c.header,
    get: (row) => evalPath(row, c.path).map(show).join(',') || '<none>',
  }));
  // headers as typed (kubectl keeps their case)
  return renderTable(items, cols, { noHeaders: opts.noHeaders, rawHeaders: true });
}

/** -o jsonpath=… / custom-columns=… of a value of -o; undefined for the other formats. */
export function templateOutput(
  format: string,
): { kind: 'jsonpath'; template: string } | { kind: 'custom-columns'; columns: CustomColumn[] } | undefined {
  const m = /^(jsonpath|custom-columns)=(.*)$/s.exec(format);
  if (!m) return undefined;
  if (m[1] === 'jsonpath') {
    parseTemplate(m[2]!.includes('{') ? m[2]! : `{${m[2]}}`);
    return { kind: 'jsonpath', template: m[2]! };
  }
  return { kind: 'custom-columns', columns: parseCustomColumns(m[2]!) };
}

/** Prints items (the List's) for -o jsonpath/custom-columns: jsonpath sees the List, custom-columns each item. */
export function printTemplate(format: string, items: readonly unknown[], opts: { noHeaders?: boolean } = {}): boolean {
  const t = templateOutput(format);
  if (!t) return false;
  if (t.kind === 'jsonpath') process.stdout.write(jsonpath(t.template, makeList([...items])));
  else out(renderCustomColumns(items, t.columns, opts));
  return true;
}
