// Defaulting and validation of the built-in kinds, the parts of their strategies that clients
// observe: names, Secret data, Namespace status, Pod status, CRD status, webhook defaults.
import { ApiError, type FieldProblem } from './errors.js';
import type { Json } from './patch.js';
import type { ResourceType } from './resources.js';
import type { KObject } from './store.js';
import { now } from './names.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const B64_ALPHABET = /[A-Za-z0-9+/]/;

/**
 * Where Go's base64.StdEncoding.Decode gives up on a string (its CorruptInputError offset), or
 * undefined when it decodes: the first character outside the alphabet, a bad padding, or the start
 * of an incomplete last quantum. Line breaks are skipped, as Go skips them.
 */
export function base64ErrorOffset(s: string): number | undefined {
  let quantumStart = 0;
  let inQuantum = 0;
  let padSeen = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\n' || c === '\r') continue;
    if (padSeen >= 0) {
      if (c !== '=') return i;
      continue;
    }
    if (c === '=') {
      if (inQuantum < 2) return i;
      padSeen = i;
      continue;
    }
    if (!B64_ALPHABET.test(c)) return i;
    if (inQuantum === 0) quantumStart = i;
    inQuantum = (inQuantum + 1) % 4;
  }
  if (padSeen >= 0) {
    const pads = s.slice(padSeen).replace(/[\r\n]/g, '').length;
    if ((inQuantum === 2 && pads !== 2) || (inQuantum === 3 && pads !== 1)) return s.length;
    return undefined;
  }
  return inQuantum === 0 ? undefined : quantumStart;
}

const is = (r: ResourceType, group: string, plural: string): boolean => r.group === group && r.plural === plural;
type Obj = Record<string, unknown>;

