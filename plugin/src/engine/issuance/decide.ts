// The agent and issuer roles as pure decisions: given what the clusters hold now, what is the
// next write? Every run of the engine is "observe, decide, act, repeat", so an interrupted run
// picks up from whatever was recorded, and no write is made twice.
import { ANN_BOUNCE_FOR, ANN_FOR_GENERATION, ANN_FOR_PLAN, PRIVATE_KEY_DATA_KEY } from '../resources.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import { issuedSecretData } from './agent.js';
import type { CertificateRequest, IssuedCertificate, PodBounceDirective, Secret } from '../objects.js';
import { PkiError } from '#schemas/x509/errors.js';
import { base64Text, secretText } from '#schemas/x509/pem.js';
import { issuedSecretMismatch } from './issued-secret.js';
import type { PlanMaterial } from './plan-material.js';

export interface AgentObservation {
  ic: IssuedCertificate;
  /** The private-key Secret of the same namespace/name, in the managed cluster. */
  keySecret?: Secret;
  request?: CertificateRequest;
  issuedSecret?: Secret;
  /** What the issued Secret must hold now (plan-material.ts); absent when only watching. */
  plan?: PlanMaterial;
  /** Why no plan can be made (no signing Secret, a broken one): nothing is requested then. */
  planError?: string;
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
export function servesGeneration(
  o: { metadata: { annotations?: Record<string, string> } } | undefined,
  generation: number,
): boolean {
  return o?.metadata.annotations?.[ANN_FOR_GENERATION] === String(generation);
}

/** Made for this plan (no plan known: any will do). Objects of an older mesh-cert carry no plan. */
export function servesPlan(
  o: { metadata: { annotations?: Record<string, string> } } | undefined,
  plan: PlanMaterial | undefined,
): boolean {
  return !plan || o?.metadata.annotations?.[ANN_FOR_PLAN] === plan.digest;
}

/** The key and the request were made for this generation and this plan. */
function serves(
  o: { metadata: { annotations?: Record<string, string> } } | undefined,
  generation: number,
  plan: PlanMaterial | undefined,
): boolean {
  return servesGeneration(o, generation) && servesPlan(o, plan);
}

/** A CertificateRequest status written for its current spec. */
export function requestIsCurrent(cr: CertificateRequest): boolean {
  return (cr.status?.observedGeneration ?? -1) === generationOf(cr);
}

/**
 * The issued Secret holds exactly what the agent writes from this signed request and the local
 * key: the four Istio keys and nothing else (a stale tls.crt or root would be read by Istio).
 */
function issuedSecretHolds(secret: Secret | undefined, cr: CertificateRequest, keySecret: Secret | undefined): boolean {
  let want: Record<string, string>;
  try {
    const signed = base64Text(cr.status?.signedCertificate, 'status.signedCertificate').trim();
    if (!secret || !signed || secretText(secret, ISTIO_KEYS.caCert).trim() !== signed) return false;
    want = issuedSecretData(cr, secretText(keySecret, PRIVATE_KEY_DATA_KEY));
  } catch (err) {
    // Not what the agent writes, then; writing it says why (a FAILED status, or the decode error).
    if (err instanceof PkiError) return false;
    throw err;
  }
  const have = secret.data ?? {};
  return Object.keys(have).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => have[k] === v);
}

export function decideAgent(o: AgentObservation): AgentAction {
  const { ic } = o;
  const gen = generationOf(ic);
  const state = ic.status?.state ?? 'PENDING';
  const observed = ic.status?.observedGeneration;
  if (ic.spec.agentCa) {
    return {
      type: 'fail',
      error:
        'spec.agentCa (Vault) is not supported by mesh-cert: a Gloo Mesh agent with Vault access must issue this certificate',
      retry: false,
    };
  }
  const out = ic.spec.issuedCertificateSecret;
  if (out && out.name === ic.metadata.name && out.namespace === (ic.metadata.namespace ?? 'default')) {
    // The key Secret shares the IssuedCertificate's name: the issued Secret is written whole, so it would erase the key.
    return {
      type: 'fail',
      error: `spec.issuedCertificateSecret: Invalid value: "${out.namespace}/${out.name}": names the private-key Secret of this IssuedCertificate; choose another Secret (e.g. ${out.namespace}/cacerts)`,
      retry: false,
    };
  }
  const stale = observed !== undefined && observed < gen;
  if (stale && (state === 'REQUESTED' || state === 'ISSUED' || state === 'FINISHED')) return { type: 'restart' };

  switch (state) {
    case 'PENDING':
    case 'FAILED': {
      // Nothing half-made: no key and no request for a certificate that cannot be signed.
      if (o.planError) return { type: 'fail', error: o.planError, retry: false };
      if (!serves(o.keySecret, gen, o.plan)) return { type: 'generate-key' };
      if (!o.request || !serves(o.request, gen, o.plan)) return { type: 'request' };
      return { type: 'mark-requested' };
    }
    case 'REQUESTED': {
      if (!servesGeneration(o.keySecret, gen)) {
        return {
          type: 'fail',
          error: `the private key Secret ${ic.metadata.namespace}/${ic.metadata.name} of this request is gone; a new key will be generated`,
          retry: true,
        };
      }
      if (!o.request || !servesGeneration(o.request, gen)) return { type: 'request' };
      const cr = o.request;
      if (!requestIsCurrent(cr) || (cr.status?.state ?? 'PENDING') === 'PENDING') return { type: 'await-signature' };
      if (cr.status?.state === 'FAILED')
        return {
          type: 'fail',
          error: `CertificateRequest: ${cr.status.error || 'the issuer failed without a message'}`,
          retry: false,
        };
      return issuedSecretHolds(o.issuedSecret, cr, o.keySecret)
        ? { type: 'mark-issued' }
        : { type: 'write-issued-secret' };
    }
    case 'ISSUED': {
      const cr = o.request;
      if (!cr || !issuedSecretHolds(o.issuedSecret, cr, o.keySecret)) {
        if (!cr || !requestIsCurrent(cr) || cr.status?.state !== 'FINISHED' || !servesGeneration(o.keySecret, gen)) {
          return {
            type: 'fail',
            error:
              'the issued Secret no longer holds the issued certificate and the signed request is gone; issuing again',
            retry: true,
          };
        }
        return { type: 'write-issued-secret' };
      }
      return ic.spec.podBounceDirective ? { type: 'bounce-and-finish' } : { type: 'finish' };
    }
    case 'FINISHED': {
      // The Secret is the truth: a certificate whose spec did not change (left behind by an
      // earlier, failed or deleted rotation) but whose Secret does not hold the plan is issued again.
      const why = o.plan && issuedSecretMismatch(o.issuedSecret, o.plan);
      if (!why) return { type: 'done' };
      const cr = o.request;
      const issuedForThisPlan =
        !!cr &&
        serves(o.keySecret, gen, o.plan) &&
        serves(cr, gen, o.plan) &&
        issuedSecretHolds(o.issuedSecret, cr, o.keySecret);
      // Issued for this very plan and still not holding it: issuing again would loop.
      if (issuedForThisPlan)
        return {
          type: 'fail',
          error: `the issued Secret does not hold the plan it was issued for: ${why}`,
          retry: false,
        };
      return { type: 'fail', error: `${why}; issuing again`, retry: true };
    }
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
