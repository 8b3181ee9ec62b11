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
tls.mode: self (the default), certManager or manual (values.yaml says what each does); the
schema refuses anything else, and so does this, naming the three for `--set` users.
*/}}
{{- define "mesh-cert.tlsMode" -}}
{{- if not (has .Values.tls.mode (list "self" "certManager" "manual")) -}}
{{- fail (printf "tls.mode %q: expected self (the webhook makes, renews and injects its own certificates), certManager (cert-manager issues them) or manual (a kubernetes.io/tls Secret you make); see manifests/helm/README.md" .Values.tls.mode) -}}
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
  {{- if and (eq .root.Values.tls.mode "manual") .root.Values.tls.caBundle }}
  caBundle: {{ .root.Values.tls.caBundle }}
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

{{/* Metadata of both webhook configurations: certManager has cainjector fill the caBundles. */}}
{{- define "mesh-cert.webhookMetadata" -}}
name: mesh-cert-webhook
labels:
  {{- include "mesh-cert.labels" . | nindent 2 }}
{{- if eq .Values.tls.mode "certManager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/mesh-cert-webhook-tls
{{- end }}
{{- end }}
