import { beforeAll, describe, expect, it } from 'vitest';
import {
  STATE_MACHINES,
  activeRotationConflicts,
  formatFieldError,
  isLegalMove,
  validateUpdate,
  type StateMachine,
} from '#schemas/src/index.js';
import { makePki, type Pki } from './fixtures.js';
import { validObjects, type Obj } from './objects.js';

let pki: Pki;
let valid: Record<string, Obj[]>;
beforeAll(() => {
  pki = makePki();
  valid = validObjects(pki);
});

// The legal moves written out by hand from Gloo Mesh's documented states (plus Gloo Mesh's own writes), as an
// oracle independent of schemas/src/state-machines.ts. Staying is always legal.
const ORACLE: Record<string, { always: string[]; onAdvance: string[]; final: string[] }> = {
  IssuedCertificate: {
    always: [
      'PENDING>REQUESTED',
      'FAILED>REQUESTED',
      'REQUESTED>ISSUED',
      'ISSUED>FINISHED',
      'PENDING>FAILED',
      'REQUESTED>FAILED',
      'ISSUED>FAILED',
      'FINISHED>FAILED',
      'FAILED>PENDING',
    ],
    onAdvance: ['REQUESTED>PENDING', 'ISSUED>PENDING', 'FINISHED>PENDING', 'ISSUED>REQUESTED', 'FINISHED>REQUESTED'],
    final: [],
  },
  CertificateRequest: {
    always: [
      'PENDING>FINISHED',
      'FAILED>FINISHED',
      'PENDING>FAILED',
      'FINISHED>FAILED',
      'FINISHED>PENDING',
      'FAILED>PENDING',
    ],
    onAdvance: [],
    final: [],
  },
  CertificateRotation: {
    always: [
      'PENDING>ROTATING',
      'ROTATING>VERIFYING',
      'VERIFYING>ROTATING',
      'VERIFYING>FINISHED',
      'PENDING>FAILED',
      'ROTATING>FAILED',
      'VERIFYING>FAILED',
    ],
    onAdvance: [],
    final: ['FINISHED', 'FAILED'],
  },
  VirtualMeshCertificateSigningRequest: {
    always: ['PENDING>APPROVED', 'PENDING>DENIED'],
    onAdvance: [],
    final: ['APPROVED', 'DENIED'],
  },
};

function setPath(obj: Obj, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const seg of path.slice(0, -1)) cur = cur[seg] ??= {};
  if (value === undefined) delete cur[path[path.length - 1]!];
  else cur[path[path.length - 1]!] = value;
}

/** An object of the machine's kind in `state` (undefined = field omitted), every guard satisfied. */
function objectIn(m: StateMachine, state: string | undefined, observedGeneration: number): Obj {
  const o = structuredClone(valid[m.kind]![0]!);
  o.metadata.generation = 2;
  if (m.kind === 'VirtualMeshCertificateSigningRequest') delete o.status.response;
  else o.status.observedGeneration = observedGeneration;
  if (m.kind === 'CertificateRequest') o.metadata.generation = observedGeneration;
  setPath(o, m.path, state);
  if (state === 'FAILED') o.status.error = 'it broke';
  return o;
}

