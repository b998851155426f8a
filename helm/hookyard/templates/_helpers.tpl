{{/*
Every named template of this chart is called hookyard.*.
*/}}

{{/* Chart name, overridable. */}}
{{- define "hookyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name prefix of every object: <release>-hookyard unless the release already says hookyard. */}}
{{- define "hookyard.fullname" -}}
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

{{/* name-version for the helm.sh/chart label. */}}
{{- define "hookyard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: immutable, so only name, instance and component.
Call with (dict "context" $ "component" "ingest").
*/}}
{{- define "hookyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookyard.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
All labels of an object: the selector labels plus chart, version and managed-by.
Call with (dict "context" $ "component" "ingest").
*/}}
{{- define "hookyard.labels" -}}
helm.sh/chart: {{ include "hookyard.chart" .context }}
{{ include "hookyard.selectorLabels" . }}
app.kubernetes.io/part-of: hookyard
{{- with .context.Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Name of an object of one component: <fullname>-<component>. */}}
{{- define "hookyard.componentName" -}}
{{- printf "%s-%s" (include "hookyard.fullname" .context) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Worker component name from its values key: customerSync -> customer-sync (also its queue). */}}
{{- define "hookyard.workerComponent" -}}
{{- kebabcase . }}
{{- end }}

{{/* Worker module from its values key: customerSync -> workers.customer_sync. */}}
{{- define "hookyard.workerModule" -}}
{{- printf "workers.%s" (snakecase .) }}
{{- end }}

{{- define "hookyard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "hookyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hookyard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret every pod loads: the existing one or the chart's. */}}
{{- define "hookyard.secretName" -}}
{{- default (include "hookyard.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "hookyard.configMapName" -}}
{{- printf "%s-config" (include "hookyard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Service name of the bundled Redis. */}}
{{- define "hookyard.redisHost" -}}
{{- include "hookyard.componentName" (dict "context" . "component" "redis") }}
{{- end }}

{{/* HOOKYARD_REDIS_URL when the chart creates the Secret. */}}
{{- define "hookyard.redisUrl" -}}
{{- if .Values.secrets.redisUrl }}
{{- .Values.secrets.redisUrl }}
{{- else if .Values.redis.enabled }}
{{- if .Values.redis.auth }}
{{- printf "redis://:%s@%s:6379/%d" (urlquery .Values.secrets.redisPassword) (include "hookyard.redisHost" .) (int .Values.keda.redis.databaseIndex) }}
{{- else }}
{{- printf "redis://%s:6379/%d" (include "hookyard.redisHost" .) (int .Values.keda.redis.databaseIndex) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A service's own HOOKYARD_REDIS_URL (e.g. its Redis ACL user), from a Secret only its pods load;
an env entry beats the shared Secret's key of the same name loaded by envFrom. Renders nothing
when the service has no Secret of its own. Call with the service's `redis` values.
*/}}
{{- define "hookyard.serviceRedisUrlEnv" -}}
{{- if .existingSecret -}}
- name: HOOKYARD_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .urlKey }}
{{- end }}
{{- end }}

{{/* "true" when ingest and every worker have Redis credentials of their own (no shared URL needed). */}}
{{- define "hookyard.everyServiceHasOwnRedis" -}}
{{- $own := .Values.ingest.redis.existingSecret }}
{{- range $key, $worker := .Values.workers }}
{{- if not $worker.redis.existingSecret }}
{{- $own = "" }}
{{- end }}
{{- end }}
{{- if $own }}true{{ end }}
{{- end }}

{{/* host:port KEDA reads the queue lengths from. */}}
{{- define "hookyard.kedaRedisAddress" -}}
{{- if .Values.keda.redis.address }}
{{- .Values.keda.redis.address }}
{{- else if .Values.redis.enabled }}
{{- printf "%s:6379" (include "hookyard.redisHost" .) }}
{{- end }}
{{- end }}

{{/*
Refuse to render a configuration that cannot work, naming the value to fix.
Included once, from configmap.yaml.
*/}}
{{- define "hookyard.validate" -}}
{{- if and (not .Values.secrets.existingSecret) (not (include "hookyard.redisUrl" .)) (not (include "hookyard.everyServiceHasOwnRedis" .)) }}
{{- fail "secrets.redisUrl is required (redis://[:password@]host:port/0), unless secrets.existingSecret is set, redis.enabled=true, or ingest and every worker have redis.existingSecret" }}
{{- end }}
{{- if and .Values.redis.enabled .Values.redis.auth (not .Values.secrets.existingSecret) (not .Values.secrets.redisPassword) }}
{{- fail "redis.enabled with redis.auth needs secrets.redisPassword (or secrets.existingSecret holding secrets.redisPasswordKey), or set redis.auth=false" }}
{{- end }}
{{- if and .Values.keda.enabled (not (include "hookyard.kedaRedisAddress" .)) }}
{{- fail "keda.enabled needs keda.redis.address (host:port of the broker Redis), unless redis.enabled=true" }}
{{- end }}
{{- if and .Values.keda.enabled .Values.keda.redis.authentication (not .Values.secrets.existingSecret) (not .Values.secrets.redisPassword) }}
{{- fail "keda.redis.authentication needs secrets.redisPassword (or secrets.existingSecret holding secrets.redisPasswordKey), or set keda.redis.authentication=false for a Redis without a password" }}
{{- end }}
{{- $stateDb := "1" }}
{{- if hasKey .Values.config "HOOKYARD_STATE_REDIS_DB" }}
{{- $stateDb = toString (index .Values.config "HOOKYARD_STATE_REDIS_DB") }}
{{- end }}
{{- if eq $stateDb (toString .Values.keda.redis.databaseIndex) }}
{{- fail "config.HOOKYARD_STATE_REDIS_DB must differ from keda.redis.databaseIndex (the broker DB of HOOKYARD_REDIS_URL)" }}
{{- end }}
{{- range $key, $worker := .Values.workers }}
{{- if le (int $worker.terminationGracePeriodSeconds) (int $worker.shutdownTimeoutSeconds) }}
{{- fail (printf "workers.%s.terminationGracePeriodSeconds (%d) must be greater than workers.%s.shutdownTimeoutSeconds (%d): Kubernetes would kill in-flight jobs before the worker requeues them" $key (int $worker.terminationGracePeriodSeconds) $key (int $worker.shutdownTimeoutSeconds)) }}
{{- end }}
{{- if and (or $worker.autoscaling.enabled $.Values.keda.enabled) (gt (int $worker.autoscaling.minReplicas) (int $worker.autoscaling.maxReplicas)) }}
{{- fail (printf "workers.%s.autoscaling.minReplicas must not exceed maxReplicas" $key) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod-level fields shared by every Hookyard pod (ingest and workers). */}}
{{- define "hookyard.podSpecCommon" -}}
serviceAccountName: {{ include "hookyard.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{/* Container fields shared by every Hookyard container: image, security, settings, /tmp. */}}
{{- define "hookyard.containerCommon" -}}
image: {{ include "hookyard.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
envFrom:
  - configMapRef:
      name: {{ include "hookyard.configMapName" . }}
  - secretRef:
      name: {{ include "hookyard.secretName" . }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/* Pod annotations: user's plus checksums so a settings change rolls the pods. */}}
{{- define "hookyard.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget. Call with (dict "context" $ "component" "ingest" "pdb" .Values.ingest.pdb). */}}
{{- define "hookyard.pdb" }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "hookyard.componentName" . }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    {{- include "hookyard.labels" . | nindent 4 }}
spec:
  {{- if hasKey .pdb "minAvailable" }}
  minAvailable: {{ .pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "hookyard.selectorLabels" . | nindent 6 }}
{{- end }}
