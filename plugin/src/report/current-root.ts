// "The current root" of an issued certificate: the root-cert.pem of the signing Secret that the
// IssuedCertificate names in the management cluster (or the Secret given by --root-secret).
import { PkiError } from '#schemas/x509/errors.js';
import { base64Text, certificatesIn } from '#schemas/x509/pem.js';
import { ISTIO_KEYS } from '#schemas/x509/secret-keys.js';
import type { IssuedCertificateSpec } from '#schemas/src/index.js';
import type { Cluster } from '../lib/clusters.js';
import { UserError, errorMessage } from '../lib/errors.js';
import type { KObject } from '../lib/k8s.js';
import { resourceOf } from '../lib/kinds.js';
import type { Ref } from '../lib/refs.js';
import type { CurrentRoot } from './inspect.js';

/** An IssuedCertificate as listed: schemas' spec type (the contract), the client's metadata. */
export type IcLike = KObject & { spec?: IssuedCertificateSpec };

async function rootOfSecret(mgmt: Cluster, ref: Ref): Promise<CurrentRoot> {
  const k8s = await mgmt.client();
  const s = await k8s.findSecret(ref.namespace, ref.name);
  const source = `Secret ${ref.namespace}/${ref.name} on cluster ${mgmt.name}`;
  if (!s) throw new UserError(`${source} not found`);
  // Not base64: a UserError naming the Secret and the key (the root cannot be known).
  try {
    return {
      source,
      pems: certificatesIn(base64Text(s.data?.[ISTIO_KEYS.rootCert], `${source}: ${ISTIO_KEYS.rootCert}`)),
    };
  } catch (err) {
    if (err instanceof PkiError) throw new UserError(err.message);
    throw err;
  }
}

/**
 * Finds the current root for an object of `cluster`: `explicit` if given, else through the
 * IssuedCertificate `match` selects. Returns undefined (with a note) when none can be found.
 */
export async function findCurrentRoot(opts: {
  cluster: Cluster;
  mgmt: Cluster;
  explicit?: Ref;
  match: (ic: IcLike) => boolean;
  notes: string[];
}): Promise<CurrentRoot | undefined> {
  if (opts.explicit) return rootOfSecret(opts.mgmt, opts.explicit);
  try {
    const k8s = await opts.cluster.client();
    const ics = await k8s.list<IcLike>(resourceOf('IssuedCertificate'), undefined);
    const ic = ics.find(opts.match);
    if (!ic) return undefined;
    const signing = ic.spec?.glooMeshCa?.signingCertificateSecret ?? ic.spec?.signingCertificateSecret;
    if (!signing?.name) return undefined;
    return await rootOfSecret(opts.mgmt, {
      namespace: signing.namespace || ic.metadata.namespace || 'default',
      name: signing.name,
    });
  } catch (err) {
    opts.notes.push(`could not determine the current root: ${errorMessage(err)}`);
    return undefined;
  }
}
