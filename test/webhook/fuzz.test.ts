// Over 20,000 random and mutated reviews over keep-alive HTTPS: truncated bodies, wrong types,
// huge strings, deep nesting, broken base64, wrong uid types. The server must never crash nor
// answer 5xx, and must answer every parseable review with its uid. Seeded, so a failure repeats.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { staticRotationCache } from '../../webhook/src/rotationCache.js';
import { seededRandom } from '../sandbox/faults.js';
import { certificateRotation, everyKind, issuedCertificate } from './fixtures.js';
import { clone, genPki, review, startHarness, type Harness, type Pki } from './helpers.js';

const TOTAL = 20_000;
const CONCURRENCY = 16;
const LIMIT = 3 * 1024 * 1024;
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

const rnd = seededRandom(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

let h: Harness;
let pki: Pki;
let seeds: { request: Record<string, unknown> }[];

beforeAll(async () => {
  pki = genPki();
  h = await startHarness({ rotationCache: staticRotationCache([certificateRotation('active', 'virtual-mesh', { state: 'ROTATING' })]) });
  seeds = [];
  for (const k of everyKind(pki)) {
    seeds.push(review(k.kind, 'CREATE', k.object));
    seeds.push(review(k.kind, 'UPDATE', k.statusNew, k.statusOld, { subResource: 'status' }));
    seeds.push(review(k.kind, 'UPDATE', k.statusNew, k.statusOld));
    seeds.push(review(k.kind, 'DELETE', undefined, k.object));
  }
  seeds.push(review('IssuedCertificate', 'CREATE', issuedCertificate('x', { org: 'acme', signingCertificateSecret: { name: 'root' } })));
  seeds.push(review('CertificateRotation', 'CREATE', certificateRotation('second', 'virtual-mesh')));
});
afterAll(async () => h?.close());

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const DEEP = '\u0000DEEP\u0000';

function wrongValue(): unknown {
  return pick<() => unknown>([
    () => int(1e9) - 5e8,
    () => rnd() * 1e300,
    () => null,
    () => true,
    () => [],
    () => ({}),
    () => [1, 'a', null],
    () => ({ a: { b: { c: 1 } } }),
    () => '',
    () => 'x'.repeat(int(64)),
    () => '\u0000\ud800\uffff',
    () => '__proto__',
    () => ({ __proto__: { polluted: true } }),
    () => 'x'.repeat(10_000 + int(200_000)),
    () => DEEP,
    () => '!!!not base64###',
    () => Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64'),
    () => 'PENDING',
    () => 'FINISHED',
  ])();
}

/** Every container on the way down, so a mutation can land anywhere in the review. */
function containers(root: unknown): (Record<string, unknown> | unknown[])[] {
  const out: (Record<string, unknown> | unknown[])[] = [];
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    out.push(v as Record<string, unknown>);
    for (const c of Object.values(v)) walk(c);
  };
  walk(root);
  return out;
}

