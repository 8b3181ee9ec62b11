// The shapes of the objects the engine reads and writes, as far as the engine relies on them.
// Structural on purpose: objects come off the wire, and the webhook (schemas/) is what enforces
// the full contract. Metadata is typed once, by the plugin's client (plugin/src/lib/k8s.ts).
import type { ObjectMeta } from '../lib/k8s.js';

export type { ObjectMeta };

export interface ObjectRef {
  name: string;
  namespace: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export type IssuedState = 'PENDING' | 'REQUESTED' | 'ISSUED' | 'FINISHED' | 'FAILED';
export type RequestState = 'PENDING' | 'FINISHED' | 'FAILED';
export type RotationStatusState = 'PENDING' | 'ROTATING' | 'VERIFYING' | 'FINISHED' | 'FAILED';
export type RotationState =
  | 'NOT_ROTATING'
  | 'PREVIOUS_CA'
  | 'ADDING_NEW_ROOT'
  | 'PROPAGATING_NEW_INTERMEDIATE'
  | 'DELETING_OLD_ROOT'
  | 'VERIFYING'
  | 'VERIFIED'
  | 'ROLLING_BACK'
  | 'FINISHED'
  | 'FAILED';

export interface CertOptions {
  ttlDays?: number;
  rsaKeySizeBytes?: number;
  orgName?: string;
  secretRotationGracePeriodRatio?: number;
}

export interface IssuedCertificate extends KubeObject {
  spec: {
    hosts?: string[];
    org?: string;
    signingCertificateSecret?: ObjectRef;
    issuedCertificateSecret?: ObjectRef;
    podBounceDirective?: ObjectRef;
    certOptions?: CertOptions;
    glooMeshCa?: { signingCertificateSecret?: ObjectRef };
    agentCa?: unknown;
    rotationState?: RotationState;
  };
  status?: {
    observedGeneration?: number;
    error?: string;
    state?: IssuedState;
    appliedGlooMeshCa?: { signingCertificateSecret?: ObjectRef };
    observedRotationState?: RotationState;
  };
}

export interface CertificateRequest extends KubeObject {
  spec: { certificateSigningRequest?: string };
  status?: {
    observedGeneration?: number;
    error?: string;
    state?: RequestState;
    signedCertificate?: string;
    signingRootCa?: string;
  };
}

export interface RotationCondition {
  timestamp: string;
  state: RotationState;
  message?: string;
  errors?: string[];
}

export interface CertificateRotation extends KubeObject {
  spec: { virtualMesh: ObjectRef; newRootCaSecret: ObjectRef };
  status?: {
    observedGeneration?: number;
    error?: string;
    state?: RotationStatusState;
    rotationState?: RotationState;
    conditions?: RotationCondition[];
  };
}

export interface PodBounceDirective extends KubeObject {
  spec: {
    podsToBounce?: {
      namespace: string;
      labels?: Record<string, string>;
      waitForReplicas?: number;
      rootCertSync?: { secretRef: ObjectRef; secretKey: string; configMapRef: ObjectRef; configMapKey: string };
    }[];
  };
  status?: { podsBounced?: { bouncedPods?: string[] }[] };
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

export function refString(ref: ObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export function sameRef(a: ObjectRef | undefined, b: ObjectRef | undefined): boolean {
  return !!a && !!b && a.name === b.name && a.namespace === b.namespace;
}
