// A management-cluster signing Secret, read and verified (schemas/x509 reads the Istio, legacy and
// kubernetes.io/tls layouts). Only the issuer role reads these: their keys never leave the
// management cluster.
import { verifySigningSecret } from '#schemas/x509/index.js';
import type { ClusterApi } from '../cluster-api.js';
import type { ObjectRef } from '../objects.js';
import { refString } from '../objects.js';

export interface SigningMaterial {
  caCertPem: string;
  caKeyPem: string;
  rootPems: string[];
  chainPems: string[];
}

/** An answer the issuer writes as FAILED: the request cannot be signed as it stands. */
export class SigningError extends Error {
  override name = 'SigningError';
}

export async function loadSigningSecret(mgmt: ClusterApi, ref: ObjectRef): Promise<SigningMaterial> {
  const secret = await mgmt.getSecret(ref.namespace, ref.name);
  if (!secret)
    throw new SigningError(`signing Secret ${refString(ref)} not found in the management cluster "${mgmt.name}"`);
  const v = verifySigningSecret(secret.data ?? {});
  if (!v.ok) throw new SigningError(`signing Secret ${refString(ref)}: ${v.error}`);
  return { caCertPem: v.caCertPem, caKeyPem: v.caKeyPem, rootPems: v.rootPems, chainPems: v.chainPems };
}

/** A PEM without its whitespace: two encodings of the same certificate compare equal. */
export const normPem = (pem: string): string => pem.replace(/\s+/g, '');

/** PEMs in order, each once. */
export function uniquePems(pems: string[]): string[] {
  const seen = new Set<string>();
  return pems.filter((p) => {
    const k = normPem(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
