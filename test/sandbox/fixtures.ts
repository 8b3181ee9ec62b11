// A CRD owned by the sandbox tests, so they do not move when manifests/crds does: a status
// subresource, printer columns, defaults, an unknown-field-closed schema and CEL rules
// (one a transition rule on oldSelf).
export const GROUP = 'sandbox.mesh-cert.test';
export const WIDGETS = { group: GROUP, version: 'v1', plural: 'widgets' } as const;

export const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    names: { kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget', shortNames: ['wg'] },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                required: ['size'],
                properties: {
                  size: { type: 'integer', minimum: 1, maximum: 10 },
                  color: { type: 'string', enum: ['red', 'blue'], default: 'red' },
                  tags: { type: 'array', maxItems: 3, items: { type: 'string', maxLength: 8 } },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
              status: {
                type: 'object',
                properties: {
                  phase: { type: 'string', enum: ['New', 'Building', 'Done', 'Failed'] },
                  observedGeneration: { type: 'integer', format: 'int64' },
                  message: { type: 'string' },
                },
                'x-kubernetes-validations': [
                  {
                    rule: "self.phase != 'Failed' || has(self.message)",
                    message: 'a Failed widget says why',
                    fieldPath: '.message',
                    reason: 'FieldValueRequired',
                  },
                ],
              },
            },
            'x-kubernetes-validations': [
              {
                rule: "!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase != 'Done' || (has(self.status) && has(self.status.phase) && self.status.phase == 'Done')",
                messageExpression:
                  "'a Done widget stays Done, not ' + (has(self.status) && has(self.status.phase) ? self.status.phase : 'unset')",
                fieldPath: '.status.phase',
              },
            ],
          },
        },
      },
    ],
  },
};

export const widget = (
  name: string,
  namespace = 'default',
  spec: Record<string, unknown> = { size: 3 },
  labels?: Record<string, string>,
): Record<string, unknown> => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'Widget',
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  spec,
});
