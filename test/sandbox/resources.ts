// The resource types one sandbox cluster serves: the built-in kinds, plus one entry per served
// version of every CustomResourceDefinition stored in it.
import type { CompiledSchema } from './validation.js';

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Has the status subresource: main writes ignore status, status writes ignore everything else. */
  statusSubresource: boolean;
  /** metadata.generation is maintained (bumped by non-metadata, non-status changes). */
  generation: boolean;
  /** Which strategic-merge-patch list keys apply (built-in kinds only; custom resources refuse SMP). */
  strategicMerge: boolean;
  columns?: PrinterColumn[];
  schema?: CompiledSchema;
  /** name of the CRD that defines it */
  crd?: string;
  /** create-only and never stored: answered at once (SelfSubjectAccessReview) */
  review?: boolean;
}

export const gvKey = (group: string, version: string): string => (group ? `${group}/${version}` : version);
export const resKey = (r: { group: string; version: string; plural: string }): string =>
  `${gvKey(r.group, r.version)}/${r.plural}`;
/** Storage key: one per group+plural (all versions of a CRD share objects). */
export const storeKey = (r: { group: string; plural: string }): string => `${r.group}/${r.plural}`;

const core = (kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType => ({
  group: '',
  version: 'v1',
  kind,
  listKind: `${kind}List`,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  shortNames: [],
  categories: [],
  statusSubresource: false,
  generation: false,
  strategicMerge: true,
  ...extra,
});

export const BUILTIN: ResourceType[] = [
  core('Namespace', 'namespaces', false, { shortNames: ['ns'], statusSubresource: true }),
  core('Secret', 'secrets', true),
  core('ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  core('Pod', 'pods', true, { shortNames: ['po'], categories: ['all'], statusSubresource: true }),
  core('ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  core('Event', 'events', true, { shortNames: ['ev'] }),
  core('Service', 'services', true, { shortNames: ['svc'], categories: ['all'], statusSubresource: true }),
  // stored, not run: there are no controllers behind these (kubectl apply -k manifests/ works)
  {
    ...core('Deployment', 'deployments', true, {
      shortNames: ['deploy'],
      categories: ['all'],
      statusSubresource: true,
      generation: true,
    }),
    group: 'apps',
  },
  {
    ...core('PodDisruptionBudget', 'poddisruptionbudgets', true, {
      shortNames: ['pdb'],
      statusSubresource: true,
      generation: true,
    }),
    group: 'policy',
  },
  {
    ...core('NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'], generation: true }),
    group: 'networking.k8s.io',
  },
  ...(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'] as const).map((kind): ResourceType => ({
    ...core(kind, `${kind.toLowerCase()}s`, !kind.startsWith('Cluster')),
    group: 'rbac.authorization.k8s.io',
  })),
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    statusSubresource: true,
    generation: true,
    strategicMerge: false,
  },
  // every sandbox token is cluster-admin: `kubectl auth can-i` and preflight checks get "yes"
  {
    ...core('SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, { strategicMerge: false, review: true }),
    group: 'authorization.k8s.io',
  },
  ...(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'] as const).map((kind): ResourceType => ({
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    namespaced: false,
    shortNames: [],
    categories: ['api-extensions'],
    statusSubresource: false,
    generation: true,
    strategicMerge: true,
  })),
];

/** Merge keys of the lists in the built-in kinds that strategic merge patch merges by key. */
export const SMP_MERGE_KEYS: Record<string, string> = {
  'metadata.ownerReferences': 'uid',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.volumes': 'name',
  'spec.containers.env': 'name',
  'spec.containers.ports': 'containerPort',
  'spec.containers.volumeMounts': 'mountPath',
  'status.conditions': 'type',
  'status.containerStatuses': 'name',
  webhooks: 'name',
  secrets: 'name',
  imagePullSecrets: 'name',
};
/** Lists of scalars that strategic merge patch merges as sets. */
export const SMP_SET_LISTS = new Set(['metadata.finalizers', 'spec.finalizers']);
