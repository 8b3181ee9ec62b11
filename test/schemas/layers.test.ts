// The layers, as imports: schemas/ is the base (nothing above it), the plugin and the webhook each
// stand on it alone (neither reaches into the other, nor into test/), and bench/ reaches test/ only
// through bench/fixtures.ts. A file in the wrong layer breaks a build that ships one part alone
// (the webhook's image has no plugin/, the npm package no test/).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter(
      (e) =>
        e.isFile() &&
        /\.(ts|mjs)$/.test(e.name) &&
        !e.parentPath.includes('node_modules') &&
        !e.parentPath.includes('dist'),
    )
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every module a file imports (static, dynamic, re-export), as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)].map((m) => m[1]!);
}

/** The top-level folder an import lands in, from the file that imports it. */
function layerOf(file: string, spec: string): string | undefined {
  if (spec.startsWith('#schemas/')) return 'schemas';
  if (!spec.startsWith('.')) return undefined; // a package or node: builtin
  return relative(ROOT, join(ROOT, file, '..', spec)).split('/')[0];
}

const RULES: { layer: string; mayNotReach: string[]; except?: string[] }[] = [
  { layer: 'schemas', mayNotReach: ['plugin', 'webhook', 'test', 'bench'] },
  { layer: 'plugin', mayNotReach: ['webhook', 'test', 'bench'] },
  { layer: 'webhook', mayNotReach: ['plugin', 'test', 'bench'] },
  { layer: 'bench', mayNotReach: ['test'], except: ['bench/fixtures.ts'] },
];

describe('layers', () => {
  for (const rule of RULES) {
    it(`${rule.layer}/ imports nothing from ${rule.mayNotReach.join(', ')}${rule.except ? ` (but ${rule.except.join(', ')})` : ''}`, () => {
      const files = sources(rule.layer).filter((f) => !rule.except?.includes(f));
      expect(files.length).toBeGreaterThan(0);
      const wrong = files.flatMap((f) =>
        importsOf(f)
          .filter((spec) => rule.mayNotReach.includes(layerOf(f, spec) ?? ''))
          .map((spec) => `${f} imports ${spec}`),
      );
      expect(wrong).toEqual([]);
    });
  }

  it('sees a wrong import (the check can fail)', () => {
    expect(layerOf('webhook/src/kube-api.ts', '../../plugin/src/lib/lazy.js')).toBe('plugin');
    expect(layerOf('plugin/src/lib/k8s.ts', '#schemas/src/index.js')).toBe('schemas');
    expect(importsOf('bench/fixtures.ts').some((s) => layerOf('bench/fixtures.ts', s) === 'test')).toBe(true);
  });
});
