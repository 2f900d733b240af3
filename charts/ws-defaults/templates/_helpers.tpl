{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "ws-defaults.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: fullnameOverride, else the release name
when it already contains the chart name, else <release>-<chart>.
*/}}
{{- define "ws-defaults.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ws-defaults.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ws-defaults.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ws-defaults.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ws-defaults.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ws-defaults
{{- end }}

{{/* The Secret holding tls.crt and tls.key, mounted at /certs. */}}
{{- define "ws-defaults.certSecretName" -}}
{{- printf "%s-webhook-tls" (include "ws-defaults.fullname" .) }}
{{- end }}

{{/* The cert-manager Certificate whose CA is injected into the webhook configurations. */}}
{{- define "ws-defaults.servingCertName" -}}
{{- printf "%s-serving" (include "ws-defaults.fullname" .) }}
{{- end }}

{{/* The webhook configurations' names are fixed (webhook/registration). */}}
{{- define "ws-defaults.mutatingName" -}}ws-defaults-mutating{{- end }}
{{- define "ws-defaults.validatingName" -}}ws-defaults-validating{{- end }}

{{/* The Lease name of leader election (webhook/server: LeaderElectionID). */}}
{{- define "ws-defaults.leaseName" -}}ws-defaults.io{{- end }}

{{- define "ws-defaults.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Annotations on both webhook configurations: cert-manager's CA injector
writes the serving Certificate's CA into every caBundle.
*/}}
{{- define "ws-defaults.webhookAnnotations" -}}
{{- if .Values.certManager.enabled -}}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "ws-defaults.servingCertName" .) }}
{{- end }}
{{- end }}

{{/* clientConfig of every webhook entry; $path is /mutate or /validate. */}}
{{- define "ws-defaults.clientConfig" -}}
{{- $ := index . 0 -}}
clientConfig:
  service:
    name: {{ include "ws-defaults.fullname" $ }}
    namespace: {{ $.Release.Namespace }}
    path: {{ index . 1 }}
    port: {{ $.Values.service.port }}
{{- end }}

{{/*
kubernetes.io/metadata.name NotIn: the system namespaces, the release's own,
and excludedNamespaces (webhook/registration: Options.Excluded).
*/}}
{{- define "ws-defaults.notExcluded" -}}
- key: kubernetes.io/metadata.name
  operator: NotIn
  values:
  - kube-system
  - kube-public
  - kube-node-lease
  - {{ .Release.Namespace }}
  {{- range .Values.excludedNamespaces }}
  - {{ . }}
  {{- end }}
{{- end }}

{{/* Namespaces labelled ws-defaults=enabled, minus the excluded ones. */}}
{{- define "ws-defaults.enabledNamespaces" -}}
namespaceSelector:
  matchLabels:
    ws-defaults: enabled
  matchExpressions:
  {{- include "ws-defaults.notExcluded" . | nindent 2 }}
{{- end }}

{{/* Namespaces not labelled ws-defaults=enabled, minus the excluded ones. */}}
{{- define "ws-defaults.otherNamespaces" -}}
namespaceSelector:
  matchExpressions:
  - key: ws-defaults
    operator: NotIn
    values:
    - enabled
  {{- include "ws-defaults.notExcluded" . | nindent 2 }}
{{- end }}

{{- define "ws-defaults.objectNotLabelled" -}}
objectSelector:
  matchExpressions:
  - key: ws-defaults
    operator: NotIn
    values:
    - {{ . }}
{{- end }}

{{- define "ws-defaults.objectLabelled" -}}
objectSelector:
  matchLabels:
    ws-defaults: {{ . }}
{{- end }}

{{/* Fields every entry shares. */}}
{{- define "ws-defaults.entryCommon" -}}
sideEffects: None
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
admissionReviewVersions:
- v1
{{- end }}

{{/* webhook/registration: MutatedResources (docs: defaults.md). */}}
{{- define "ws-defaults.mutatedRules" -}}
rules:
- operations: [CREATE, UPDATE]
  apiGroups: [networking.k8s.io]
  apiVersions: [v1]
  resources: [ingresses]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [""]
  apiVersions: [v1]
  resources: [services]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [networking.istio.io]
  apiVersions: [v1, v1beta1, v1alpha3]
  resources: [destinationrules]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [projectcontour.io]
  apiVersions: [v1]
  resources: [httpproxies]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [cloud.google.com]
  apiVersions: [v1, v1beta1]
  resources: [backendconfigs]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [gateway.networking.k8s.io]
  apiVersions: [v1, v1beta1]
  resources: [httproutes]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [gateway.envoyproxy.io]
  apiVersions: [v1alpha1]
  resources: [backendtrafficpolicies]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [gateway.nginx.org]
  apiVersions: [v1alpha1]
  resources: [proxysettingspolicies]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [networking.gke.io]
  apiVersions: [v1]
  resources: [gcpbackendpolicies]
  scope: Namespaced
{{- end }}

{{/* webhook/registration: ValidatedResources (docs: rules.md). */}}
{{- define "ws-defaults.validatedRules" -}}
rules:
- operations: [CREATE, UPDATE]
  apiGroups: [networking.k8s.io]
  apiVersions: [v1]
  resources: [ingresses]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [""]
  apiVersions: [v1]
  resources: [services]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [networking.istio.io]
  apiVersions: [v1, v1beta1, v1alpha3]
  resources: [destinationrules, virtualservices]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [traefik.io]
  apiVersions: [v1alpha1]
  resources: [serverstransports, serverstransporttcps, middlewares]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [traefik.containo.us]
  apiVersions: ["*"]
  resources: ["*"]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [policy.linkerd.io]
  apiVersions: ["*"]
  resources: [servers, serverauthorizations]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [projectcontour.io]
  apiVersions: [v1]
  resources: [httpproxies]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [cloud.google.com]
  apiVersions: [v1, v1beta1]
  resources: [backendconfigs]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [gateway.networking.k8s.io]
  apiVersions: [v1, v1beta1]
  resources: [httproutes]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [gateway.networking.k8s.io]
  apiVersions: [v1]
  resources: [grpcroutes]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [networking.x-k8s.io]
  apiVersions: ["*"]
  resources: ["*"]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [gateway.envoyproxy.io]
  apiVersions: [v1alpha1]
  resources: [backendtrafficpolicies, clienttrafficpolicies]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [gateway.nginx.org]
  apiVersions: [v1alpha1]
  resources: [proxysettingspolicies, clientsettingspolicies, upstreamsettingspolicies]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [networking.gke.io]
  apiVersions: [v1]
  resources: [gcpbackendpolicies]
  scope: Namespaced
- operations: [CREATE, UPDATE]
  apiGroups: [configuration.konghq.com]
  apiVersions: [v1]
  resources: [kongingresses]
  scope: Namespaced
{{- end }}
