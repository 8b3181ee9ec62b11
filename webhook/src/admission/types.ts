// The admission.k8s.io/v1 wire types the webhook reads and writes (only the fields we use).

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
export const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

/** metav1.Status as the apiserver relays it to the client. */
export interface Status {
  status: 'Failure';
  code: number;
  reason: string;
  message: string;
  details?: {
    group?: string;
    kind?: string;
    name?: string;
    causes?: { reason: string; field: string; message: string }[];
    /** The apiserver turns it into a Retry-After header for the client. */
    retryAfterSeconds?: number;
  };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** What a review produced, for metrics and the log line: never the object itself. */
export type ReviewResult = 'allowed' | 'patched' | 'denied' | 'malformed' | 'error' | 'overloaded';

/** A decision before the uid is attached. */
export type Decision = Omit<AdmissionResponse, 'uid'>;
