// The keys of the Secrets mesh-cert reads and writes: the one home of these names. Apart from
// secret.ts (which reads and builds such Secrets) so that light callers (the report commands'
// fast path) can name the keys without loading the certificate library.
//   ca-cert.pem     the CA certificate
//   ca-key.pem      its private key
//   root-cert.pem   the root(s) to trust (old + new during a rotation)
//   cert-chain.pem  ca-cert followed by the chain up to the root
export const ISTIO_KEYS = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  rootCert: 'root-cert.pem',
  certChain: 'cert-chain.pem',
} as const;

/** Legacy Gloo Mesh root Secrets hold key.pem + root-cert.pem (the root signs directly). */
export const LEGACY_KEY = 'key.pem';

/**
 * cert-manager's kubernetes.io/tls layout, read as a signing Secret too. Istio 1.15 and later
 * load these from cacerts in preference to the *.pem ones.
 */
export const TLS_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;
