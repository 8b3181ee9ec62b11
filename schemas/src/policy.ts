// Values the protos allow but mesh-cert advises against, as data. They earn a warning, never a
// denial: Gloo Mesh's controllers copy them from a VirtualMesh as they are, and a denied write of
// theirs is retried for ever. The plugin, issuing, refuses with a FAILED status what it cannot do
// safely; admission only says what it sees.
import { pathOf, renderValue } from './field-error.js';
import { getPath, isObject } from './object-path.js';
import type { KindName } from './registry.js';

export interface PolicyRule {
  kind: KindName;
  path: readonly string[];
  /** A number below this earns the warning. */
  min?: number;
  /** A number above this earns the warning. */
  max?: number;
  /** A string of more characters than this earns the warning. */
  maxChars?: number;
  /** 0 is the proto's "unset": the default applies, so it never earns the warning. */
  zeroIsDefault?: boolean;
  why: string;
}

const CERT_OPTIONS = ['spec', 'certOptions'] as const;
const ORG_WHY =
  'the X.509 upper bound for an organizationName (RFC 5280); OpenSSL-based tools refuse to build such a name';

export const POLICY: readonly PolicyRule[] = [
  {
    kind: 'IssuedCertificate',
    path: [...CERT_OPTIONS, 'rsaKeySizeBytes'],
    min: 2048,
    zeroIsDefault: true,
    why: "RSA keys below 2048 bits are too weak (NIST SP 800-131A); mesh-cert's agent will not generate one",
  },
  {
    kind: 'IssuedCertificate',
    path: [...CERT_OPTIONS, 'ttlDays'],
    max: 36500,
    why: 'a validity of more than 100 years outlives any rotation plan',
  },
  {
    kind: 'IssuedCertificate',
    path: [...CERT_OPTIONS, 'secretRotationGracePeriodRatio'],
    min: 0,
    max: 1,
    why: 'it is the fraction of the validity left when the certificate is renewed (0.10 by default)',
  },
  { kind: 'IssuedCertificate', path: [...CERT_OPTIONS, 'orgName'], maxChars: 64, why: ORG_WHY },
  { kind: 'IssuedCertificate', path: ['spec', 'org'], maxChars: 64, why: ORG_WHY },
  { kind: 'VirtualMeshCertificateSigningRequest', path: ['spec', 'certConfig', 'org'], maxChars: 64, why: ORG_WHY },
];

/** A rule with every bound present: one object shape, so the per-review loop stays monomorphic. */
interface Compiled {
  rule: PolicyRule;
  leaf: string;
  min: number;
  max: number;
  maxChars: number;
  zeroIsDefault: boolean;
}

/** Rules under one parent object (spec.certOptions holds four): the parent is read once per review. */
interface Group {
  parent: readonly string[];
  rules: Compiled[];
}

// Read on every spec write: grouped by kind and parent once.
const BY_KIND = new Map<string, Group[]>();
for (const rule of POLICY) {
  const parent = rule.path.slice(0, -1);
  const c: Compiled = {
    rule,
    leaf: rule.path[rule.path.length - 1]!,
    min: rule.min ?? -Infinity,
    max: rule.max ?? Infinity,
    maxChars: rule.maxChars ?? Infinity,
    zeroIsDefault: rule.zeroIsDefault ?? false,
  };
  const groups = BY_KIND.get(rule.kind) ?? [];
  const group = groups.find((g) => g.parent.join('.') === parent.join('.'));
  if (group) group.rules.push(c);
  else groups.push({ parent, rules: [c] });
  BY_KIND.set(rule.kind, groups);
}

const NONE: readonly string[] = Object.freeze([]);

/** Why the value breaks the rule, or undefined. Characters are code points, as the apiserver counts. */
function breach(c: Compiled, v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (v < c.min && !(c.zeroIsDefault && v === 0)) return `is below ${c.min}`;
    if (v > c.max) return `is above ${c.max}`;
    return undefined;
  }
  // .length counts UTF-16 units, never fewer than the characters: count those only when it may matter.
  if (typeof v === 'string' && v.length > c.maxChars) {
    const chars = [...v].length;
    if (chars > c.maxChars) return `has ${chars} characters, more than ${c.maxChars}`;
  }
  return undefined;
}

/** One warning per out-of-policy value of a `kind` object; the schema has judged the types already. */
export function policyWarnings(kind: string, obj: unknown): readonly string[] {
  const groups = BY_KIND.get(kind);
  if (!groups) return NONE;
  let out: string[] | undefined;
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    const parent = getPath(obj, group.parent);
    if (!isObject(parent)) continue;
    for (let i = 0; i < group.rules.length; i++) {
      const c = group.rules[i]!;
      const v = parent[c.leaf];
      const why = v === undefined ? undefined : breach(c, v);
      if (why)
        (out ??= []).push(
          `${pathOf(c.rule.path)}: ${typeof v === 'string' ? 'the value' : renderValue(v)} ${why}: ${c.rule.why}; admitted all the same`,
        );
    }
  }
  return out ?? NONE;
}