describe('every ordered pair of states, for every kind, against the table', () => {
  it('the oracle covers every machine', () => {
    expect(Object.keys(ORACLE).sort()).toEqual(STATE_MACHINES.map((m) => m.kind).sort());
  });
  for (const m of STATE_MACHINES) {
    const oracle = ORACLE[m.kind]!;
    for (const advances of [false, true]) {
      it(`${m.kind} ${m.path.join('.')}${advances ? ' when observedGeneration advances' : ''}`, () => {
        let checked = 0;
        for (const from of m.states) {
          for (const to of m.states) {
            const expected =
              from === to ||
              oracle.always.includes(`${from}>${to}`) ||
              (advances && oracle.onAdvance.includes(`${from}>${to}`));
            expect(isLegalMove(m, from, to, { observedGenerationAdvances: advances }), `${from}>${to}`).toBe(expected);
            // The zero value may be written out or omitted; both must mean the same.
            const froms = from === m.states[0] ? [from, undefined] : [from];
            const tos = to === m.states[0] ? [to, undefined] : [to];
            for (const f of froms) {
              for (const t of tos) {
                const oldObj = objectIn(m, f, 1);
                const newObj = objectIn(m, t, advances ? 2 : 1);
                const errors = validateUpdate(oldObj, newObj);
                const label = `${m.kind} ${f ?? '(omitted)'} → ${t ?? '(omitted)'}: ${errors.map(formatFieldError).join('; ')}`;
                if (expected) expect(errors, label).toEqual([]);
                else {
                  expect(
                    errors.map((e) => e.path),
                    label,
                  ).toEqual([m.path.join('.')]);
                  const isFinal = oracle.final.includes(from);
                  expect(errors[0]!.type, label).toBe(isFinal ? 'Forbidden' : 'Invalid');
                  expect(errors[0]!.forbidden ?? false, label).toBe(isFinal);
                  expect(errors[0]!.message).toContain(`cannot move from ${from} to ${to}`);
                }
                checked++;
              }
            }
          }
        }
        expect(checked).toBeGreaterThanOrEqual(m.states.length ** 2);
      });
    }
  }

  it('says which moves are allowed', () => {
    const m = STATE_MACHINES.find((x) => x.kind === 'IssuedCertificate')!;
    const [e] = validateUpdate(objectIn(m, 'PENDING', 1), objectIn(m, 'FINISHED', 1));
    expect(formatFieldError(e!)).toBe(
      'status.state: Invalid value: "FINISHED": IssuedCertificate cannot move from PENDING to FINISHED; allowed: REQUESTED, FAILED',
    );
    const [f] = validateUpdate(objectIn(m, 'ISSUED', 1), objectIn(m, 'PENDING', 1));
    expect(f!.message).toBe('IssuedCertificate cannot move from ISSUED to PENDING; allowed: FINISHED, FAILED');
  });
});

describe('status rules', () => {
  const ic = (state: string, og: number, gen = 5, error?: string): Obj => ({
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'IssuedCertificate',
    metadata: { name: 'a', namespace: 'b', generation: gen },
    spec: {},
    status: { state, observedGeneration: og, ...(error !== undefined ? { error } : {}) },
  });

  it('observedGeneration never decreases', () => {
    const errors = validateUpdate(ic('REQUESTED', 4), ic('REQUESTED', 3));
    expect(errors.map(formatFieldError)).toEqual([
      'status.observedGeneration: Invalid value: 3: must not decrease (was 4)',
    ]);
  });

  it('observedGeneration never exceeds metadata.generation', () => {
    const errors = validateUpdate(ic('REQUESTED', 4), ic('REQUESTED', 6));
    expect(errors.map(formatFieldError)).toEqual([
      'status.observedGeneration: Invalid value: 6: must not exceed metadata.generation (5)',
    ]);
  });

  it('a missing observedGeneration is 0', () => {
    const old = ic('FINISHED', 0);
    delete old.status.observedGeneration;
    expect(validateUpdate(old, ic('PENDING', 5))).toEqual([]);
    expect(
      validateUpdate(ic('FINISHED', 2), { ...ic('FINISHED', 0), status: { state: 'FINISHED' } }).map((e) => e.path),
    ).toEqual(['status.observedGeneration']);
  });

  for (const kind of ['IssuedCertificate', 'CertificateRequest', 'CertificateRotation']) {
    it(`${kind}: FAILED needs a non-empty error`, () => {
      const old = { ...ic('PENDING', 1), kind };
      for (const error of [undefined, '']) {
        const errors = validateUpdate(old, { ...ic('FAILED', 1, 5, error), kind });
        expect(errors.map((e) => [e.path, e.type])).toEqual([['status.error', 'Required']]);
      }
      expect(validateUpdate(old, { ...ic('FAILED', 1, 5, 'signing secret not found'), kind })).toEqual([]);
    });
  }

  it('a status object that disappears is the zero value', () => {
    const old = ic('FINISHED', 5);
    const { status: _s, ...noStatus } = ic('FINISHED', 5);
    // FINISHED → PENDING without an advancing observedGeneration, and observedGeneration 5 → 0.
    expect(
      validateUpdate(old, noStatus)
        .map((e) => e.path)
        .sort(),
    ).toEqual(['status.observedGeneration', 'status.state']);
  });
});

