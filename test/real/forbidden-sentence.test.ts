// translateError's 403 sentence (plugin/src/lib/k8s.ts) on the messages kube-apiserver's RBAC
// authorizer writes; other 403s keep the API server's own message.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../plugin/src/lib/errors.js';
import { translateError } from '../../plugin/src/lib/k8s.js';

const status = (message: string, code = 403, reason = 'Forbidden') => ({
  code,
  body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }),
});

describe('a 403 from RBAC', () => {
  it('names the verb, the resource, the namespace, the cluster and the user', () => {
    const e = translateError(
      status(
        'secrets "cacerts" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "istio-system"',
      ),
      'c1',
      'get Secret istio-system/cacerts',
    );
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(403);
    expect((e as ApiError).reason).toBe('Forbidden');
    expect(e.message).toBe(
      'cannot get secrets in namespace istio-system on cluster "c1": user "alice" lacks this RBAC permission (forbidden)',
    );
  });

  it('qualifies a resource of an API group, keeps a subresource, says cluster scope', () => {
    expect(
      translateError(
        status(
          'issuedcertificates.certificates.mesh.gloo.solo.io "x" is forbidden: User "bob" cannot update resource "issuedcertificates/status" in API group "certificates.mesh.gloo.solo.io" in the namespace "istio-system"',
        ),
        'c1',
        'replace status',
      ).message,
    ).toBe(
      'cannot update issuedcertificates.certificates.mesh.gloo.solo.io/status in namespace istio-system on cluster "c1": user "bob" lacks this RBAC permission (forbidden)',
    );
    expect(
      translateError(
        status(
          'namespaces is forbidden: User "system:serviceaccount:ops:mc" cannot list resource "namespaces" in API group "" at the cluster scope',
        ),
        'mgmt',
        'list Namespaces',
      ).message,
    ).toBe(
      'cannot list namespaces at cluster scope on cluster "mgmt": user "system:serviceaccount:ops:mc" lacks this RBAC permission (forbidden)',
    );
    // the authorizer's extra reason (a binding to a missing role) does not change the sentence
    expect(
      translateError(
        status(
          'secrets is forbidden: User "carol" cannot create resource "secrets" in API group "" in the namespace "gloo-mesh": RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found',
        ),
        'mgmt',
        'create Secret',
      ).message,
    ).toBe(
      'cannot create secrets in namespace gloo-mesh on cluster "mgmt": user "carol" lacks this RBAC permission (forbidden)',
    );
  });
});

describe('other answers keep their message', () => {
  it('a webhook denial with code 403, a terminating namespace, a 404', () => {
    const webhook =
      'admission webhook "validate.mesh-cert.io" denied the request: CertificateRotation.certificates.mesh.gloo.solo.io "r2" is forbidden: VirtualMesh gloo-mesh/vm already has an active CertificateRotation gloo-mesh/r1';
    expect(translateError(status(webhook), 'mgmt', 'create CertificateRotation gloo-mesh/r2').message).toBe(
      `create CertificateRotation gloo-mesh/r2 on cluster "mgmt": ${webhook}`,
    );
    const terminating =
      'secrets "x" is forbidden: unable to create new content in namespace gone because it is being terminated';
    expect(translateError(status(terminating), 'c1', 'create Secret gone/x').message).toBe(
      `create Secret gone/x on cluster "c1": ${terminating}`,
    );
    expect(translateError(status('secrets "x" not found', 404, 'NotFound'), 'c1', 'get Secret a/x').message).toBe(
      'get Secret a/x on cluster "c1": secrets "x" not found',
    );
  });
});
