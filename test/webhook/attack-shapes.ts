// Hostile AdmissionReviews, as text: what an attacker who can reach the webhook would send to
// make one review cost the most (the amplification shapes of issue 16). Shared by the attack
// suite, the fuzz test and bench/webhook-attack.ts; and a flood of connections that never speak.
import { connect as netConnect, type Socket } from 'node:net';
import { issuedCertificate } from './fixtures.js';
import { review } from './helpers.js';

export interface Shape {
  name: string;
  /** The review as JSON text, and the uid it carries. */
  body: string;
  uid: string;
  /** What the webhook must do: judge it (allowed or denied), or turn it away unjudged (413). */
  expect: 'allowed' | 'denied' | 'unjudged';
}

type Obj = Record<string, any>;

function withObject(
  _name: string,
  uid: string,
  edit: (o: Obj, request: Obj) => void,
  op: 'CREATE' | 'UPDATE' = 'CREATE',
): string {
  const o = issuedCertificate('cluster-1') as Obj;
  const r = review('IssuedCertificate', op, o, op === 'UPDATE' ? issuedCertificate('cluster-1') : undefined, { uid });
  edit(o, r.request);
  return JSON.stringify(r);
}

/** `"u0":1,"u1":1,...` spliced into spec, as text: building 240,000 keys in an object is slow. */
function manyFields(body: string, n: number, value = '1'): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"u${i}":${value}`);
  return body.replace('"spec":{', `"spec":{${parts.join(',')},`);
}

/**
 * The shapes (or those named in `only`). `scale` 1 gives the sizes of the issue (2.8 MB of
 * 240,000 unknown fields, 3 MiB strings) and the `expect` of each; less makes them smaller, for
 * the fuzz test's many (their `expect` then no longer holds: a smaller shape may fit the limits).
 */
export function attackShapes(tag: string, scale = 1, only?: readonly string[]): Shape[] {
  const n = (x: number): number => Math.max(1, Math.round(x * scale));
  const shapes: Shape[] = [];
  const add = (name: string, expect: Shape['expect'], make: (uid: string) => string): void => {
    if (only && !only.includes(name)) return;
    const uid = `${tag}-${name}`;
    shapes.push({ name, body: make(uid), uid, expect });
  };
  // 240,000 unknown fields in one object (2.8 MB at scale 1): turned away by the field count
  add('unknown-fields', 'unjudged', (uid) =>
    manyFields(
      withObject('x', uid, () => undefined),
      n(240_000),
    ),
  );
  // just under the field limit, each field a long string: judged, denied with 20 causes and a count
  add('unknown-fields-under-limit', 'denied', (uid) =>
    manyFields(
      withObject('x', uid, () => undefined),
      Math.min(1000, n(1000)),
      JSON.stringify('v'.repeat(n(2000))),
    ),
  );
  // unknown fields spread over many small objects: each object under the field limit
  add('many-small-objects', 'unjudged', (uid) =>
    withObject('x', uid, (o) => {
      o.spec.hosts = Array.from({ length: n(60_000) }, (_, i) => ({ a: i, b: 'x' }));
    }),
  );
  add('many-small-objects-under-limit', 'denied', (uid) =>
    withObject('x', uid, (o) => {
      o.spec.hosts = Array.from({ length: Math.min(30_000, n(30_000)) }, (_, i) => ({ a: i }));
    }),
  );
  // a list of a million numbers (past the value count), and one just under it
  add('huge-array', 'unjudged', (uid) =>
    withObject('x', uid, (o) => (o.spec.hosts = Array.from({ length: n(1_000_000) }, () => 0))),
  );
  add('huge-array-under-limit', 'denied', (uid) =>
    withObject('x', uid, (o) => (o.spec.hosts = Array.from({ length: Math.min(95_000, n(95_000)) }, (_, i) => i))),
  );
  // long strings where they are echoed: a deprecated field the patch would copy, the name, a key
  add('long-org', 'allowed', (uid) => withObject('x', uid, (o) => (o.spec.org = 'o'.repeat(n(3_000_000)))));
  add('long-name', 'denied', (uid) => withObject('x', uid, (o) => (o.metadata.name = 'n'.repeat(n(3_000_000)))));
  add('long-request-name', 'denied', (uid) =>
    withObject('x', uid, (o, r) => {
      o.metadata.name = 'N'.repeat(n(1_500_000));
      r.name = o.metadata.name;
    }),
  );
  add('long-key', 'denied', (uid) => withObject('x', uid, (o) => (o.spec['k'.repeat(n(3_000_000))] = 1)));
  add('long-kind', 'denied', (uid) =>
    withObject(
      'x',
      uid,
      (_o, r) =>
        (r.kind = {
          group: 'g'.repeat(n(1_000_000)),
          version: 'v'.repeat(n(1_000_000)),
          kind: 'K'.repeat(n(1_000_000)),
        }),
    ),
  );
  add('long-enum', 'denied', (uid) => withObject('x', uid, (o) => (o.status = { state: 'S'.repeat(n(3_000_000)) })));
  // deep nesting: past the 100 levels outside managedFields, and 8000 inside it (admitted)
  add('deep-spec', 'denied', (uid) =>
    withObject('x', uid, () => undefined).replace(
      '"spec":{',
      `"spec":{"deep":${'['.repeat(n(90_000))}1${']'.repeat(n(90_000))},`,
    ),
  );
  add('deep-managed-fields', 'allowed', (uid) =>
    withObject('x', uid, (o) => {
      o.metadata.managedFields = [
        { manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: 'DEEP' },
      ];
    }).replace('"DEEP"', `${'{"f:x":'.repeat(Math.min(8000, n(8000)))}{}${'}'.repeat(Math.min(8000, n(8000)))}`),
  );
  // many values of the wrong type, each an error
  add('many-type-errors', 'denied', (uid) =>
    withObject('x', uid, (o) => (o.spec.hosts = Array.from({ length: n(9_000) }, (_, i) => i))),
  );
  // a large object that is valid: judged in full and admitted (no limit may deny a real object)
  add('large-valid', 'allowed', (uid) =>
    withObject(
      'x',
      uid,
      (o) =>
        (o.spec.hosts = Array.from({ length: n(40_000) }, (_, i) => `spiffe://cluster-1/ns/ns-${i}/sa/workload-${i}`)),
    ),
  );
  return shapes;
}

/** `n` bare TCP connections to the server at `url` that never send a byte (a refused one resolves too). */
export function silentConnections(url: string, n: number): Promise<Socket[]> {
  const u = new URL(url);
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve) => {
          const s = netConnect(Number(u.port), u.hostname, () => resolve(s));
          s.on('error', () => resolve(s));
        }),
    ),
  );
}