describe('immutable fields', () => {
  const rot = (state: string | undefined, vm = 'vm1', root = 'root2'): Obj => ({
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRotation',
    metadata: { name: 'r', namespace: 'gloo-mesh', generation: 1 },
    spec: {
      virtualMesh: { name: vm, namespace: 'gloo-mesh' },
      newRootCaSecret: { name: root, namespace: 'gloo-mesh' },
    },
    status: { observedGeneration: 1, ...(state ? { state } : {}) },
  });

  it('CertificateRotation targets may change while PENDING (state omitted or written)', () => {
    expect(validateUpdate(rot(undefined), rot(undefined, 'vm2', 'root3'))).toEqual([]);
    expect(validateUpdate(rot('PENDING'), rot('PENDING', 'vm2'))).toEqual([]);
  });

  it('CertificateRotation virtualMesh and newRootCaSecret freeze once it leaves PENDING', () => {
    for (const state of ['ROTATING', 'VERIFYING', 'FINISHED', 'FAILED']) {
      const old = rot(state);
      if (state === 'FAILED') old.status.error = 'x';
      const neu = rot(state, 'vm2', 'root3');
      if (state === 'FAILED') neu.status.error = 'x';
      const errors = validateUpdate(old, neu);
      expect(errors.map(formatFieldError), state).toEqual([
        'spec.virtualMesh: Forbidden: field is immutable once the rotation has left PENDING',
        'spec.newRootCaSecret: Forbidden: field is immutable once the rotation has left PENDING',
      ]);
      expect(errors.every((e) => e.forbidden)).toBe(true);
    }
    const removed = rot('ROTATING');
    delete removed.spec.newRootCaSecret;
    expect(validateUpdate(rot('ROTATING'), removed).map((e) => e.path)).toEqual(['spec.newRootCaSecret']);
  });

  it('VMCSR csrData freezes once a response is set', () => {
    const base = structuredClone(valid.VirtualMeshCertificateSigningRequest![0]!);
    const changed = structuredClone(base);
    changed.spec.csrData = Buffer.from(pki.otherCsr).toString('base64');
    // The response no longer matches the new CSR either; the immutability error is what matters here.
    expect(validateUpdate(base, changed).map((e) => [e.path, e.type])).toContainEqual(['spec.csrData', 'Forbidden']);
    const noResponse = structuredClone(base);
    delete noResponse.status.response;
    const changed2 = structuredClone(noResponse);
    changed2.spec.csrData = Buffer.from(pki.otherCsr).toString('base64');
    expect(validateUpdate(noResponse, changed2)).toEqual([]);
  });
});

