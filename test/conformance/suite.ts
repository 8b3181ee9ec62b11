// Setting up both servers for the cases: the test webhook of each, the Widget CRD installed and
// served (our manifests/crds are installed by both at start).
import { CRDS, widgetCrd } from './cases/common.js';
import type { Target } from './targets.js';
import { startHook, type Hook } from './webhook.js';

export interface Side {
  t: Target;
  hook: Hook;
}

export async function prepare(t: Target): Promise<Side> {
  const hook = await startHook();
  const r = await t.raw('POST', CRDS, widgetCrd);
  if (r.status !== 201 && r.status !== 409)
    throw new Error(`${t.kind}: installing the Widget CRD: ${r.status} ${r.text}`);
  const end = Date.now() + 60_000;
  for (;;) {
    const l = await t.raw('GET', `/apis/${widgetCrd.spec.group}/v1/widgets`);
    if (l.status === 200) break;
    if (Date.now() > end) throw new Error(`${t.kind}: the Widget CRD is not served after 60 s`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return { t, hook };
}

export async function release(s: Side | undefined): Promise<void> {
  if (!s) return;
  await s.hook.close();
  await s.t.stop();
}
