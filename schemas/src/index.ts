// The API contract of mesh-cert: kinds, schemas, types, rules. Everything else imports from here.
export * from './registry.js';
export * from './common.js';
export * from './kinds/index.js';
export {
  type FieldError,
  type FieldErrorType,
  formatFieldError,
  formatFieldErrors,
  joinPath,
  pathOf,
  renderValue,
} from './field-error.js';
export { validateObject, validateAs, fieldPathOf } from './validator.js';
export {
  STATE_MACHINES,
  OBSERVED_GENERATION,
  IMMUTABLES,
  INVARIANTS,
  ROTATION_STEPS,
  ROLLBACK_STEPS,
  ISSUED_CERTIFICATE_STATES,
  CERTIFICATE_REQUEST_STATES,
  CERTIFICATE_ROTATION_STATES,
  APPROVAL_STATES,
  machinesOf,
  type StateMachine,
  type Move,
  type MoveCondition,
  type GuardName,
  type ImmutableRule,
} from './state-machines.js';
export { validateUpdate, stateOf, conditionsOf, observedGenerationOf } from './transitions.js';
export { isLegalMove, allowedTargets, type Conditions } from './moves.js';
export { rootCelRules, exclusiveCelRules, type CelRule, type GeneratedCelRule, type CelPurpose } from './cel.js';
export { crdFor, allCrds, toStructural, PRINTER_COLUMNS } from './crd.js';
export { activeRotationConflicts, isActiveRotation, virtualMeshKey } from './rotation-conflicts.js';
export {
  DEPRECATIONS,
  deprecationPatch,
  deprecationWarnings,
  type Deprecation,
  type DeprecationCase,
  type JsonPatchOp,
  type PatchOptions,
} from './deprecations.js';
export { GLOO_MESH_OWNER_LABELS, glooMeshOwnerLabel, ownedByGlooMesh } from './ownership.js';
export { POLICY, policyWarnings, type PolicyRule } from './policy.js';
export { isObject, jsonEqual } from './object-path.js';
export { checkPemBytes, pemBlocks, isBase64, pemTextOf } from './pem-fields.js';
export { GUARDS } from './guards.js';
