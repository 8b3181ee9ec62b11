{{/* The labels every webhook object carries (as manifests/webhook does). */}}
{{- define "mesh-cert.labels" -}}
app.kubernetes.io/name: mesh-cert-webhook
app.kubernetes.io/part-of: mesh-cert
{{- end }}

{{/* The image: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "mesh-cert.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/*
tls.mode: "manual" (a kubernetes.io/tls Secret that you make) is the only mode implemented.
Another mode (the webhook provisioning its own CA and certificate, or cert-manager) is to be
added here: until then any other value stops the render with this message.
*/}}
{{- define "mesh-cert.tlsMode" -}}
{{- if ne .Values.tls.mode "manual" -}}
{{- fail (printf "tls.mode %q is not implemented by this chart (mesh-cert %s): the only mode is \"manual\", a kubernetes.io/tls Secret named by tls.secretName (%s) in namespace %s that you make, e.g. with webhook/gen-certs.sh --apply or a cert-manager Certificate, with tls.caBundle set to its CA (base64 PEM); see manifests/helm/README.md" .Values.tls.mode .Chart.AppVersion .Values.tls.secretName .Release.Namespace) -}}
{{- end -}}
{{- end }}

{{/* The ConfigMap that holds the client CA, when there is one. */}}
{{- define "mesh-cert.clientCAConfigMap" -}}
{{- if .Values.clientCA.pem -}}mesh-cert-webhook-client-ca{{- else -}}{{ .Values.clientCA.configMap }}{{- end -}}
{{- end }}

{{/* The webhooks' clientConfig (path: /mutate or /validate). */}}
{{- define "mesh-cert.clientConfig" -}}
clientConfig:
  service:
    name: mesh-cert-webhook
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: 443
  {{- with .root.Values.tls.caBundle }}
  caBundle: {{ . }}
  {{- end }}
{{- end }}

{{/* Both webhooks route the same kinds. */}}
{{- define "mesh-cert.rules" -}}
sideEffects: None
admissionReviewVersions: ["v1"]
timeoutSeconds: 5
matchPolicy: Equivalent
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: [{{ .Release.Namespace | quote }}]
rules:
  - apiGroups: ["certificates.mesh.gloo.solo.io"]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: [issuedcertificates, issuedcertificates/status, certificaterequests, certificaterequests/status, certificaterotations, certificaterotations/status, podbouncedirectives, podbouncedirectives/status]
    scope: Namespaced
  - apiGroups: ["security.zephyr.solo.io"]
    apiVersions: ["v1alpha1"]
    operations: ["CREATE", "UPDATE"]
    resources: [virtualmeshcertificatesigningrequests, virtualmeshcertificatesigningrequests/status]
    scope: Namespaced
{{- end }}
