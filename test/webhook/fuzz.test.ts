// 50,000 random and mutated reviews: truncated bodies, wrong types, huge strings, deep nesting,
// broken base64, wrong uid types, and the amplification shapes of the attack suite
// (attack-shapes.ts: many unknown fields, huge lists, long strings, deep nesting, many small
// objects) at sizes from a few KB to the full 3 MiB, whole or cut short. Most go through the
// decision core in this process (handleReviewBody, the same call the server makes with the body
// it read); one in SAMPLE_EVERY goes over keep-alive HTTPS to the server. Nothing may crash nor
// answer 5xx, nor need the fail-safe path; every reply is at most 64 KiB; every parseable review
// is answered with its uid. Seeded, so a failure repeats.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handledJson, handleReviewBody, type Handled } from '../../webhook/src/admission/handle.js';
import { MAX_REPLY_BYTES, MAX_UID_CHARS } from '../../webhook/src/admission/limits.js';
import { staticRotationCache } from '../../webhook/src/rotation-cache.js';
import { seededRandom } from '../sandbox/faults.js';
import { attackShapes } from './attack-shapes.js';
import { certificateRotation, everyKind, issuedCertificate } from './fixtures.js';
import { clone, genPki, review, startHarness, type Harness, type Pki } from './helpers.js';

const TOTAL = 50_000;
/** One review in this many goes over HTTPS; the rest to the decision core in this process. */
const SAMPLE_EVERY = 20;
const CONCURRENCY = 16;
const LIMIT = 3 * 1024 * 1024;
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

