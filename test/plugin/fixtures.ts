// Certificates for the plugin tests, made with schemas/x509 (openssl checks them in the tests).
import { createCsr, createRootCa, generateRsaKey, signIntermediate } from '#schemas/x509/index.js';
import { b64 } from './helpers.js';

export interface Ca {
  certPem: string;
  keyPem: string;
}

export async function makeRoot(cn: string, ttlDays = 365): Promise<Ca> {
  const { privateKeyPem } = await generateRsaKey(2048);
  return {
    keyPem: privateKeyPem,
    certPem: createRootCa({ privateKeyPem, subject: { O: 'mesh-cert-test', CN: cn }, ttlDays }),
  };
}

export async function makeIntermediate(
  root: Ca,
  cn: string,
  ttlDays: number,
  hosts: string[] = [],
): Promise<Ca & { csrPem: string }> {
  const { privateKeyPem } = await generateRsaKey(2048);
  const csrPem = createCsr({ privateKeyPem, subject: { O: 'mesh-cert-test', OU: cn, CN: cn }, hosts });
  const certPem = signIntermediate({ csrPem, issuerCertPem: root.certPem, issuerKeyPem: root.keyPem, hosts, ttlDays });
  return { certPem, keyPem: privateKeyPem, csrPem };
}

/** A Secret in the Istio cacerts layout. */
export function cacertsSecret(ns: string, name: string, ca: Ca, root: Ca): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    type: 'Opaque',
    data: {
      'ca-cert.pem': b64(ca.certPem),
      'ca-key.pem': b64(ca.keyPem),
      'root-cert.pem': b64(root.certPem),
      'cert-chain.pem': b64(ca.certPem + root.certPem),
    },
  };
}

export function rootSecret(ns: string, name: string, root: Ca): object {
  return cacertsSecret(ns, name, root, root);
}

export const GLOO = 'certificates.mesh.gloo.solo.io/v1';
export const ZEPHYR = 'security.zephyr.solo.io/v1alpha1';

export function namespace(name: string): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** Where the API server calls a webhook: a URL, or a Service. */
export type ClientConfig = { url: string } | { service: { name: string; namespace: string; port: number } };

/**
 * The two webhook configurations of our kinds (both groups), as a test registers them: `to` says
 * where each path is served; no caBundle when `caPem` is undefined.
 */
export function webhookConfigs(to: (path: string) => ClientConfig, caPem: string | undefined): object[] {
  const rules = [
    {
      apiGroups: ['certificates.mesh.gloo.solo.io'],
      apiVersions: ['v1'],
      operations: ['CREATE', 'UPDATE'],
      resources: ['*', '*/status'],
      scope: 'Namespaced',
    },
    {
      apiGroups: ['security.zephyr.solo.io'],
      apiVersions: ['v1alpha1'],
      operations: ['CREATE', 'UPDATE'],
      resources: ['*', '*/status'],
      scope: 'Namespaced',
    },
  ];
  const hook = (name: string, path: string) => ({
    name,
    clientConfig: { ...to(path), ...(caPem ? { caBundle: b64(caPem) } : {}) },
    rules,
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    timeoutSeconds: 5,
  });
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'mesh-cert-webhook' },
      webhooks: [hook('validate.mesh-cert.io', '/validate')],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'mesh-cert-webhook' },
      webhooks: [hook('mutate.mesh-cert.io', '/mutate')],
    },
  ];
}
