// Defaulting and validation of the built-in kinds, the parts of their strategies that clients
// observe: names, Secret data, Namespace status, Pod status, CRD status, webhook defaults.
import { ApiError, type FieldProblem } from './errors.js';
import type { Json } from './patch.js';
import type { ResourceType } from './resources.js';
import type { KObject } from './store.js';
import { now } from './names.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const is = (r: ResourceType, group: string, plural: string): boolean => r.group === group && r.plural === plural;
type Obj = Record<string, unknown>;

export function defaultBuiltin(r: ResourceType, o: KObject, old: KObject | undefined): void {
  if (r.crd) return;
  if (is(r, '', 'namespaces')) {
    o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name! };
    o.spec ??= { finalizers: ['kubernetes'] };
    o.status = { phase: 'Active' };
  } else if (is(r, '', 'secrets')) {
    if (!o.type) o.type = 'Opaque';
    if (o.stringData && typeof o.stringData === 'object') {
      const data = { ...((o.data ?? {}) as Record<string, string>) };
      for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      o.data = data;
      delete o.stringData;
    }
    for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, unknown>)) {
      if (typeof v !== 'string' || !BASE64.test(v)) throw new ApiError(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (data[${k}])`);
    }
  } else if (is(r, '', 'pods')) {
    if (!old) o.status = { phase: 'Pending', qosClass: 'BestEffort' };
  } else if (is(r, 'apiextensions.k8s.io', 'customresourcedefinitions')) {
    const spec = (o.spec ?? {}) as { names?: Json; versions?: Array<{ name: string; storage?: boolean }> };
    const prev = (old?.status ?? {}) as { conditions?: Array<{ type: string; lastTransitionTime: string }> };
    const since = (t: string): string => prev.conditions?.find((c) => c.type === t)?.lastTransitionTime ?? now();
    o.status = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', lastTransitionTime: since('NamesAccepted'), reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', lastTransitionTime: since('Established'), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      acceptedNames: spec.names ?? {},
      storedVersions: (spec.versions ?? []).filter((v) => v.storage).map((v) => v.name),
    } as Json;
  } else if (r.group === 'admissionregistration.k8s.io') {
    const mutating = r.plural === 'mutatingwebhookconfigurations';
    for (const w of (o.webhooks ?? []) as Obj[]) {
      w.failurePolicy ??= 'Fail';
      w.matchPolicy ??= 'Equivalent';
      w.namespaceSelector ??= {};
      w.objectSelector ??= {};
      w.timeoutSeconds ??= 10;
      if (mutating) w.reinvocationPolicy ??= 'Never';
      for (const rule of (w.rules ?? []) as Obj[]) rule.scope ??= '*';
    }
  }
}

function checkName(r: ResourceType, o: KObject, out: FieldProblem[]): void {
  const name = o.metadata.name ?? '';
  const label = is(r, '', 'namespaces');
  const re = label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  if (!re.test(name) || name.length > (label ? 63 : 253)) {
    out.push({
      type: 'Invalid', field: 'metadata.name', value: name,
      detail: label
        ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    });
  }
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
      out.push({ type: 'Invalid', field: `metadata.labels`, value: v, detail: "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')" });
    }
    void k;
  }
}

export function validateBuiltin(r: ResourceType, o: KObject, old: KObject | undefined): FieldProblem[] {
  const out: FieldProblem[] = [];
  checkName(r, o, out);
  if (old && old.metadata.uid && o.metadata.uid !== old.metadata.uid) out.push({ type: 'Invalid', field: 'metadata.uid', value: o.metadata.uid, detail: 'field is immutable' });
  if (r.crd) return out;
  if (is(r, '', 'secrets')) {
    for (const k of Object.keys((o.data ?? {}) as object)) {
      if (!SECRET_KEY.test(k)) out.push({ type: 'Invalid', field: `data[${k}]`, value: k, detail: "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')" });
    }
    if (old && old.type !== o.type) out.push({ type: 'Invalid', field: 'type', value: o.type, detail: 'field is immutable' });
    if (old?.immutable === true && JSON.stringify(old.data) !== JSON.stringify(o.data)) out.push({ type: 'Forbidden', field: 'data', detail: 'field is immutable when `immutable` is set' });
  } else if (is(r, '', 'configmaps')) {
    for (const k of Object.keys((o.data ?? {}) as object)) {
      if (!SECRET_KEY.test(k)) out.push({ type: 'Invalid', field: `data[${k}]`, value: k, detail: "a valid config key must consist of alphanumeric characters, '-', '_' or '.'" });
    }
  } else if (is(r, 'apiextensions.k8s.io', 'customresourcedefinitions')) {
    const spec = (o.spec ?? {}) as { group?: string; names?: { plural?: string; kind?: string }; scope?: string; versions?: Array<{ name?: string; storage?: boolean; served?: boolean; schema?: unknown }> };
    if (!spec.group) out.push({ type: 'Required', field: 'spec.group' });
    if (!spec.names?.plural) out.push({ type: 'Required', field: 'spec.names.plural' });
    if (!spec.names?.kind) out.push({ type: 'Required', field: 'spec.names.kind' });
    if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') out.push({ type: 'Unsupported', field: 'spec.scope', value: spec.scope ?? '', detail: 'supported values: "Cluster", "Namespaced"' });
    if (spec.group && spec.names?.plural && o.metadata.name !== `${spec.names.plural}.${spec.group}`) {
      out.push({ type: 'Invalid', field: 'metadata.name', value: o.metadata.name, detail: `must be spec.names.plural+"."+spec.group` });
    }
    const versions = spec.versions ?? [];
    if (!versions.length) out.push({ type: 'Invalid', field: 'spec.versions', value: versions, detail: 'must have exactly one version marked as storage version' });
    else if (versions.filter((v) => v.storage).length !== 1) out.push({ type: 'Invalid', field: 'spec.versions', value: versions, detail: 'must have exactly one version marked as storage version' });
    versions.forEach((v, i) => { if (!v.schema) out.push({ type: 'Required', field: `spec.versions[${i}].schema`, detail: 'schemas are required' }); });
    if (old) {
      const oldSpec = old.spec as { group?: string; scope?: string };
      if (oldSpec.group !== spec.group) out.push({ type: 'Invalid', field: 'spec.group', value: spec.group, detail: 'field is immutable' });
    }
  } else if (r.group === 'admissionregistration.k8s.io') {
    ((o.webhooks ?? []) as Obj[]).forEach((w, i) => {
      const p = `webhooks[${i}]`;
      if (!w.name) out.push({ type: 'Required', field: `${p}.name` });
      else if (!DNS1123_SUBDOMAIN.test(String(w.name)) || String(w.name).split('.').length < 3) out.push({ type: 'Invalid', field: `${p}.name`, value: w.name, detail: 'should be a domain with at least three segments separated by dots' });
      const cc = (w.clientConfig ?? {}) as Obj;
      if (!cc.url && !cc.service) out.push({ type: 'Required', field: `${p}.clientConfig`, detail: 'exactly one of url or service is required' });
      if (typeof cc.url === 'string' && !cc.url.startsWith('https://')) out.push({ type: 'Invalid', field: `${p}.clientConfig.url`, value: cc.url, detail: "'https' is the only allowed URL scheme" });
      if (!['None', 'NoneOnDryRun'].includes(String(w.sideEffects))) out.push(w.sideEffects ? { type: 'Unsupported', field: `${p}.sideEffects`, value: w.sideEffects, detail: 'supported values: "None", "NoneOnDryRun"' } : { type: 'Required', field: `${p}.sideEffects`, detail: 'must specify one of None, NoneOnDryRun' });
      if (!Array.isArray(w.admissionReviewVersions) || !w.admissionReviewVersions.length) out.push({ type: 'Required', field: `${p}.admissionReviewVersions`, detail: 'must specify one of v1, v1beta1' });
      else if (!(w.admissionReviewVersions as string[]).includes('v1')) out.push({ type: 'Invalid', field: `${p}.admissionReviewVersions`, value: w.admissionReviewVersions, detail: 'must include at least one of v1, v1beta1 (the sandbox speaks v1 only)' });
      const t = w.timeoutSeconds as number;
      if (t !== undefined && (t < 1 || t > 30)) out.push({ type: 'Invalid', field: `${p}.timeoutSeconds`, value: t, detail: 'the timeout value must be between 1 and 30 seconds' });
    });
  }
  return out;
}