const rnd = seededRandom(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

let h: Harness;
let pki: Pki;
let seeds: { request: Record<string, unknown> }[];
/** Amplification shapes at several sizes, made once; each use gets a uid of its own. */
let amplified: { body: string; uid: string; name: string; scale: number }[];
const rotations = staticRotationCache([certificateRotation('active', 'virtual-mesh', { state: 'ROTATING' })]);

beforeAll(async () => {
  pki = genPki();
  h = await startHarness({ rotationCache: rotations });
  amplified = [];
  for (const scale of [0.0005, 0.002, 0.01, 0.05, 0.2, 1]) {
    for (const s of attackShapes(`amp${scale}`, scale))
      amplified.push({ body: s.body, uid: s.uid, name: s.name, scale });
  }
  seeds = [];
  for (const k of everyKind(pki)) {
    seeds.push(review(k.kind, 'CREATE', k.object));
    seeds.push(review(k.kind, 'UPDATE', k.statusNew, k.statusOld, { subResource: 'status' }));
    seeds.push(review(k.kind, 'UPDATE', k.statusNew, k.statusOld));
    seeds.push(review(k.kind, 'DELETE', undefined, k.object));
  }
  seeds.push(
    review(
      'IssuedCertificate',
      'CREATE',
      issuedCertificate('x', { org: 'acme', signingCertificateSecret: { name: 'root' } }),
    ),
  );
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
      if (!Array.isArray(c))
        c[pick(['extra', 'status', 'spec', 'metadata', 'uid', 'operation', 'kind', 'object'])] = wrongValue();
      return;
    case 5:
      req.uid = pick([42, null, {}, [], true, '', 'x'.repeat(int(300)), undefined]);
      return;
    case 6:
      req.operation = pick(['CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'PATCH', 'create', 7, null]);
      req.subResource = pick(['status', 'scale', '', undefined, 3]);
      return;
    case 7:
      doc[pick(['apiVersion', 'kind'])] = pick([
        'admission.k8s.io/v1beta1',
        'v1',
        'AdmissionReview',
        'admission.k8s.io/v1',
        1,
        null,
      ]);
      return;
    default: {
      for (const field of ['object', 'oldObject']) {
        const o = req[field] as { spec?: unknown; status?: unknown } | undefined;
        const spec = isRecord(o) && isRecord(o.spec) ? o.spec : undefined;
        const status = isRecord(o) && isRecord(o.status) ? o.status : undefined;
        if (spec && 'certificateSigningRequest' in spec)
          spec.certificateSigningRequest = pick(['%%%', 'AAAA', 'LS0tLS1CRUdJTg==', '']);
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

/** An amplification shape with a fresh uid: small ones often, full-size ones rarely; some cut short. */
function amplifiedBody(i: number): string {
  const big = rnd() < 0.02;
  const pool = amplified.filter((a) => (big ? a.scale >= 0.2 : a.scale < 0.2));
  const a = pick(pool);
  let text = a.body.replace(JSON.stringify(a.uid), JSON.stringify(`fuzz-${i}-${a.name}`));
  if (rnd() < 0.15) text = text.slice(0, int(text.length));
  return text;
}

function makeBody(i: number): string {
  if (i % 10 === 7) return amplifiedBody(i);
  const kind = i % 50;
  if (kind === 0) return Buffer.from(Array.from({ length: int(2000) }, () => int(256))).toString('latin1');
  if (kind === 1) return pick(['', 'null', '1', '"x"', '[]', '{}', 'true', '{"apiVersion":"admission.k8s.io/v1"}']);
  const doc = clone(pick(seeds)) as unknown as Record<string, unknown> & { request: Record<string, unknown> };
  doc.request.uid = `fuzz-${i}-${int(1e9)}`;
  const n = 1 + int(3);
  for (let m = 0; m < n; m++) mutate(doc);
  let text = JSON.stringify(doc);
  if (text.includes(JSON.stringify(DEEP)))
    text = text.replace(JSON.stringify(DEEP), deep(pick([100, 1000, 10_000, 100_000])));
  if (kind === 2 || kind === 3 || (kind === 4 && rnd() < 0.5)) text = text.slice(0, int(text.length));
  if (i % 997 === 0) text = text.replace('"metadata":{', `"metadata":{"huge":"${'y'.repeat(LIMIT)}",`);
  return text;
}

function expectedUid(text: string): string | undefined {
  if (Buffer.byteLength(text) > LIMIT) return undefined;
  // Bodies over the value or field limits are not parsed: the answer then echoes the uid read
  // before the limit was crossed, whatever follows (checked in `judge`, not here).
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
  // a uid is echoed, so it is bounded: a longer one makes the body no review (HTTP 400)
  return typeof uid === 'string' && uid !== '' && uid.length <= MAX_UID_CHARS ? uid : undefined;
}

/** The uid a body over the limits was answered with must be the one it starts with. */
function leadingUid(text: string): string | undefined {
  return /^\{"apiVersion":"admission\.k8s\.io\/v1","kind":"AdmissionReview","request":\{"uid":("(?:[^"\\]|\\.)*")/.exec(
    text,
  )?.[1]
    ? (JSON.parse(/"uid":("(?:[^"\\]|\\.)*")/.exec(text)![1]!) as string)
    : undefined;
}

interface Answer {
  status: number;
  text: string;

  json: any;
  result?: Handled['result'];
}

/** The decision core, as the server calls it with the body it read. */
function inProcess(path: string, text: string): Answer {
  const h = handleReviewBody(path === '/validate' ? 'validate' : 'mutate', Buffer.from(text), { rotations });
  const out = handledJson(h);
  return { status: h.httpStatus, text: out, json: JSON.parse(out), result: h.result };
}

it(`answers ${TOTAL} random, mutated and amplified reviews without a crash or a 5xx (seed ${SEED})`, async () => {
  const problems: string[] = [];
  const counts = { answered: 0, allowed: 0, denied: 0, rejected: 0, unjudged: 0, http: 0, amplified: 0 };
  let slowest = { ms: 0, what: '' };
  let largestReply = 0;
  let next = 0;
  const judge = (i: number, path: string, text: string, res: Answer, ms: number): void => {
    const uid = expectedUid(text);
    const bytes = Buffer.byteLength(res.text);
    largestReply = Math.max(largestReply, bytes);
    if (ms > slowest.ms) slowest = { ms, what: `#${i} ${path} (${text.length} bytes)` };
    if (bytes > MAX_REPLY_BYTES) problems.push(`#${i} ${path}: a reply of ${bytes} bytes`);
    if (res.result === 'error') problems.push(`#${i} ${path}: needed the fail-safe path: ${res.text.slice(0, 200)}`);
    if (res.status >= 500 || res.status < 0)
      problems.push(`#${i} ${path}: HTTP ${res.status}: ${res.text.slice(0, 200)}`);
    else if (res.status === 200 && res.json?.response?.status?.code === 413) {
      // over a limit, not parsed: the uid is the one the body starts with
      counts.unjudged++;
      const lead = uid ?? leadingUid(text);
      if (res.json.response.uid !== lead || res.json.response.allowed !== false)
        problems.push(`#${i} ${path}: unjudged review answered with uid ${res.json.response.uid}, not ${lead}`);
    } else if (uid !== undefined) {
      if (res.status !== 200 || res.json?.response?.uid !== uid || typeof res.json?.response?.allowed !== 'boolean') {
        problems.push(
          `#${i} ${path}: parseable review not answered with its uid: HTTP ${res.status} ${res.text.slice(0, 200)}`,
        );
      } else {
        counts.answered++;
        if (res.json.response.allowed) counts.allowed++;
        else counts.denied++;
        if ((res.json.response.status?.details?.causes?.length ?? 0) > 20)
          problems.push(`#${i} ${path}: more than 20 causes`);
      }
    } else if (res.status !== 400)
      problems.push(`#${i} ${path}: not a review but HTTP ${res.status}: ${res.text.slice(0, 200)}`);
    else counts.rejected++;
  };
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const i = next++;
      const text = makeBody(i);
      if (i % 10 === 7) counts.amplified++;
      const path = i % 2 === 0 ? '/validate' : '/mutate';
      const t = performance.now();
      let res: Answer;
      if (i % SAMPLE_EVERY === 3 || Buffer.byteLength(text) > LIMIT) {
        counts.http++;
        res = await h.raw(path, text).catch((e: Error) => ({ status: -1, text: e.message, json: undefined }));
      } else {
        res = inProcess(path, text);
        // let the server's event loop (and the HTTP workers) run between in-process reviews
        if (i % 64 === 0) await new Promise((r) => setImmediate(r));
      }
      judge(i, path, text, res, performance.now() - t);
      if (problems.length > 20) return;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const errs = (await (await fetch(`${h.server.healthUrl}/metrics`)).text())
    .split('\n')
    .filter((l) => l.includes('result="error"'));
  process.stdout.write(`[fuzz] ${JSON.stringify({ ...counts, largestReply, slowest })}\n`);
  expect(problems).toEqual([]);
  // nothing needed the fail-safe path (an exception inside the admission code)
  expect(errs).toEqual([]);
  expect(counts.answered + counts.rejected + counts.unjudged).toBe(TOTAL);
  // the mix exercised every outcome
  expect(counts.allowed).toBeGreaterThan(250);
  expect(counts.denied).toBeGreaterThan(2500);
  expect(counts.rejected).toBeGreaterThan(2500);
  expect(counts.unjudged).toBeGreaterThan(100);
  expect(counts.http).toBeGreaterThan(TOTAL / SAMPLE_EVERY - 10);
  // every answer within bounds of time too: judged or turned away in well under the apiserver's 5 s
  expect(slowest.ms, slowest.what).toBeLessThan(3000);
  // still alive and still right
  expect((await fetch(`${h.server.healthUrl}/healthz`)).status).toBe(200);
  const ok = await h.send('/validate', review('IssuedCertificate', 'CREATE', issuedCertificate()));
  expect(ok.allowed).toBe(true);
}, 600_000);