function mutate(doc: Record<string, unknown>): void {
  const c = pick(containers(doc));
  // earlier mutations may have replaced the request itself
  const req = isRecord(doc.request) ? doc.request : {};
  const keys = Object.keys(c);
  switch (int(9)) {
    case 0:
    case 1:
    case 2: {
      if (keys.length === 0) return;
      const k = pick(keys);
      if (Array.isArray(c)) c[Number(k)] = wrongValue();
      else c[k] = wrongValue();
      return;
    }
    case 3:
      if (keys.length && !Array.isArray(c)) delete c[pick(keys)];
      return;
    case 4:
      if (!Array.isArray(c)) c[pick(['extra', 'status', 'spec', 'metadata', 'uid', 'operation', 'kind', 'object'])] = wrongValue();
      return;
    case 5:
      req.uid = pick([42, null, {}, [], true, '', 'x'.repeat(int(300)), undefined]);
      return;
    case 6:
      req.operation = pick(['CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'PATCH', 'create', 7, null]);
      req.subResource = pick(['status', 'scale', '', undefined, 3]);
      return;
    case 7:
      doc[pick(['apiVersion', 'kind'])] = pick(['admission.k8s.io/v1beta1', 'v1', 'AdmissionReview', 'admission.k8s.io/v1', 1, null]);
      return;
    default: {
      for (const field of ['object', 'oldObject']) {
        const o = req[field] as { spec?: unknown; status?: unknown } | undefined;
        const spec = isRecord(o) && isRecord(o.spec) ? o.spec : undefined;
        const status = isRecord(o) && isRecord(o.status) ? o.status : undefined;
        if (spec && 'certificateSigningRequest' in spec) spec.certificateSigningRequest = pick(['%%%', 'AAAA', 'LS0tLS1CRUdJTg==', '']);
        if (status && 'signedCertificate' in status) status.signedCertificate = pick(['=====', 'QUJD', '']);
        if (spec && 'csrData' in spec) spec.csrData = '*not*base64*';
      }
    }
  }
}

function deep(depth: number): string {
  const open = pick(['[', '{"a":']);
  const close = open === '[' ? ']' : '}';
  return open.repeat(depth) + '1' + close.repeat(depth);
}

function makeBody(i: number): string {
  const kind = i % 50;
  if (kind === 0) return Buffer.from(Array.from({ length: int(2000) }, () => int(256))).toString('latin1');
  if (kind === 1) return pick(['', 'null', '1', '"x"', '[]', '{}', 'true', '{"apiVersion":"admission.k8s.io/v1"}']);
  const doc = clone(pick(seeds)) as unknown as Record<string, unknown> & { request: Record<string, unknown> };
  doc.request.uid = `fuzz-${i}-${int(1e9)}`;
  const n = 1 + int(3);
  for (let m = 0; m < n; m++) mutate(doc);
  let text = JSON.stringify(doc);
  if (text.includes(JSON.stringify(DEEP))) text = text.replace(JSON.stringify(DEEP), deep(pick([100, 1000, 10_000, 100_000])));
  if (kind === 2 || kind === 3 || (kind === 4 && rnd() < 0.5)) text = text.slice(0, int(text.length));
  if (i % 997 === 0) text = text.replace('"metadata":{', `"metadata":{"huge":"${'y'.repeat(LIMIT)}",`);
  return text;
}

function expectedUid(text: string): string | undefined {
  if (Buffer.byteLength(text) > LIMIT) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  if (r.apiVersion !== 'admission.k8s.io/v1' || r.kind !== 'AdmissionReview') return undefined;
  if (typeof r.request !== 'object' || r.request === null || Array.isArray(r.request)) return undefined;
  const uid = (r.request as { uid?: unknown }).uid;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}

it(`answers ${TOTAL} random and mutated reviews without a crash or a 5xx (seed ${SEED})`, async () => {
  const problems: string[] = [];
  const counts = { answered: 0, allowed: 0, denied: 0, rejected: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const i = next++;
      const text = makeBody(i);
      const path = i % 2 === 0 ? '/validate' : '/mutate';
      const res = await h.raw(path, text).catch((e: Error) => ({ status: -1, text: e.message, json: undefined, headers: {} }));
      const uid = expectedUid(text);
      if (res.status >= 500 || res.status < 0) problems.push(`#${i} ${path}: HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      else if (uid !== undefined) {
        if (res.status !== 200 || res.json?.response?.uid !== uid || typeof res.json?.response?.allowed !== 'boolean') {
          problems.push(`#${i} ${path}: parseable review not answered with its uid: HTTP ${res.status} ${res.text.slice(0, 200)}`);
        } else {
          counts.answered++;
          if (res.json.response.allowed) counts.allowed++;
          else counts.denied++;
        }
      } else if (res.status !== 400) problems.push(`#${i} ${path}: not a review but HTTP ${res.status}: ${res.text.slice(0, 200)}`);
      else counts.rejected++;
      if (problems.length > 20) return;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const errs = (await (await fetch(`${h.server.healthUrl}/metrics`)).text()).split('\n').filter((l) => l.includes('result="error"'));
  expect(problems).toEqual([]);
  // nothing needed the fail-safe path (an exception inside the admission code)
  expect(errs).toEqual([]);
  expect(counts.answered + counts.rejected).toBe(TOTAL);
  // the mix exercised every outcome
  expect(counts.allowed).toBeGreaterThan(100);
  expect(counts.denied).toBeGreaterThan(1000);
  expect(counts.rejected).toBeGreaterThan(1000);
  // still alive and still right
  expect((await fetch(`${h.server.healthUrl}/healthz`)).status).toBe(200);
  const ok = await h.send('/validate', review('IssuedCertificate', 'CREATE', issuedCertificate()));
  expect(ok.allowed).toBe(true);
}, 120_000);
