// The agent and issuer roles as pure decisions: given what the clusters hold now, what is the
// next write? Every run of the engine is "observe, decide, act, repeat", so an interrupted run
// picks up from whatever was recorded, and no write is made twice.
import { ANN_BOUNCE_FOR, ANN_FOR_GENERATION } from '../resources.js';
import type { CertificateRequest, IssuedCertificate, PodBounceDirective, Secret } from '../objects.js';
import { fromB64 } from '../b64.js';
import { ISTIO_KEYS } from '../resources.js';

export interface AgentObservation {
  ic: IssuedCertificate;
  /** The private-key Secret of the same namespace/name, in the managed cluster. */
  keySecret?: Secret;
  request?: CertificateRequest;
  issuedSecret?: Secret;
}

export type AgentAction =
  /** spec changed after the last issuance: back to PENDING for the new generation. */
  | { type: 'restart' }
  | { type: 'generate-key' }
  | { type: 'request' }
  | { type: 'mark-requested' }
  /** nothing for the agent to do: the issuer role has to sign the CertificateRequest. */
  | { type: 'await-signature' }
  | { type: 'write-issued-secret' }
  | { type: 'mark-issued' }
  | { type: 'bounce-and-finish' }
  | { type: 'finish' }
  | { type: 'done' }
  /** retry: the failure is one the agent repairs itself on the next pass (e.g. a lost key). */
  | { type: 'fail'; error: string; retry: boolean };

export type IssuerAction = { type: 'sign' } | { type: 'none' };

export function generationOf(o: { metadata: { generation?: number } }): number {
  return o.metadata.generation ?? 1;
}

/** The annotation tying a key Secret or CertificateRequest to one IssuedCertificate generation. */
export function servesGeneration(o: { metadata: { annotations?: Record<string, string> } } | undefined, generation: number): boolean {
  return o?.metadata.annotations?.[ANN_FOR_GENERATION] === String(generation);
}

/** A CertificateRequest status written for its current spec. */
export function requestIsCurrent(cr: CertificateRequest): boolean {
  return (cr.status?.observedGeneration ?? -1) === generationOf(cr);
}

function issuedSecretHolds(secret: Secret | undefined, cr: CertificateRequest): boolean {
  const signed = fromB64(cr.status?.signedCertificate).trim();
  return !!secret && !!signed && fromB64(secret.data?.[ISTIO_KEYS.caCert]).trim() === signed;
}

export function decideAgent(o: AgentObservation): AgentAction {
  const { ic } = o;
  const gen = generationOf(ic);
  const state = ic.status?.state ?? 'PENDING';
  const observed = ic.status?.observedGeneration;
  if (ic.spec.agentCa) {
    return { type: 'fail', error: 'spec.agentCa (Vault) is not supported by mesh-cert: a Gloo Mesh agent with Vault access must issue this certificate', retry: false };
  }
  const stale = observed !== undefined && observed < gen;
  if (stale && (state === 'REQUESTED' || state === 'ISSUED' || state === 'FINISHED')) return { type: 'restart' };

  switch (state) {
    case 'PENDING':
    case 'FAILED': {
      if (!servesGeneration(o.keySecret, gen)) return { type: 'generate-key' };
      if (!o.request || !servesGeneration(o.request, gen)) return { type: 'request' };
      return { type: 'mark-requested' };
    }
    case 'REQUESTED': {
      if (!servesGeneration(o.keySecret, gen)) {
        return { type: 'fail', error: `the private key Secret ${ic.metadata.namespace}/${ic.metadata.name} of this request is gone; a new key will be generated`, retry: true };
      }
      if (!o.request || !servesGeneration(o.request, gen)) return { type: 'request' };
      const cr = o.request;
      if (!requestIsCurrent(cr) || (cr.status?.state ?? 'PENDING') === 'PENDING') return { type: 'await-signature' };
      if (cr.status?.state === 'FAILED') return { type: 'fail', error: `CertificateRequest: ${cr.status.error || 'the issuer failed without a message'}`, retry: false };
      return issuedSecretHolds(o.issuedSecret, cr) ? { type: 'mark-issued' } : { type: 'write-issued-secret' };
    }
    case 'ISSUED': {
      const cr = o.request;
      if (!issuedSecretHolds(o.issuedSecret, cr ?? ({ metadata: { name: '' }, spec: {} } as CertificateRequest))) {
        if (!cr || !requestIsCurrent(cr) || cr.status?.state !== 'FINISHED' || !servesGeneration(o.keySecret, gen)) {
          return { type: 'fail', error: 'the issued Secret no longer holds the issued certificate and the signed request is gone; issuing again', retry: true };
        }
        return { type: 'write-issued-secret' };
      }
      return ic.spec.podBounceDirective ? { type: 'bounce-and-finish' } : { type: 'finish' };
    }
    case 'FINISHED':
      return { type: 'done' };
  }
  return { type: 'fail', error: `status.state: unknown state "${String(state)}"`, retry: false };
}

/** The issuer signs a request whose status does not answer its current CSR yet. */
export function decideIssuer(cr: CertificateRequest | undefined): IssuerAction {
  if (!cr?.spec.certificateSigningRequest) return { type: 'none' };
  if (requestIsCurrent(cr) && cr.status?.state === 'FINISHED') return { type: 'none' };
  return { type: 'sign' };
}

/** Which issuance a PodBounceDirective's recorded status belongs to. */
export function bounceToken(ic: IssuedCertificate): string {
  return `${ic.metadata.uid ?? ic.metadata.name}/${generationOf(ic)}`;
}

export function bounceRecordedFor(pbd: PodBounceDirective, token: string): boolean {
  return pbd.metadata.annotations?.[ANN_BOUNCE_FOR] === token;
}
