// `npm run crds`: writes manifests/crds/*.yaml and schemas/json/*.json from schemas/src, and
// removes generated files that no longer have a source.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './src/generated-files.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const files = generatedFiles();
for (const dir of ['manifests/crds', 'schemas/json']) {
  mkdirSync(join(repo, dir), { recursive: true });
  for (const name of readdirSync(join(repo, dir))) {
    const rel = `${dir}/${name}`;
    if (!files.has(rel) && /\.(ya?ml|json)$/.test(name)) rmSync(join(repo, rel));
  }
}
for (const [rel, content] of files) writeFileSync(join(repo, rel), content);
console.log(`wrote ${files.size} files: ${[...files.keys()].join(', ')}`);
