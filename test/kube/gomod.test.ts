// The build modules' go.mod files come from the go.mod the module proxy serves for the pinned
// release, never from a hand-kept list: parse checks here, and a regeneration whose decisions
// must match the committed go.mod files (needs Go and the module proxy, or a warm module cache).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDirectives } from './generate.js';
import { apiserverGoMod, parseUpstreamGoMod } from './gomod.js';
import { cacheDirFor, KUBE_DIR, KUBE_RELEASE, majorMinor, stagingVersion } from './release.js';

const UPSTREAM = `module k8s.io/kubernetes

go 1.24.0

godebug default=go1.24

require (
	go.etcd.io/etcd/server/v3 v3.6.4 // indirect
	k8s.io/api v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
)
`;

describe('go.mod generation', () => {
  it('reads the staging replaces, go line, godebug and etcd version', () => {
    const u = parseUpstreamGoMod(UPSTREAM);
    expect(u.staging).toEqual(['k8s.io/api', 'k8s.io/client-go']);
    expect(u.goLine).toBe('go 1.24.0');
    expect(u.godebug).toEqual(['godebug default=go1.24']);
    expect(u.requires.get('go.etcd.io/etcd/server/v3')).toBe('v3.6.4');
    const mod = apiserverGoMod('v1.34.4', u, 'v0.34.4');
    expect(mod).toContain('\tk8s.io/client-go => k8s.io/client-go v0.34.4\n');
    expect(mod).toContain('require k8s.io/kubernetes v1.34.4\n');
  });

  it('refuses a local replace it cannot follow', () => {
    expect(() => parseUpstreamGoMod(`${UPSTREAM}replace example.com/x => ../x\n`)).toThrow(
      /local folder outside staging/,
    );
  });

  it('derives versions and the cache folder from release.json', () => {
    expect(stagingVersion('v1.34.4')).toBe('v0.34.4');
    expect(majorMinor('v1.34.4')).toEqual({ major: '1', minor: '34' });
    expect(cacheDirFor('v1.34.4', { XDG_CACHE_HOME: '/x' })).toBe('/x/mesh-cert/kube/v1.34.4');
    const committed = readFileSync(join(KUBE_DIR, 'apiserver', 'go.mod'), 'utf8');
    expect(committed).toMatch(new RegExp(`\\bk8s\\.io/kubernetes ${KUBE_RELEASE.replace(/\./g, '\\.')}\\b`));
  });

  // the full check (tidy, go.sum) is `npx tsx test/kube/generate.ts --check`: tidy downloads
  // ~500 MB of modules the build never needs, too much for every test run
  it('committed go.mod files hold what generate.ts derives from the served go.mod', async () => {
    expect(await checkDirectives()).toEqual([]);
  }, 180_000);
});
