// CustomResourceDefinitions derived from the TypeBox schemas and the rule tables. Pure: returns
// objects; schemas/generate.ts writes them.
import { exclusiveCelRules, rootCelRules, stripPurpose } from './cel.js';
import { KIND_SCHEMAS } from './kinds/index.js';
import { CATEGORIES, KINDS, type KindInfo, type KindName } from './registry.js';

export type StructuralSchema = { [k: string]: unknown };

const KEEP = [
  'type',
  'description',
  'enum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'minimum',
  'maximum',
  'maxProperties',
] as const;
// Formats the apiserver knows; ours (x-pem-type) are checked by the webhook.
const K8S_FORMATS = new Set(['byte', 'date-time', 'int64', 'int32', 'double', 'float']);

/** A TypeBox (JSON Schema) node as a structural CRD schema node: every node typed, nothing preserved. */
export function toStructural(node: Record<string, unknown>): StructuralSchema {
  const out: StructuralSchema = {};
  for (const k of KEEP) if (node[k] !== undefined) out[k] = node[k];
  if (typeof node.format === 'string' && K8S_FORMATS.has(node.format)) out.format = node.format;
  if (node.properties) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties as Record<string, Record<string, unknown>>).map(([k, v]) => [k, toStructural(v)]),
    );
    if (Array.isArray(node.required) && node.required.length > 0) out.required = [...(node.required as string[])];
  }
  if (node.patternProperties) {
    // TypeBox writes Record<string, T> as patternProperties "^(.*)$"; Kubernetes spells a map additionalProperties.
    const [value] = Object.values(node.patternProperties as Record<string, Record<string, unknown>>);
    out.additionalProperties = toStructural(value!);
  }
  if (node.items) out.items = toStructural(node.items as Record<string, unknown>);
  if (Array.isArray(node['x-exclusive'])) {
    out['x-kubernetes-validations'] = exclusiveCelRules(node['x-exclusive'] as string[][]).map(stripPurpose);
  }
  if (out.type === undefined) throw new Error(`schema node without a type: ${JSON.stringify(node).slice(0, 200)}`);
  return out;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const STATE: PrinterColumn = {
  name: 'State',
  type: 'string',
  jsonPath: '.status.state',
  description: 'workflow state (empty means PENDING)',
};
const OBSERVED: PrinterColumn = {
  name: 'ObservedGeneration',
  type: 'integer',
  jsonPath: '.status.observedGeneration',
  priority: 1,
};

export const PRINTER_COLUMNS: Readonly<Record<KindName, PrinterColumn[]>> = {
  IssuedCertificate: [
    STATE,
    {
      name: 'Rotation',
      type: 'string',
      jsonPath: '.status.observedRotationState',
      description: 'rotation step the agent applied',
    },
    OBSERVED,
    AGE,
  ],
  CertificateRequest: [STATE, OBSERVED, AGE],
  CertificateRotation: [
    { name: 'VirtualMesh', type: 'string', jsonPath: '.spec.virtualMesh.name' },
    STATE,
    { name: 'Step', type: 'string', jsonPath: '.status.rotationState', description: 'current rotation step' },
    OBSERVED,
    AGE,
  ],
  PodBounceDirective: [AGE],
  VirtualMeshCertificateSigningRequest: [
    { name: 'Approval', type: 'string', jsonPath: '.status.thirdPartyApproval.approvalStatus' },
    { name: 'State', type: 'string', jsonPath: '.status.computedStatus.state' },
    AGE,
  ],
};

export function crdFor(info: KindInfo): Record<string, unknown> {
  const schemas = KIND_SCHEMAS[info.kind];
  const root: StructuralSchema = {
    type: 'object',
    description: String((schemas.object as unknown as Record<string, unknown>).description ?? ''),
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: toStructural(schemas.spec as unknown as Record<string, unknown>),
      status: toStructural(schemas.status as unknown as Record<string, unknown>),
    },
  };
  const rules = rootCelRules(info.kind).map(stripPurpose);
  if (rules.length > 0) root['x-kubernetes-validations'] = rules;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${info.group}`, labels: { 'app.kubernetes.io/part-of': 'mesh-cert' } },
    spec: {
      group: info.group,
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
        categories: [...CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: info.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: root },
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS[info.kind],
        },
      ],
    },
  };
}

export function allCrds(): { info: KindInfo; crd: Record<string, unknown> }[] {
  return KINDS.map((info) => ({ info, crd: crdFor(info) }));
}