export function defaultBuiltin(r: ResourceType, o: KObject, old: KObject | undefined): void {
  if (r.crd) return;
  if (is(r, '', 'namespaces')) {
    o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name! };
    if (!old) {
      // PrepareForCreate: the kubernetes finalizer always, phase Active
      const fins = ((o.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).filter(
        (f) => f !== 'kubernetes',
      );
      o.spec = { ...((o.spec ?? {}) as object), finalizers: [...fins, 'kubernetes'] } as Json;
      o.status = { phase: 'Active' };
    } else {
      // PrepareForUpdate: spec (finalizers) and status are kept from the stored object
      o.spec = old.spec;
      o.status = old.status;
    }
  } else if (is(r, '', 'secrets')) {
    if (!o.type) o.type = 'Opaque';
    if (o.stringData && typeof o.stringData === 'object') {
      const data = { ...((o.data ?? {}) as Record<string, string>) };
      for (const [k, v] of Object.entries(o.stringData as Record<string, string>))
        data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      o.data = data;
      delete o.stringData;
    }
    for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, unknown>)) {
      const at = typeof v === 'string' ? base64ErrorOffset(v) : 0;
      if (at !== undefined)
        throw new ApiError(
          400,
          'BadRequest',
          `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`,
        );
      void k;
    }
  } else if (is(r, '', 'pods')) {
    if (!old) o.status = { phase: 'Pending', qosClass: 'BestEffort' };
  } else if (is(r, 'apiextensions.k8s.io', 'customresourcedefinitions')) {
    const spec = (o.spec ?? {}) as { names?: Json; versions?: Array<{ name: string; storage?: boolean }> };
    const prev = (old?.status ?? {}) as { conditions?: Array<{ type: string; lastTransitionTime: string }> };
    const since = (t: string): string => prev.conditions?.find((c) => c.type === t)?.lastTransitionTime ?? now();
    o.status = {
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          lastTransitionTime: since('NamesAccepted'),
          reason: 'NoConflicts',
          message: 'no conflicts found',
        },
        {
          type: 'Established',
          status: 'True',
          lastTransitionTime: since('Established'),
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
        },
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

/** validation.IsConfigMapKey */
function configMapKeyErrors(k: string): string[] {
  const errs: string[] = [];
  if (Buffer.byteLength(k) > 253) errs.push('must be no more than 253 characters');
  if (!SECRET_KEY.test(k))
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  if (k === '.') errs.push("must not be '.'");
  else if (k === '..') errs.push("must not be '..'");
  else if (k.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** `immutable: true` ConfigMaps and Secrets: the flag and the data stay. */
function immutability(o: KObject, old: KObject, bags: string[], out: FieldProblem[]): void {
  if (old.immutable !== true) return;
  if (o.immutable !== true)
    out.push({ type: 'Forbidden', field: 'immutable', detail: 'field is immutable when `immutable` is set' });
  for (const b of bags)
    if (JSON.stringify(o[b] ?? null) !== JSON.stringify(old[b] ?? null))
      out.push({ type: 'Forbidden', field: b, detail: 'field is immutable when `immutable` is set' });
}

export function validateBuiltin(r: ResourceType, o: KObject, old: KObject | undefined): FieldProblem[] {
  // metadata is validated by meta.ts; these are the kinds' own rules
  const out: FieldProblem[] = [];
  if (r.crd) return out;
  if (is(r, '', 'secrets')) {
    // ValidateSecretUpdate, then ValidateSecret
    if (old) {
      if (old.type !== o.type)
        out.push({ type: 'Invalid', field: 'type', value: o.type, detail: 'field is immutable' });
      immutability(o, old, ['data'], out);
    }
    const data = (o.data ?? {}) as Record<string, string>;
    for (const k of Object.keys(data))
      for (const m of configMapKeyErrors(k)) out.push({ type: 'Invalid', field: `data[${k}]`, value: k, detail: m });
    const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(data, k);
    const required = (f: string): void => {
      out.push({ type: 'Required', field: f });
    };
    switch (o.type) {
      case 'kubernetes.io/service-account-token':
        if (!o.metadata.annotations?.['kubernetes.io/service-account.name'])
          required('metadata.annotations[kubernetes.io/service-account.name]');
        break;
      case 'kubernetes.io/dockercfg':
        if (!has('.dockercfg')) required('data[.dockercfg]');
        break;
      case 'kubernetes.io/dockerconfigjson':
        if (!has('.dockerconfigjson')) required('data[.dockerconfigjson]');
        break;
      case 'kubernetes.io/basic-auth':
        if (!has('username') && !has('password')) {
          required('data[username]');
          required('data[password]');
        }
        break;
      case 'kubernetes.io/ssh-auth':
        if (!data['ssh-privatekey']) required('data[ssh-privatekey]');
        break;
      case 'kubernetes.io/tls':
        if (!has('tls.crt')) required('data[tls.crt]');
        if (!has('tls.key')) required('data[tls.key]');
        break;
      default:
        break;
    }
  } else if (is(r, '', 'configmaps')) {
    if (old) immutability(o, old, ['data', 'binaryData'], out);
    for (const bag of ['data', 'binaryData']) {
      for (const k of Object.keys((o[bag] ?? {}) as object))
        for (const m of configMapKeyErrors(k))
          out.push({ type: 'Invalid', field: `${bag}[${k}]`, value: k, detail: m });
    }
  } else if (is(r, 'apiextensions.k8s.io', 'customresourcedefinitions')) {
    const spec = (o.spec ?? {}) as {
      group?: string;
      names?: { plural?: string; kind?: string };
      scope?: string;
      versions?: Array<{ name?: string; storage?: boolean; served?: boolean; schema?: unknown }>;
    };
    if (!spec.group) out.push({ type: 'Required', field: 'spec.group' });
    if (!spec.names?.plural) out.push({ type: 'Required', field: 'spec.names.plural' });
    if (!spec.names?.kind) out.push({ type: 'Required', field: 'spec.names.kind' });
    if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
      out.push({
        type: 'Unsupported',
        field: 'spec.scope',
        value: spec.scope ?? '',
        detail: 'supported values: "Cluster", "Namespaced"',
      });
    if (spec.group && spec.names?.plural && o.metadata.name !== `${spec.names.plural}.${spec.group}`) {
      out.push({
        type: 'Invalid',
        field: 'metadata.name',
        value: o.metadata.name,
        detail: `must be spec.names.plural+"."+spec.group`,
      });
    }
    const versions = spec.versions ?? [];
    if (!versions.length)
      out.push({
        type: 'Invalid',
        field: 'spec.versions',
        value: versions,
        detail: 'must have exactly one version marked as storage version',
      });
    else if (versions.filter((v) => v.storage).length !== 1)
      out.push({
        type: 'Invalid',
        field: 'spec.versions',
        value: versions,
        detail: 'must have exactly one version marked as storage version',
      });
    versions.forEach((v, i) => {
      if (!v.schema)
        out.push({ type: 'Required', field: `spec.versions[${i}].schema`, detail: 'schemas are required' });
    });
    if (old) {
      const oldSpec = old.spec as { group?: string; scope?: string };
      if (oldSpec.group !== spec.group)
        out.push({ type: 'Invalid', field: 'spec.group', value: spec.group, detail: 'field is immutable' });
    }
  } else if (r.group === 'admissionregistration.k8s.io') {
    ((o.webhooks ?? []) as Obj[]).forEach((w, i) => {
      const p = `webhooks[${i}]`;
      if (!w.name) out.push({ type: 'Required', field: `${p}.name` });
      else if (!DNS1123_SUBDOMAIN.test(String(w.name)) || String(w.name).split('.').length < 3)
        out.push({
          type: 'Invalid',
          field: `${p}.name`,
          value: w.name,
          detail: 'should be a domain with at least three segments separated by dots',
        });
      const cc = (w.clientConfig ?? {}) as Obj;
      if (!cc.url && !cc.service)
        out.push({ type: 'Required', field: `${p}.clientConfig`, detail: 'exactly one of url or service is required' });
      if (typeof cc.url === 'string' && !cc.url.startsWith('https://')) {
        const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(cc.url)?.[1] ?? '';
        out.push({
          type: 'Invalid',
          field: `${p}.clientConfig.url`,
          value: scheme,
          detail: "'https' is the only allowed URL scheme; desired format: https://host[/path]",
        });
      }
      if (!['None', 'NoneOnDryRun'].includes(String(w.sideEffects)))
        out.push(
          w.sideEffects
            ? {
                type: 'Unsupported',
                field: `${p}.sideEffects`,
                value: w.sideEffects,
                detail: 'supported values: "None", "NoneOnDryRun"',
              }
            : { type: 'Required', field: `${p}.sideEffects`, detail: 'must specify one of None, NoneOnDryRun' },
        );
      if (!Array.isArray(w.admissionReviewVersions) || !w.admissionReviewVersions.length)
        out.push({
          type: 'Required',
          field: `${p}.admissionReviewVersions`,
          detail: 'must specify one of v1, v1beta1',
        });
      else if (!(w.admissionReviewVersions as string[]).includes('v1'))
        out.push({
          type: 'Invalid',
          field: `${p}.admissionReviewVersions`,
          value: w.admissionReviewVersions,
          detail: 'must include at least one of v1, v1beta1 (the sandbox speaks v1 only)',
        });
      const t = w.timeoutSeconds as number;
      if (t !== undefined && (t < 1 || t > 30))
        out.push({
          type: 'Invalid',
          field: `${p}.timeoutSeconds`,
          value: t,
          detail: 'the timeout value must be between 1 and 30 seconds',
        });
    });
  }
  return out;
}
