// One version everywhere (package.json's), and what `kubectl mesh-cert version` makes of a
// cluster's CRDs and of the webhook's /metrics.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { versionMismatches, versionSites } from '../../plugin/release/versions.mjs';
import {
  clientCrds,
  crdVersions,
  healthPort,
  parseBuildInfo,
  renderVersion,
  schemaDigest,
} from '../../plugin/src/report/version.js';
import type { KObject } from '../../plugin/src/lib/k8s.js';
import { REPO, run } from './helpers.js';

const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('versions', () => {
  it("package.json, the chart (version, appVersion) and the manifests' image tag agree", () => {
    expect(versionSites().map((s) => s.site)).toHaveLength(4);
    expect(versionMismatches()).toEqual([]);
  });

  it("the built plugin and webhook say package.json's version", () => {
    expect(run(join(REPO, 'plugin/bin/kubectl-mesh_cert'), ['version']).stdout).toBe(
      `Client: mesh-cert ${version} (node ${process.version}, ${process.platform}/${process.arch})\n`,
    );
    expect(
      JSON.parse(run(join(REPO, 'plugin/bin/kubectl-mesh_cert'), ['version', '-o', 'json', '--client']).stdout),
    ).toEqual({ client: { version, node: process.version, platform: `${process.platform}/${process.arch}` } });
    expect(run(join(REPO, 'webhook/bin/mesh-cert-webhook'), ['--version']).stdout).toBe(
      `mesh-cert-webhook ${version}\n`,
    );
  });
});

describe('version: the cluster side', () => {
  it('reads mesh_cert_webhook_build_info from a Prometheus exposition', () => {
    const text =
      '# HELP mesh_cert_webhook_build_info Always 1\n# TYPE mesh_cert_webhook_build_info gauge\nmesh_cert_webhook_build_info{version="1.2.3",node_version="v20.20.2"} 1\nother 2\n';
    expect(parseBuildInfo(text)).toEqual({ version: '1.2.3', node_version: 'v20.20.2' });
    expect(parseBuildInfo('mesh_cert_webhook_requests_total 3\n')).toBeUndefined();
    expect(parseBuildInfo('mesh_cert_webhook_build_info{version="a\\"b"} 1')).toEqual({ version: 'a"b' });
  });

  it('finds the health port by name', () => {
    const pod = {
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            ports: [
              { name: 'https', containerPort: 9443 },
              { name: 'health', containerPort: 9090 },
            ],
          },
        ],
      },
    } as unknown as KObject;
    expect(healthPort(pod)).toBe(9090);
    expect(healthPort({ metadata: { name: 'p' }, spec: { containers: [{}] } } as unknown as KObject)).toBe(8080);
  });

  it("compares a cluster's CRDs with the client's: identical, compatible, incompatible, missing", async () => {
    const mine = await clientCrds();
    expect(mine).toHaveLength(5);
    const [a, b, c] = mine;
    const described = structuredClone(b) as KObject & {
      spec: { versions: { schema: { openAPIV3Schema: { description?: string } } }[] };
    };
    described.spec.versions[0].schema.openAPIV3Schema.description = 'changed';
    const retyped = structuredClone(c) as KObject & {
      spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, { type?: string }> } } }[] };
    };
    retyped.spec.versions[0].schema.openAPIV3Schema.properties.spec.type = 'string';
    const rows = crdVersions([a, described, retyped], mine);
    expect(rows.map((r) => [r.name, r.match])).toEqual([
      [a.metadata.name, 'identical'],
      [b.metadata.name, 'compatible'],
      [c.metadata.name, 'incompatible'],
      [mine[3].metadata.name, 'missing'],
      [mine[4].metadata.name, 'missing'],
    ]);
    expect(rows[0]).toMatchObject({
      installed: true,
      owner: 'mesh-cert',
      schema: schemaDigest(a),
      clientSchema: schemaDigest(a),
    });
    expect(rows[1].schema).not.toBe(rows[1].clientSchema);
    expect(rows[2].detail).toContain('types fields otherwise');
    const text = renderVersion({
      client: { version: '1.0.0', node: 'v20.20.2', platform: 'linux/x64' },
      server: {
        context: 'c1',
        apiServer: 'v1.34.4',
        webhook: {
          namespace: 'ns',
          selector: 's',
          images: ['img:1'],
          pods: [
            { pod: 'w-1', version: '1.0.0' },
            { pod: 'w-2', error: 'HTTP 503' },
          ],
          versions: ['1.0.0'],
        },
        crds: rows,
      },
    });
    expect(text).toContain(
      'Client: mesh-cert 1.0.0 (node v20.20.2, linux/x64)\nContext: c1 (kube-apiserver v1.34.4)\nWebhook: 1.0.0 (1 of 2 pods answered; w-2: HTTP 503)\nCRDs:\n',
    );
    expect(text).toContain(`  ${a.metadata.name}: v1 schema ${schemaDigest(a)} (same schema as this client)\n`);
    expect(text).toContain(`  ${mine[3].metadata.name}: not installed`);
  });
});
