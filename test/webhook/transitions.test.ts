// Every move of every state machine, as a status write over HTTPS: each illegal one is denied
// naming the state field (403 when it leaves a final state), each legal one is admitted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isLegalMove, STATE_MACHINES, type StateMachine } from '#schemas/src/index.js';
import { certificateRequest, certificateRotation, finishedStatus, issuedCertificate, vmcsr } from './fixtures.js';
import { genPki, review, startHarness, type Harness, type Pki } from './helpers.js';

let h: Harness;
let pki: Pki;
beforeAll(async () => {
  pki = genPki();
  h = await startHarness();
});
afterAll(async () => h?.close());

/** An object of the machine's kind in `state`, with what that state needs to be valid on its own. */
function inState(m: StateMachine, state: string): Record<string, unknown> {
  const status: Record<string, unknown> = { observedGeneration: 1 };
  if (state === 'FAILED') status.error = 'signing failed';
  switch (m.kind) {
    case 'IssuedCertificate':
      return issuedCertificate('cluster-1', {}, { ...status, state });
    case 'CertificateRequest':
      return certificateRequest(pki, 'cluster-1', state === 'FINISHED' ? finishedStatus(pki) : { ...status, state });
    case 'CertificateRotation':
      return certificateRotation('rotate-1', 'virtual-mesh', { ...status, state });
    case 'VirtualMeshCertificateSigningRequest':
      return vmcsr(pki, 'istio-cluster-1', { thirdPartyApproval: { approvalStatus: state } });
    default:
      throw new Error(`no fixture for ${m.kind}`);
  }
}

it('denies every illegal move and admits every legal one, for every kind with a state machine', async () => {
  let illegal = 0;
  let legal = 0;
  for (const m of STATE_MACHINES) {
    const field = m.path.join('.');
    for (const from of m.states) {
      for (const to of m.states) {
        if (from === to) continue;
        const r = await h.send(
          '/validate',
          review(m.kind, 'UPDATE', inState(m, to), inState(m, from), { subResource: 'status' }),
        );
        const what = `${m.kind} ${from} -> ${to}`;
        if (isLegalMove(m, from, to, { observedGenerationAdvances: false })) {
          legal++;
          expect(r.allowed, `${what}: ${r.status?.message}`).toBe(true);
        } else {
          illegal++;
          expect(r.allowed, what).toBe(false);
          expect(r.status.message, what).toContain(`${field}: `);
          expect(r.status.message, what).toContain(from);
          expect(r.status.code, what).toBe(m.final?.includes(from) ? 403 : 422);
        }
      }
    }
  }
  expect(illegal).toBeGreaterThan(20);
  expect(legal).toBeGreaterThan(10);
});
