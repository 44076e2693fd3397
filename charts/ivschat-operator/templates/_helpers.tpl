{{/*
Chart name, shortened to the 63 characters a label value allows.
*/}}
{{- define "ivschat-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Base name of the release's objects: fullnameOverride, or the release name when it
already contains the chart name, or "<release>-<chart>".
*/}}
{{- define "ivschat-operator.fullname" -}}
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

{{/*
Value of the helm.sh/chart label.
*/}}
{{- define "ivschat-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels that select the operator Pods. They never change between upgrades,
because a Deployment's selector is immutable.
*/}}
{{- define "ivschat-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ivschat-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels on every object of the release.
*/}}
{{- define "ivschat-operator.labels" -}}
helm.sh/chart: {{ include "ivschat-operator.chart" . }}
{{ include "ivschat-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Name of the ServiceAccount the operator runs as.
*/}}
{{- define "ivschat-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ivschat-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
"true" when leader election is on: as leaderElection.enabled says, or, when that
is null, whenever more than one replica runs.
*/}}
{{- define "ivschat-operator.leaderElect" -}}
{{- if kindIs "bool" .Values.leaderElection.enabled }}
{{- .Values.leaderElection.enabled }}
{{- else }}
{{- gt (int .Values.replicaCount) 1 }}
{{- end }}
{{- end }}

{{/*
Name of the leader-election Lease.
*/}}
{{- define "ivschat-operator.leaseName" -}}
{{- default (include "ivschat-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
Image reference: repository with the digest when one is set, else with the tag
(the chart's appVersion by default).
*/}}
{{- define "ivschat-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Rules the operator needs in every namespace it watches: its two kinds with their
status and finalizers, the Events it writes about them and, unless turned off, the
ConfigMaps that spec.publishTo names. Nothing else, so no Secrets or Pods, and no
list or watch of ConfigMaps.
*/}}
{{- define "ivschat-operator.watchRules" -}}
- apiGroups: ["ivschat.operators.dev"]
  resources: ["chatrooms", "chatloggingconfigurations"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["ivschat.operators.dev"]
  resources: ["chatrooms/status", "chatloggingconfigurations/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["ivschat.operators.dev"]
  resources: ["chatrooms/finalizers", "chatloggingconfigurations/finalizers"]
  verbs: ["update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.rbac.publishConfigMaps }}
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch", "delete"]
{{- end }}
{{- end }}