describe('VirtualMeshCertificateSigningRequest approval and response', () => {
  const vm = (): Obj => structuredClone(valid.VirtualMeshCertificateSigningRequest![0]!);

  it('a response may be written while approval is PENDING (zephyr signs PENDING requests), or absent, or APPROVED', () => {
    for (const approval of ['PENDING', 'APPROVED', undefined]) {
      const old = vm();
      delete old.status.response;
      old.status.thirdPartyApproval = approval ? { approvalStatus: approval } : {};
      const neu = structuredClone(old);
      neu.status.response = vm().status.response;
      expect(validateUpdate(old, neu).map(formatFieldError), String(approval)).toEqual([]);
    }
    const none = vm();
    delete none.status.response;
    delete none.status.thirdPartyApproval;
    const answered = structuredClone(none);
    answered.status.response = vm().status.response;
    expect(validateUpdate(none, answered)).toEqual([]);
  });

  it('a response may not be set once the request is DENIED', () => {
    const old = vm();
    delete old.status.response;
    old.status.thirdPartyApproval = { approvalStatus: 'DENIED' };
    const neu = structuredClone(old);
    neu.status.response = vm().status.response;
    const errors = validateUpdate(old, neu);
    expect(errors.map((e) => [e.path, e.type, e.forbidden])).toEqual([['status.response', 'Forbidden', true]]);
    expect(errors[0]!.message).toContain('DENIED');
    // Denying a request that holds a response must drop the response in the same write.
    const pending = vm();
    pending.status.thirdPartyApproval = { approvalStatus: 'PENDING' };
    const denied = structuredClone(pending);
    denied.status.thirdPartyApproval.approvalStatus = 'DENIED';
    expect(validateUpdate(pending, denied).map((e) => e.path)).toEqual(['status.response']);
    delete denied.status.response;
    expect(validateUpdate(pending, denied)).toEqual([]);
  });

  it('the response must sign the key of csrData', () => {
    const old = vm();
    delete old.status.response;
    const neu = vm();
    neu.status.response.caCertificate = Buffer.from(pki.signedOtherKey).toString('base64');
    expect(validateUpdate(old, neu).map(formatFieldError)).toEqual([
      'status.response.caCertificate: Invalid value: its public key is not the one in spec.csrData',
    ]);
  });

  it('approval is final', () => {
    const old = vm();
    const neu = vm();
    neu.status.thirdPartyApproval.approvalStatus = 'DENIED';
    delete neu.status.response;
    const errors = validateUpdate(old, neu);
    expect(errors.map(formatFieldError)).toEqual([
      'status.thirdPartyApproval.approvalStatus: Forbidden: VirtualMeshCertificateSigningRequest cannot move from APPROVED to DENIED: APPROVED is final',
    ]);
    expect(errors[0]!.forbidden).toBe(true);
  });
});

describe('at most one active CertificateRotation per VirtualMesh', () => {
  const rot = (name: string, vm: string, state?: string, vmNs?: string): Obj => ({
    apiVersion: 'certificates.mesh.gloo.solo.io/v1',
    kind: 'CertificateRotation',
    metadata: { name, namespace: 'gloo-mesh', uid: `uid-${name}` },
    spec: { virtualMesh: { name: vm, ...(vmNs ? { namespace: vmNs } : {}) }, newRootCaSecret: { name: 'root2' } },
    ...(state ? { status: { state } } : {}),
  });

  it('denies a second active rotation of the same VirtualMesh', () => {
    const errors = activeRotationConflicts(rot('b', 'vm'), [rot('a', 'vm', 'ROTATING') as never]);
    expect(errors.map(formatFieldError)).toEqual([
      'spec.virtualMesh: Duplicate value: "gloo-mesh/vm": VirtualMesh gloo-mesh/vm already has an active CertificateRotation gloo-mesh/a (state ROTATING); wait until it is FINISHED or FAILED',
    ]);
    expect(errors[0]!.forbidden).toBe(true);
    // A missing state is PENDING, which is active; an explicit namespace equal to the default is the same mesh.
    expect(activeRotationConflicts(rot('b', 'vm', undefined, 'gloo-mesh'), [rot('a', 'vm') as never])).toHaveLength(1);
  });

  it('allows it when the others are finished, failed, for another mesh, or itself', () => {
    const others = [
      rot('a', 'vm', 'FINISHED'),
      rot('c', 'vm', 'FAILED'),
      rot('d', 'other', 'ROTATING'),
      rot('e', 'vm', 'ROTATING', 'elsewhere'),
      rot('b', 'vm', 'VERIFYING'),
    ];
    expect(activeRotationConflicts(rot('b', 'vm', 'ROTATING'), others as never[])).toEqual([]);
  });

  it('never blocks a rotation that is itself finished or failed', () => {
    expect(activeRotationConflicts(rot('b', 'vm', 'FAILED'), [rot('a', 'vm', 'ROTATING') as never])).toEqual([]);
  });
});
