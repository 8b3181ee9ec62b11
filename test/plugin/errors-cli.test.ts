// Errors that say what to do, as a user meets them on each backend: a cluster without mesh-cert's
// CRDs (issue, rotate, approve name the CRD and the command that installs it), an admission
// webhook the API server cannot reach (issue fails at once, naming the webhook and `check`,
// rather than retrying a 500 for its whole --timeout); and kubectl's global flags -v=6 (one line
// per request) and --as / --as-group (the impersonated user is who the server answers about).
import { describe, expect, it } from 'vitest';
import { apply } from './helpers.js';
import { BACKENDS } from '../backend/index.js';
import { useCliWorld } from './cli-world.js';

const ISSUE = (name: string, cluster: string, ...extra: string[]) => [
  'issue',
  name,
  '--mgmt-context',
  'mgmt',
  '--managed-clusters',
  cluster,
  '-n',
  'istio-system',
  '--host',
  `spiffe://${name}.local/ns/istio-system/sa/istiod`,
  '--signing-secret',
  'gloo-mesh/root-ca',
  '--key-size',
  '2048',
  ...extra,
];

for (const backend of BACKENDS) {
  describe(backend, () => {
    const world = useCliWorld(backend, ['mgmt', 'c1', 'c2', 'c3']);
    const { mc } = world;

    it('a cluster without the CRDs: issue, rotate and approve name the missing CRD and how to install it', async () => {
      for (const crd of [
        'issuedcertificates.certificates.mesh.gloo.solo.io',
        'virtualmeshcertificatesigningrequests.security.zephyr.solo.io',
      ]) {
        await world.kubectl('c2', ['delete', 'crd', crd, '--wait=true']);
      }
      const install = "install mesh-cert's CRDs there: `kubectl --context c2 apply -k manifests/`";
      const issue = await mc(ISSUE('no-crd', 'c2'));
      expect(issue.code).toBe(1);
      expect(issue.stderr).toContain(
        'CRD issuedcertificates.certificates.mesh.gloo.solo.io is not installed on cluster "c2"',
      );
      expect(issue.stderr).toContain(install);
      expect(issue.stderr).not.toMatch(/^error: [^\n]*: the server could not find the requested resource$/m);

      const rotate = await mc([
        'rotate',
        '--virtual-mesh',
        'gloo-mesh/vm',
        '--mgmt-context',
        'mgmt',
        '--managed-clusters',
        'c2',
        '--new-root-secret',
        'gloo-mesh/root-ca',
        '--yes',
      ]);
      expect(rotate.code).toBe(1);
      expect(rotate.stderr).toContain(
        'CRD issuedcertificates.certificates.mesh.gloo.solo.io is not installed on cluster "c2"',
      );
      expect(rotate.stderr).toContain(install);

      const approve = await mc(['approve', 'some-csr', '-n', 'istio-system', '--context', 'c2']);
      expect(approve.code).toBe(1);
      expect(approve.stderr).toContain(
        'CRD virtualmeshcertificatesigningrequests.security.zephyr.solo.io is not installed on cluster "c2"',
      );
      expect(approve.stderr).toContain(install);
    }, 120_000);

    it('an admission webhook the API server cannot connect to: issue fails at once (exit 1, not 124 at --timeout), naming it and check', async () => {
      // Nothing listens on port 1: the API server's call is refused.
      const dead = {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'dead' },
        webhooks: [
          {
            name: 'dead.mesh-cert.test',
            clientConfig: { url: 'https://127.0.0.1:1/validate' },
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            failurePolicy: 'Fail',
            timeoutSeconds: 5,
            rules: [
              {
                apiGroups: ['certificates.mesh.gloo.solo.io'],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['*', '*/status'],
                scope: 'Namespaced',
              },
            ],
          },
        ],
      };
      await apply(world.kubeconfigPath, 'c3', dead);
      const r = await mc([...ISSUE('hook-down', 'c3'), '--timeout', '50s']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        'create IssuedCertificate istio-system/hook-down on cluster "c3" was refused because the API server cannot reach the admission webhook "dead.mesh-cert.test": check it with `kubectl mesh-cert check --context c3`',
      );
      expect(r.stderr).toMatch(/connection refused/);
    }, 60_000);

    it('-v=6 logs one line per request (method, URL, status, duration), no credentials', async () => {
      const r = await mc(['approve', 'nope', '-n', 'istio-system', '--context', 'c1', '-v=6']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^I\d{4} [\d:.]+ \[c1\] GET https:\/\/[^ ]+\/apis\/security\.zephyr\.solo\.io\/v1alpha1\/namespaces\/istio-system\/virtualmeshcertificatesigningrequests\/nope 404 Not Found in \d+ milliseconds$/m,
      );
      expect(r.stderr).not.toMatch(/bearer|authorization/i);
      const quiet = await mc(['approve', 'nope', '-n', 'istio-system', '--context', 'c1', '-v=5']);
      expect(quiet.stderr).not.toMatch(/ GET https:/);
    });

    it('--as sends the impersonated user on every request: the server answers about that user', async () => {
      const r = await mc(['approve', 'nope', '-n', 'istio-system', '--context', 'c1', '--as', 'bob']);
      expect(r.code).toBe(1);
      // The real API server's RBAC: bob may not read it. The sandbox has no RBAC and says so.
      expect(r.stderr).toMatch(
        backend === 'kube' ? /user "bob" lacks this RBAC permission/ : /impersonation \(Impersonate-User: bob\)/,
      );
      const groupless = await mc([
        'approve',
        'nope',
        '-n',
        'istio-system',
        '--context',
        'c1',
        '--as-group',
        'system:masters',
      ]);
      expect(groupless.code).toBe(1);
      expect(groupless.stderr).toContain('--as-group needs --as');
    });

    // Only the real API server has RBAC to grant a group (the sandbox serves no impersonation).
    if (backend === 'kube') {
      it('--as-group, repeated, sends one header line per group: system:masters among them grants the read', async () => {
        const r = await mc([
          'approve',
          'nope',
          '-n',
          'istio-system',
          '--context',
          'c1',
          '--as',
          'bob',
          '--as-group',
          'mesh-readers',
          '--as-group',
          'system:masters',
        ]);
        expect(r.code).toBe(1);
        expect(r.stderr.trim()).toBe(
          'error: VirtualMeshCertificateSigningRequest istio-system/nope not found on cluster "c1"',
        );
      });
    }
  });
}
