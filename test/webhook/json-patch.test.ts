// The self-check applier the mutating handler runs every patch through before sending it.
import { describe, expect, it } from 'vitest';
import { applyJsonPatch, PatchError } from '../../webhook/src/admission/json-patch.js';
import { kubectlApplyPatch } from './helpers.js';

describe('applyJsonPatch', () => {
  it('agrees with the apiserver (kubectl patch --local) on the ops the webhook emits', () => {
    const doc = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { 'a/b': '1', 'c~d': '2' } };
    const patch = [
      { op: 'add' as const, path: '/data/e', value: '3' },
      { op: 'replace' as const, path: '/data/a~1b', value: '9' },
      { op: 'remove' as const, path: '/data/c~0d' },
      { op: 'add' as const, path: '/metadata/labels', value: { app: 'x' } },
      { op: 'test' as const, path: '/data/e', value: '3' },
    ];
    expect(applyJsonPatch(structuredClone(doc), patch)).toEqual(kubectlApplyPatch(doc, patch));
  });

  it.each([
    ['add under a missing parent', [{ op: 'add' as const, path: '/spec/certOptions/orgName', value: 'x' }]],
    ['replace a missing field', [{ op: 'replace' as const, path: '/metadata/labels', value: {} }]],
    ['remove a missing field', [{ op: 'remove' as const, path: '/spec' }]],
    ['a failing test', [{ op: 'test' as const, path: '/metadata/name', value: 'y' }]],
    ['not a pointer', [{ op: 'add' as const, path: 'spec', value: 1 }]],
    ['an array index out of range', [{ op: 'replace' as const, path: '/list/5', value: 1 }]],
  ])('throws on %s, as the apiserver would fail the patch', (_name, patch) => {
    expect(() => applyJsonPatch({ metadata: { name: 'x' }, list: [1] }, patch)).toThrow(PatchError);
  });

  it('keeps a "__proto__" key a plain key', () => {
    const out = applyJsonPatch({ a: {} }, [{ op: 'add', path: '/a/__proto__', value: { polluted: true } }]) as {
      a: Record<string, unknown>;
    };
    expect(Object.keys(out.a)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.a)).toBe(Object.prototype);
  });
});
