// The test fixtures the benchmarks run against, and the one place bench/ reaches into test/: the
// sandbox API server and the real control plane (test/kube) to measure against, the trust
// watcher that referees a rotation, and the webhook suites' review builders and certificates.
// These are test infrastructure on purpose (the benchmarks measure what the tests check), so
// they stay in test/; each is loaded only when a suite asks for it.
export type { Sandbox } from '../test/sandbox/index.js';
export type { Report as TrustWatcherReport } from '../test/trust-watcher/index.js';

export const sandboxFixture = () => import('../test/sandbox/index.js');
export const kubeFixture = () => import('../test/kube/index.js');
export const trustWatcherFixture = () => import('../test/trust-watcher/index.js');
export const webhookHelpersFixture = () => import('../test/webhook/helpers.js');
export const webhookObjectsFixture = () => import('../test/webhook/fixtures.js');
export const attackShapesFixture = () => import('../test/webhook/attack-shapes.js');
export const webhookProcessFixture = () => import('../test/webhook/webhook-process.js');
export const loadgenFixture = () => import('../test/loadgen/ensure.js');
export const realClusterFixture = () => import('../test/real/helpers.js');
