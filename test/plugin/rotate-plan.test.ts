// The rotation's next phase from its recorded status: resume points, and the rollback path
// that never leaves two clusters unable to verify each other.
import { describe, expect, it } from 'vitest';
import { FORWARD, nextPhase, rollbackSteps } from '../../plugin/src/engine/rotation/plan.js';
import { ROTATION_SIGNING } from '../../plugin/src/engine/issuance/signing-plan.js';
import { belongsTo, parentsAnnotation } from '../../plugin/src/engine/parents.js';
import type { CertificateRotation, IssuedCertificate, RotationState } from '../../plugin/src/engine/objects.js';

function rot(
  state: string | undefined,
  rotationState?: RotationState,
  condStates: RotationState[] = [],
): CertificateRotation {
  return {
    metadata: { name: 'r', namespace: 'gloo-mesh', generation: 1 },
    spec: {
      virtualMesh: { name: 'vm', namespace: 'gloo-mesh' },
      newRootCaSecret: { name: 'new', namespace: 'gloo-mesh' },
    },
    status: state
      ? { state: state as never, rotationState, conditions: condStates.map((s) => ({ timestamp: 't', state: s })) }
      : undefined,
  };
}

describe('nextPhase', () => {
  it('walks ADDING_NEW_ROOT, PROPAGATING_NEW_INTERMEDIATE, VERIFYING, DELETING_OLD_ROOT, VERIFYING, FINISHED', () => {
    expect(FORWARD.map((s) => `${s.state}/${s.rotationState}/${s.kind}`)).toEqual([
      'ROTATING/ADDING_NEW_ROOT/reissue',
      'ROTATING/PROPAGATING_NEW_INTERMEDIATE/reissue',
      'VERIFYING/VERIFYING/verify',
      'ROTATING/DELETING_OLD_ROOT/reissue',
      'VERIFYING/VERIFYING/verify',
      'FINISHED/FINISHED/finish',
    ]);
    expect(Object.keys(ROTATION_SIGNING).sort()).toEqual([
      'ADDING_NEW_ROOT',
      'DELETING_OLD_ROOT',
      'PREVIOUS_CA',
      'PROPAGATING_NEW_INTERMEDIATE',
      'ROLLING_BACK',
    ]);
    expect(nextPhase(rot(undefined))).toEqual({ kind: 'forward', index: 0, enter: true });
    expect(nextPhase(rot('ROTATING', 'ADDING_NEW_ROOT', ['ADDING_NEW_ROOT']))).toEqual({
      kind: 'forward',
      index: 0,
      enter: false,
    });
    expect(
      nextPhase(rot('VERIFYING', 'VERIFYING', ['ADDING_NEW_ROOT', 'PROPAGATING_NEW_INTERMEDIATE', 'VERIFYING'])),
    ).toEqual({ kind: 'forward', index: 2, enter: false });
    expect(
      nextPhase(
        rot('VERIFYING', 'VERIFYING', [
          'ADDING_NEW_ROOT',
          'PROPAGATING_NEW_INTERMEDIATE',
          'VERIFYING',
          'DELETING_OLD_ROOT',
          'VERIFYING',
        ]),
      ),
    ).toEqual({ kind: 'forward', index: 4, enter: false });
    expect(nextPhase(rot('FINISHED', 'FINISHED'))).toEqual({ kind: 'over', state: 'FINISHED' });
  });

  it('rolls back through both roots first once DELETING_OLD_ROOT was reached', () => {
    expect(
      rollbackSteps(
        rot('ROTATING', 'ROLLING_BACK', [
          'ADDING_NEW_ROOT',
          'PROPAGATING_NEW_INTERMEDIATE',
          'VERIFYING',
          'ROLLING_BACK',
        ]),
      ),
    ).toEqual(['ROLLING_BACK']);
    expect(
      rollbackSteps(
        rot('ROTATING', 'ROLLING_BACK', [
          'ADDING_NEW_ROOT',
          'PROPAGATING_NEW_INTERMEDIATE',
          'VERIFYING',
          'DELETING_OLD_ROOT',
          'VERIFYING',
          'ROLLING_BACK',
        ]),
      ),
    ).toEqual(['PROPAGATING_NEW_INTERMEDIATE', 'ROLLING_BACK']);
    expect(nextPhase(rot('ROTATING', 'PREVIOUS_CA', ['ROLLING_BACK', 'PREVIOUS_CA']))).toEqual({
      kind: 'rollback',
      steps: ['PREVIOUS_CA'],
      statusStep: 'PREVIOUS_CA',
    });
    expect(nextPhase(rot('FAILED', 'PREVIOUS_CA'))).toEqual({ kind: 'over', state: 'FAILED' });
  });

  // Trust continuity as a property of the tables: between any two consecutive steps (forward,
  // rollback from any point), a cluster still on the earlier step and one already on the later
  // step verify each other, in both directions.
  it('every pair of adjacent steps (forward and every rollback path) keeps mutual trust', () => {
    type S = RotationState;
    const plan = (s: S) => ROTATION_SIGNING[s] ?? { signer: 'old' as const, trust: ['old' as const] };
    const compatible = (a: S, b: S) => plan(b).trust.includes(plan(a).signer) && plan(a).trust.includes(plan(b).signer);
    const forward: S[] = ['NOT_ROTATING', 'ADDING_NEW_ROOT', 'PROPAGATING_NEW_INTERMEDIATE', 'DELETING_OLD_ROOT'];
    const paths: S[][] = [forward];
    for (let i = 1; i < forward.length; i++) {
      const reached = forward.slice(0, i + 1);
      const r = rollbackSteps(rot('ROTATING', 'ROLLING_BACK', reached.slice(1)));
      paths.push([...reached, ...r, 'PREVIOUS_CA']);
    }
    for (const path of paths) {
      for (let i = 1; i < path.length; i++)
        expect(compatible(path[i - 1]!, path[i]!), `${path[i - 1]} -> ${path[i]} in ${path.join(',')}`).toBe(true);
    }
    // and the naive rollback straight from DELETING_OLD_ROOT would break it
    expect(compatible('DELETING_OLD_ROOT', 'ROLLING_BACK')).toBe(false);
  });
});

describe('VirtualMesh membership', () => {
  it('reads and writes Gloo Mesh’s parents annotation', () => {
    const vm = { name: 'vm', namespace: 'gloo-mesh' };
    const a = parentsAnnotation(undefined, vm);
    const o: IssuedCertificate = {
      metadata: { name: 'x', annotations: { 'parents.networking.mesh.gloo.solo.io': a } },
      spec: {},
    };
    expect(belongsTo(o, vm)).toBe(true);
    expect(belongsTo(o, { name: 'other', namespace: 'gloo-mesh' })).toBe(false);
    expect(JSON.parse(a)).toEqual({ 'networking.mesh.gloo.solo.io/v1, Kind=VirtualMesh': [vm] });
    o.metadata.annotations!['parents.networking.mesh.gloo.solo.io'] = 'not json';
    expect(belongsTo(o, vm)).toBe(false);
  });
});
