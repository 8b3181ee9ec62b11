// The objects the engine reads and writes. Their spec and status types are schemas' (`Static<>` of
// the TypeBox schemas the webhook validates with: one definition of each field, imported as types
// so nothing of schemas is loaded at run time). The envelope is the engine's: objects read from a
// cluster always have metadata (typed once, by the plugin's client, plugin/src/lib/k8s.ts) and the
// engine always writes a spec.
import type * as api from '#schemas/src/index.js';
import type { ObjectMeta } from '../lib/k8s.js';

export type { ObjectMeta };

/** A reference the engine has resolved: the namespace defaulted (schemas' ObjectRef may omit it). */
export interface ObjectRef {
  name: string;
  namespace: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

type Defined<T> = Exclude<T, undefined>;

export type IssuedState = Defined<api.IssuedCertificateStatus['state']>;
export type RotationStatusState = Defined<api.CertificateRotationStatus['state']>;
/** The rotation states mesh-cert writes (schemas' ROTATION_STATES: aliases read on the wire are mapped by canonicalRotationState). */
export type RotationState = api.CertificateRotationState;

export interface IssuedCertificate extends KubeObject {
  spec: api.IssuedCertificateSpec;
  status?: api.IssuedCertificateStatus;
}

export interface CertificateRequest extends KubeObject {
  spec: api.CertificateRequestSpec;
  status?: api.CertificateRequestStatus;
}

export type RotationCondition = api.CertificateRotationCondition;

/**
 * A CertificateRotation the driver adopts: it names both the VirtualMesh and the new root (the
 * driver creates them so, and passes over listed ones that do not: rotation/driver.ts).
 */
export interface CertificateRotation extends KubeObject {
  spec: api.CertificateRotationSpec & { virtualMesh: SpecRef; newRootCaSecret: SpecRef };
  status?: api.CertificateRotationStatus;
}

export interface PodBounceDirective extends KubeObject {
  spec: api.PodBounceDirectiveSpec;
  status?: api.PodBounceDirectiveStatus;
}

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface Pod extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** A reference as a spec holds it: the namespace may be left out (schemas' ObjectRef). */
export type SpecRef = api.ObjectRef;

/** `ref` with the namespace it means when it names none: that of the object holding it. */
export function resolveRef(ref: SpecRef, namespace: string | undefined): ObjectRef {
  return { name: ref.name, namespace: ref.namespace || namespace || '' };
}

export function refString(ref: SpecRef): string {
  return `${ref.namespace ?? ''}/${ref.name}`;
}

export function sameRef(a: SpecRef | undefined, b: SpecRef | undefined): boolean {
  return !!a && !!b && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');
}
