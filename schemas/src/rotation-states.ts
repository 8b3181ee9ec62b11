// CertificateRotationState: the names, the aliases read from the wire, and how a name read is
// made the contract's. Apart from common.ts (the schemas) because the plugin's engine and reports
// need these on paths that must not load TypeBox.

/** CertificateRotationState in proto order: index = enum number, [0] is the zero value. The names mesh-cert writes. */
export const ROTATION_STATES = [
  'NOT_ROTATING',
  'PREVIOUS_CA',
  'ADDING_NEW_ROOT',
  'PROPAGATING_NEW_INTERMEDIATE',
  'DELETING_OLD_ROOT',
  'VERIFYING',
  'VERIFIED',
  'ROLLING_BACK',
  'FINISHED',
  'FAILED',
] as const;
export type CertificateRotationState = (typeof ROTATION_STATES)[number];

/**
 * Other names a Gloo Mesh version wrote for a CertificateRotationState, and the name on the
 * contract they mean: admitted wherever the enum is, and read as the contract name (the
 * cert-rotation-api branch called the zero value NOT_APPLICABLE).
 */
export const ROTATION_STATE_ALIASES: Readonly<Record<string, CertificateRotationState>> = {
  NOT_APPLICABLE: 'NOT_ROTATING',
};

/** The contract name of a rotation state as read from the wire: aliases mapped, a missing value is the zero value. */
export function canonicalRotationState(name: unknown): CertificateRotationState | undefined {
  if (name === undefined || name === null || name === '') return ROTATION_STATES[0];
  if (typeof name !== 'string') return undefined;
  if ((ROTATION_STATES as readonly string[]).includes(name)) return name as CertificateRotationState;
  return Object.hasOwn(ROTATION_STATE_ALIASES, name) ? ROTATION_STATE_ALIASES[name] : undefined;
}
