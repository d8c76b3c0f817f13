{{- define "hub.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hub.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "hub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component (worker, api, migrate): pass (list $ "worker"). */}}
{{- define "hub.selector" -}}
app.kubernetes.io/name: {{ include "hub.name" (index . 0) }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "hub.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "hub.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "hub.fullname" .)) -}}
{{- end -}}

{{/* The HUB_* environment every hub container gets: settings from values, secrets by reference. */}}
{{- define "hub.env" -}}
- name: HUB_KAFKA_BOOTSTRAP
  value: {{ required "kafka.bootstrap is required: the Kafka brokers, host:port,..." .Values.kafka.bootstrap | quote }}
- name: HUB_PARTITIONS
  value: {{ .Values.kafka.partitions | quote }}
- name: HUB_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: HUB_DATA_DIR
  value: /var/lib/hub
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- range $key := list "HUB_PII_KEY" "HUB_DATABASE_URL" "HUB_API__TOKENS" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "hub.secretName" $ }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/* prometheus.io/* annotations of a pod: pass (list $ port). */}}
{{- define "hub.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ index . 1 | quote }}
prometheus.io/path: /metrics
{{- end -}}

{{/* The checks that make a bad value fail at `helm install` rather than in the pods. */}}
{{- define "hub.validate" -}}
{{- if gt (int .Values.worker.replicas) (int .Values.kafka.partitions) -}}
{{- fail (printf "worker.replicas (%d) is more than kafka.partitions (%d): the extra workers would get no partition" (int .Values.worker.replicas) (int .Values.kafka.partitions)) -}}
{{- end -}}
{{- range $name, $_ := .Values.config -}}
{{- if not (hasPrefix "HUB_" $name) -}}
{{- fail (printf "config.%s: the hub reads only HUB_* variables" $name) -}}
{{- end -}}
{{- if has $name (list "HUB_PII_KEY" "HUB_DATABASE_URL" "HUB_API__TOKENS") -}}
{{- fail (printf "config.%s is a secret: give it under secrets (or in secrets.existingSecret)" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
