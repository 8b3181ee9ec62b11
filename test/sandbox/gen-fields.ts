// `npx tsx test/sandbox/gen-fields.ts [KUBECONFIG]` writes fields.json: the fields each built-in
// kind the sandbox serves declares (and ObjectMeta's, for every kind), read from the OpenAPI v3
// documents of the pinned kube-apiserver (test/kube; started here unless a kubeconfig with a
// context "gen" is given). The sandbox uses it for fieldValidation as kube-apiserver's strict
// decoding does: an undeclared field is refused (Strict), warned about and dropped (Warn, the
// default) or dropped (Ignore).
//
// Encoding: `types` maps an OpenAPI schema name to a node, `kinds` maps "group/version/Kind" to a
// schema name. A node is 0 (a scalar), 1 (anything: RawExtension, JSON), a schema name (string),
// {p: {field: node}} (an object with these fields), {m: node} (a map), {a: node} (a list).
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN, gvKey } from './resources.js';

type Schema = Record<string, any>;
type Node = 0 | 1 | string | { p: Record<string, Node> } | { m: Node } | { a: Node };

interface Conn {
  url: string;
  ca: string;
  cert: string;
  key: string;
}

function get(c: Conn, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${c.url}${path}`,
      { ca: c.ca, cert: c.cert, key: c.key, headers: { Accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const refName = (ref: string): string => ref.replace('#/components/schemas/', '');

export async function generate(c: Conn): Promise<{ types: Record<string, Node>; kinds: Record<string, string> }> {
  const gvs = [...new Set(BUILTIN.map((r) => gvKey(r.group, r.version)))];
  const schemas: Record<string, Schema> = {};
  for (const gv of gvs) {
    const doc = await get(c, `/openapi/v3/${gv === 'v1' ? 'api/v1' : `apis/${gv}`}`);
    Object.assign(schemas, doc.components?.schemas ?? {});
  }
  const kinds: Record<string, string> = {};
  for (const r of BUILTIN) {
    const name = Object.keys(schemas).find((n) =>
      (schemas[n]['x-kubernetes-group-version-kind'] ?? []).some(
        (g: any) => g.group === r.group && g.version === r.version && g.kind === r.kind,
      ),
    );
    if (!name) throw new Error(`no OpenAPI schema for ${r.group}/${r.version} ${r.kind}`);
    kinds[`${r.group}/${r.version}/${r.kind}`] = name;
  }
  kinds['meta/v1/ObjectMeta'] = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
  const types: Record<string, Node> = {};
  const node = (s: Schema): Node => {
    if (s.$ref) {
      visit(refName(s.$ref));
      return refName(s.$ref);
    }
    if (s.allOf?.length === 1) return node(s.allOf[0]);
    if (s['x-kubernetes-preserve-unknown-fields'] || s['x-kubernetes-int-or-string'])
      return s.properties ? { p: props(s) } : 1;
    if (s.properties) return { p: props(s) };
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      return { m: node(s.additionalProperties) };
    if (s.items) return { a: node(s.items) };
    if (s.type === 'object' || s.type === undefined) return 1;
    return 0;
  };
  const props = (s: Schema): Record<string, Node> =>
    Object.fromEntries(Object.entries(s.properties as Record<string, Schema>).map(([k, v]) => [k, node(v)]));
  const visit = (name: string): void => {
    if (name in types) return;
    const s = schemas[name];
    if (!s) throw new Error(`no schema ${name}`);
    types[name] = 0; // placeholder against cycles
    types[name] = node({ ...s, $ref: undefined });
  };
  for (const name of Object.values(kinds)) visit(name);
  return { types: Object.fromEntries(Object.entries(types).sort(([a], [b]) => a.localeCompare(b))), kinds };
}

async function main(): Promise<void> {
  const out = join(dirname(fileURLToPath(import.meta.url)), 'fields.json');
  const { startKube } = await import('../kube/index.js');
  const kube = await startKube({ clusters: ['gen'], crds: false, waitForControllers: false });
  try {
    const c = kube.clusters.get('gen')!;
    const data = await generate({ url: c.url, ca: c.caPem, cert: c.certPem, key: c.keyPem });
    writeFileSync(out, `${JSON.stringify({ release: kube.release, ...data })}\n`);
    process.stdout.write(
      `wrote ${out}: ${Object.keys(data.kinds).length} kinds, ${Object.keys(data.types).length} types\n`,
    );
  } finally {
    await kube.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void main();
