// Printers for the -o formats. Data goes to stdout, nothing else does. Tables follow kubectl's
// look: upper-case headers, columns separated by three spaces, "<none>" never padded away.
import type { OutputFormat } from './flags.js';
import { loadYaml } from './lazy.js';

export interface Column<T> {
  header: string;
  /** Shown only with -o wide. */
  wide?: boolean;
  get(row: T): string;
}

export interface TableOptions { wide?: boolean; noHeaders?: boolean }

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], opts: TableOptions = {}): string {
  const cols = columns.filter((c) => opts.wide || !c.wide);
  const cells = rows.map((r) => cols.map((c) => sanitize(c.get(r))));
  const header = cols.map((c) => c.header.toUpperCase());
  const all = opts.noHeaders ? cells : [header, ...cells];
  if (all.length === 0) return '';
  const widths = cols.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  return all.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('   ').trimEnd()).join('\n') + '\n';
}

/** Cells are one line: control characters and newlines would break the columns. */
function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
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
  switch (opts.format) {
    case 'json':
    case 'yaml':
      await printData(opts.format, makeList(rows.map((r) => (opts.data ? opts.data(r) : r)), opts.listMetadata));
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
