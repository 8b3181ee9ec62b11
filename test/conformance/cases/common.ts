// What the cases share: paths, the test CRD (the sandbox tests' Widget: a status subresource,
// printer columns, defaults, a closed schema and CEL rules), objects.
import { GROUP, widgetCrd } from '../../sandbox/fixtures.js';

export { GROUP, widgetCrd };

export const cm = (ns: string, name = ''): string => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;
export const sec = (ns: string, name = ''): string => `/api/v1/namespaces/${ns}/secrets${name ? `/${name}` : ''}`;
export const wg = (ns: string, name = ''): string =>
  `/apis/${GROUP}/v1/namespaces/${ns}/widgets${name ? `/${name}` : ''}`;
export const nsPath = (name = ''): string => `/api/v1/namespaces${name ? `/${name}` : ''}`;
export const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

export const configMap = (
  name: string,
  extra: Record<string, unknown> = {},
  data: Record<string, string> = { k: 'v' },
): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data });

export const widget = (
  name: string,
  spec: Record<string, unknown> = { size: 3 },
  meta: Record<string, unknown> = {},
): Record<string, unknown> => ({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name, ...meta }, spec });

export const MERGE = { contentType: 'application/merge-patch+json' };
export const JSONPATCH = { contentType: 'application/json-patch+json' };
export const STRATEGIC = { contentType: 'application/strategic-merge-patch+json' };
export const APPLY = { contentType: 'application/apply-patch+yaml' };

/** An IssuedCertificate as mesh-cert writes them. */
export const icert = (name: string, ns: string, ttlDays = 30): string => `apiVersion: certificates.mesh.gloo.solo.io/v1
kind: IssuedCertificate
metadata:
  name: ${name}
  namespace: ${ns}
  labels: {mesh: m1}
spec:
  hosts: ["spiffe://cluster1/ns/istio-system/sa/istiod"]
  certOptions: {ttlDays: ${ttlDays}, orgName: gloo-mesh}
  glooMeshCa:
    signingCertificateSecret: {name: root, namespace: gloo-mesh}
  issuedCertificateSecret: {name: cacerts, namespace: ${ns}}
`;

export const yaml = (o: unknown): string => JSON.stringify(o);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
