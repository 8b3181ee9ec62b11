// `npm run demo` end to end (after `npm run build`, as `npm test` runs it): the sandbox, the real
// webhook binary and kubectl (and the plugin when built) must carry the whole story.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

describe('npm run demo', () => {
  it('runs to the end: install, issuance, rotation, and the denials it shows', async () => {
    const r = await new Promise<{ code: number; out: string }>((res) => {
      execFile(join(REPO, 'node_modules/.bin/tsx'), ['test/demo/demo.ts'], { cwd: REPO, timeout: 150_000, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
        res({ code: err ? 1 : 0, out: `${stdout}${stderr}` });
      });
    });
    expect(r.code, r.out.slice(-3000)).toBe(0);
    expect(r.out).toContain('validatingwebhookconfiguration.admissionregistration.k8s.io/mesh-cert-webhook created');
    expect(r.out).toContain('Warning: spec.org is deprecated');
    expect(r.out).toMatch(/Warning: spec\.org is deprecated and differs from spec\.certOptions\.orgName \("other-org" vs "[^"]+"\): spec\.certOptions\.orgName is the one read/);
    expect(r.out).toContain('IssuedCertificate cannot move status.state from PENDING to FINISHED');
    expect(r.out).toContain('== Done');
  }, 180_000);
});
