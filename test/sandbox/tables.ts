// Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), which kubectl's
// default `get` output asks for: the CRD's additionalPrinterColumns, or a kube-like default for
// the built-in kinds.
import type { PrinterColumn, ResourceType } from './resources.js';
import type { KObject } from './store.js';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}
export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumn[];
  rows: Array<{ cells: unknown[]; object?: unknown }>;
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '<invalid>';
  if (s < 60 * 2) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 60 * 3) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) {
    const dy = Math.floor(h / 24) % 365;
    return dy === 0 ? `${Math.floor(h / 24 / 365)}y` : `${Math.floor(h / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(h / 24 / 365)}y`;
}

const age = (o: KObject): string =>
  o.metadata.creationTimestamp ? humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp)) : '<unknown>';

/** The JSONPath subset printer columns use: `.a.b`, `.a[0].b`, `.a['x.y']`. */
export function jsonPathValue(obj: unknown, path: string): unknown {
  const tokens = [...path.replace(/^\{|\}$/g, '').matchAll(/\.([\w-]+)|\[(\d+)\]|\['([^']+)'\]|\["([^"]+)"\]/g)];
  let cur: unknown = obj;
  for (const t of tokens) {
    if (cur === undefined || cur === null) return undefined;
    const k = t[1] ?? t[3] ?? t[4];
    cur = k !== undefined ? (cur as Record<string, unknown>)[k] : (cur as unknown[])[Number(t[2])];
  }
  return cur;
}

const col = (name: string, type = 'string', format = '', description = '', priority = 0): TableColumn => ({
  name,
  type,
  format,
  description,
  priority,
});
const NAME = col('Name', 'string', 'name', 'Name must be unique within a namespace.');
const AGE = col(
  'Age',
  'string',
  '',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

type Printer = { columns: TableColumn[]; cells: (o: KObject) => unknown[] };

const podReady = (o: KObject): [string, string] => {
  const st = (o.status ?? {}) as {
    phase?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ ready?: boolean }>;
  };
  const spec = (o.spec ?? {}) as { containers?: unknown[] };
  const total = spec.containers?.length ?? 0;
  const ready =
    st.containerStatuses?.filter((c) => c.ready).length ??
    (st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? total : 0);
  return [`${ready}/${total}`, st.phase ?? 'Pending'];
};

const BUILTIN_PRINTERS: Record<string, Printer> = {
  '/namespaces': {
    columns: [NAME, col('Status', 'string', '', 'The status of the namespace'), AGE],
    cells: (o) => [o.metadata.name, (o.status as { phase?: string } | undefined)?.phase ?? 'Active', age(o)],
  },
  '/secrets': {
    columns: [
      NAME,
      col('Type', 'string', '', 'The type of the secret'),
      col('Data', 'integer', '', 'The number of entries in the secret'),
      AGE,
    ],
    cells: (o) => [
      o.metadata.name,
      (o.type as string | undefined) ?? 'Opaque',
      Object.keys((o.data ?? {}) as object).length,
      age(o),
    ],
  },
  '/configmaps': {
    columns: [NAME, col('Data', 'integer', '', 'Number of data in the configmap'), AGE],
    cells: (o) => [
      o.metadata.name,
      Object.keys((o.data ?? {}) as object).length + Object.keys((o.binaryData ?? {}) as object).length,
      age(o),
    ],
  },
  '/pods': {
    columns: [
      NAME,
      col('Ready', 'string', '', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', '', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', '', 'The number of times the containers in this pod have been restarted.'),
      AGE,
    ],
    cells: (o) => {
      const [r, p] = podReady(o);
      return [o.metadata.name, r, p, '0', age(o)];
    },
  },
  'apiextensions.k8s.io/customresourcedefinitions': {
    columns: [NAME, col('Created At', 'date', '', 'CreationTimestamp')],
    cells: (o) => [o.metadata.name, o.metadata.creationTimestamp],
  },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': {
    columns: [NAME, col('Webhooks', 'integer', '', 'Webhooks indicates the number of webhooks.'), AGE],
    cells: (o) => [o.metadata.name, ((o.webhooks ?? []) as unknown[]).length, age(o)],
  },
  'admissionregistration.k8s.io/validatingwebhookconfigurations': {
    columns: [NAME, col('Webhooks', 'integer', '', 'Webhooks indicates the number of webhooks.'), AGE],
    cells: (o) => [o.metadata.name, ((o.webhooks ?? []) as unknown[]).length, age(o)],
  },
};

function crdPrinter(cols: PrinterColumn[]): Printer {
  return {
    columns: [
      NAME,
      ...cols.map((c) =>
        col(c.name, c.type === 'date' ? 'date' : c.type, c.format ?? '', c.description ?? '', c.priority ?? 0),
      ),
    ],
    cells: (o) => [
      o.metadata.name,
      ...cols.map((c) => {
        const v = jsonPathValue(o, c.jsonPath);
        if (v === undefined || v === null) return null;
        if (c.type === 'date')
          return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? humanDuration(Date.now() - Date.parse(v)) : v;
        if (typeof v === 'object') return JSON.stringify(v);
        return v;
      }),
    ],
  };
}

function printerFor(r: ResourceType): Printer {
  if (r.columns && r.columns.length) return crdPrinter(r.columns);
  return (
    BUILTIN_PRINTERS[`${r.group}/${r.plural}`] ?? { columns: [NAME, AGE], cells: (o) => [o.metadata.name, age(o)] }
  );
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KObject, include: IncludeObject, apiVersion: string): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: o.metadata };
}

export function toTable(
  r: ResourceType,
  objects: KObject[],
  meta: Table['metadata'],
  include: IncludeObject,
  apiVersion = 'meta.k8s.io/v1',
): Table {
  const p = printerFor(r);
  return {
    kind: 'Table',
    apiVersion,
    metadata: meta,
    columnDefinitions: p.columns,
    rows: objects.map((o) => {
      const row: { cells: unknown[]; object?: unknown } = { cells: p.cells(o) };
      const ro = rowObject(o, include, apiVersion);
      if (ro) row.object = ro;
      return row;
    }),
  };
}

/** Reads what the client asked for from the Accept header. */
export function wantsTable(accept: string | undefined): string | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const params = part.split(';').map((s) => s.trim());
    if (params.includes('as=Table') && params.includes('g=meta.k8s.io')) {
      return params.includes('v=v1beta1') ? 'meta.k8s.io/v1beta1' : 'meta.k8s.io/v1';
    }
  }
  return undefined;
}
