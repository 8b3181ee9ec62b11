// The committed CRDs pass the real apiserver's admission of CRDs, CEL cost budget included: list,
// map and string bounds are set above anything a 3 MiB object holds (common.ts, WIRE_MAX), so the
// estimated cost of every rule must stay within the limits with those bounds. Judged by
// apiextensions-apiserver itself (crd-budget/main.go), at the version test/kube pins, built with
// the Go toolchain from the module cache (about 90 s the first time, a second after).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CRDS = join(REPO, 'manifests/crds');

function budget(files: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'go',
      ['run', `-modfile=${join(REPO, 'test/kube/apiserver/go.mod')}`, '.', ...files],
      {
        cwd: join(REPO, 'test/schemas/crd-budget'),
        env: { ...process.env, GOFLAGS: '-mod=readonly', GOTOOLCHAIN: 'local' },
        maxBuffer: 1 << 22,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

describe("CRDs against the apiserver's own CRD validation", () => {
  it(
    'admits every committed CRD: structural, every CEL rule compiles and fits the cost budget',
    { timeout: 600_000 },
    async () => {
      const files = readdirSync(CRDS)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(CRDS, f));
      expect(files.length).toBe(5);
      const r = await budget(files);
      expect(r.out).not.toMatch(/: [1-9]\d* errors/);
      expect(r.code, r.out).toBe(0);
      expect(r.out.match(/: 0 errors/g)).toHaveLength(files.length);
    },
  );

  it('is a real check: a rule over the unbounded lists is refused for its cost', { timeout: 600_000 }, async () => {
    // What a per-item rule over PodBounceDirective's lists would cost with 3 MiB bounds: this is
    // why such checks live in the webhook, not in CEL.
    const crd = parseYaml(
      readFileSync(join(CRDS, 'podbouncedirectives.certificates.mesh.gloo.solo.io.yaml'), 'utf8'),
    ) as {
      spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    };
    crd.spec.versions[0]!.schema.openAPIV3Schema['x-kubernetes-validations'] = [
      {
        rule: "!has(self.spec.podsToBounce) || self.spec.podsToBounce.all(p, !has(p.labels) || p.labels.all(k, p.labels[k].matches('^[a-z]*$')))",
        message: 'x',
      },
    ];
    const file = join(mkdtempSync(join(tmpdir(), 'mesh-cert-crd-budget-')), 'costly.yaml');
    writeFileSync(file, toYaml(crd));
    const r = await budget([file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('estimated rule cost exceeds budget');
  });
});
