// Install CustomResourceDefinitions through the API and wait until each is Established (its
// kind is then served), as `kubectl wait --for condition=established` would.
import { kubeRequest, sleep, type Creds } from './http.js';

interface Crd {
  metadata?: { name?: string };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

export async function installCrds(c: Creds, crds: unknown[], cluster: string, timeoutMs: number): Promise<void> {
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const names: string[] = [];
  for (const crd of crds as Crd[]) {
    const name = crd.metadata?.name;
    if (!name) throw new Error(`kube: a CRD without metadata.name in the CRD folder`);
    const r = await kubeRequest(c, 'POST', path, crd);
    if (r.status !== 201 && r.status !== 409)
      throw new Error(`kube: cluster ${cluster}: creating CRD ${name} failed: ${r.status} ${r.text.slice(0, 500)}`);
    names.push(name);
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const r = await kubeRequest(c, 'GET', `${path}/${name}`);
      const conds = r.status === 200 ? (r.json<Crd>().status?.conditions ?? []) : [];
      if (conds.some((x) => x.type === 'Established' && x.status === 'True')) break;
      if (Date.now() > deadline) {
        const why =
          conds.map((x) => `${x.type}=${x.status}${x.message ? ` (${x.message})` : ''}`).join(', ') || `${r.status}`;
        throw new Error(`kube: cluster ${cluster}: CRD ${name} not Established after ${timeoutMs} ms: ${why}`);
      }
      await sleep(50);
    }
  }
}
