// Rule zero of the contract (schemas/README.md), proven on the writes Gloo Mesh's controllers
// make (gloo-mesh-writes.ts): each goes through the webhook's review handler, mutate then validate as the apiserver calls
// them, and through the CEL rules of the committed CRDs. All are admitted; none on an object a
// Gloo Mesh controller owns is patched; out-of-policy values and deprecated fields earn warnings.
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '#schemas/x509/index.js';
import { ownedByGlooMesh } from '#schemas/src/index.js';
import { applyJsonPatch } from '../../webhook/src/admission/json-patch.js';
import { handleReview } from '../../webhook/src/admission/handle.js';
import type { AdmissionResponse } from '../../webhook/src/admission/types.js';
import { celViolations } from './crd-rules.js';
import { glooMeshWrites, type GlooMeshWrite } from './gloo-mesh-writes.js';
import { patchOf, review } from './helpers.js';

const writes: GlooMeshWrite[] = await glooMeshWrites();

function respond(endpoint: 'mutate' | 'validate', w: GlooMeshWrite, object: unknown): AdmissionResponse {
  const body = review(w.kind, w.operation, object, w.oldObject, w.subResource ? { subResource: w.subResource } : {});
  const handled = handleReview(endpoint, body, {});
  if (handled.body.kind !== 'AdmissionReview') throw new Error(`not a review answer: ${JSON.stringify(handled.body)}`);
  return handled.body.response;
}

describe('the write list', () => {
  it('is a history the apiserver could have stored: each UPDATE starts from the last write on its object', () => {
    const stored = new Map<string, unknown>();
    for (const w of writes) {
      const key = `${w.kind}/${String(w.object.metadata.name)}`;
      if (w.operation === 'CREATE') {
        expect(stored.has(key), `${key} created twice`).toBe(false);
        expect(w.object.metadata.generation, w.description).toBe(1);
      } else {
        expect(w.oldObject, w.description).toEqual(stored.get(key));
        const bumped = Number(w.oldObject!.metadata.generation) + (w.subResource === 'status' ? 0 : 1);
        expect(w.object.metadata.generation, w.description).toBe(bumped);
      }
      stored.set(key, w.object);
    }
  });

  it('holds what issue 15 names', () => {
    const json = writes.map((w) => JSON.stringify(w.object));
    const some = (re: RegExp) => json.some((j) => re.test(j));
    const pbd = writes
      .filter((w) => w.kind === 'PodBounceDirective')
      .map(
        (w) =>
          w.object as { spec?: { podsToBounce?: unknown[] }; status?: { podsBounced?: { bouncedPods: string[] }[] } },
      );
    expect(Math.max(...pbd.map((o) => o.spec?.podsToBounce?.length ?? 0))).toBeGreaterThan(100);
    expect(
      Math.max(...pbd.map((o) => (o.status?.podsBounced ?? []).reduce((n, s) => n + s.bouncedPods.length, 0))),
    ).toBeGreaterThan(1000);
    expect(some(/"rsaKeySizeBytes":8192/)).toBe(true);
    expect(some(/"rsaKeySizeBytes":1024/)).toBe(true);
    expect(some(/"ttlDays":40000/)).toBe(true);
    expect(some(/"org":"Istio".*"orgName":"acme"|"orgName":"acme".*"org":"Istio"/)).toBe(true);
    expect(some(/"kubernetesAuth":\{(?![^}]*"role")/)).toBe(true);
    expect(some(/"NOT_APPLICABLE"/)).toBe(true);
    expect(
      writes.some(
        (w) =>
          w.kind === 'VirtualMeshCertificateSigningRequest' &&
          /"response"/.test(JSON.stringify(w.object.status)) &&
          !/APPROVED/.test(JSON.stringify(w.object.status)),
      ),
    ).toBe(true);
    expect(
      writes
        .filter((w) => !w.expectPatched)
        .every((w) => w.kind === 'VirtualMeshCertificateSigningRequest' || ownedByGlooMesh(w.kind, w.object)),
    ).toBe(true);
  });

  it("signs as istio's pki/util does: an empty subject and a critical SAN", () => {
    const first = writes.find(
      (w) =>
        w.kind === 'CertificateRequest' && (w.object.status as { state?: string } | undefined)?.state === 'FINISHED',
    )!;
    const pem = Buffer.from(
      (first.object.status as { signedCertificate: string }).signedCertificate,
      'base64',
    ).toString();
    const info = parseCertificate(pem);
    expect(info.subjectText).toBe('');
    expect(info.isCA).toBe(true);
    expect(info.keyUsage).toEqual(['keyCertSign']);
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    // subjectAltName (2.5.29.17), critical TRUE, right after the OID
    expect(der.includes(Buffer.from('0603551d110101ff', 'hex'))).toBe(true);
  });
});

describe('replayed through the webhook and the CRD rules', () => {
  for (const [i, w] of writes.entries()) {
    const title = `${String(i + 1).padStart(2, '0')} ${w.kind} ${w.operation}${w.subResource ? ' status' : ''}: ${w.description} [${w.writer}]`;
    it(title, () => {
      const m = respond('mutate', w, w.object);
      expect(m.allowed).toBe(true);
      const patch = patchOf(m);
      expect(patch !== undefined, `patched: ${JSON.stringify(patch)}`).toBe(w.expectPatched);
      const stored = patch
        ? (applyJsonPatch(structuredClone(w.object), patch as never) as GlooMeshWrite['object'])
        : w.object;
      if (patch) expect(patchOf(respond('mutate', w, stored)), 'the patch is idempotent').toBeUndefined();

      const v = respond('validate', w, stored);
      expect(v.allowed, v.status?.message).toBe(true);
      for (const text of w.expectWarnings ?? []) expect((v.warnings ?? []).join('\n'), 'warnings').toContain(text);
      if (!w.expectWarnings && !patch) expect(v.warnings ?? [], 'no warning expected').toEqual([]);

      expect(celViolations(w.kind, stored, w.oldObject)).toEqual([]);
    });
  }
});
