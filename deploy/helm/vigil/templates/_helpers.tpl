{{/*
Names and labels, as `helm create` lays them out.
*/}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vigil.fullname" -}}
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

{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: pass (list $ "gateway"). */}}
{{- define "vigil.componentLabels" -}}
{{ include "vigil.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "vigil.componentSelector" -}}
{{ include "vigil.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "vigil.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "vigil.secretName" -}}
{{- default (printf "%s-secrets" (include "vigil.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{- define "vigil.consoleSecretName" -}}
{{- default (printf "%s-console" (include "vigil.fullname" .)) .Values.console.auth.existingSecret }}
{{- end }}

{{- define "vigil.evaluatorService" -}}
{{ include "vigil.fullname" . }}-evaluator
{{- end }}

{{- define "vigil.redisEndpoint" -}}
{{- if .Values.redis.enabled }}
{{- printf "%s-redis:6379" (include "vigil.fullname" .) }}
{{- else }}
{{- .Values.externalRedis.endpoint }}
{{- end }}
{{- end }}

{{/*
Memory: a limit of Mi or Gi (the schema allows no other unit) in MiB. The
memory_limiter's hard limit is 80% of it and its spike allowance 20%, so
it refuses data above 60% (its soft limit). GOMEMLIMIT is that soft
limit, as the binary sets it itself from the cgroup when the environment
does not (collector/memory.go): near it the garbage collector works as
hard as it must before the memory_limiter refuses anything. Set here so
the number is in the manifest.
*/}}
{{- define "vigil.memoryMiB" -}}
{{- $m := toString . }}
{{- if hasSuffix "Gi" $m }}{{ mul (trimSuffix "Gi" $m | int) 1024 }}{{ else }}{{ trimSuffix "Mi" $m | int }}{{ end }}
{{- end }}

{{- define "vigil.memoryLimitMiB" -}}
{{- div (mul (include "vigil.memoryMiB" .limits.memory | int) 80) 100 }}
{{- end }}

{{- define "vigil.memorySpikeMiB" -}}
{{- div (mul (include "vigil.memoryMiB" .limits.memory | int) 20) 100 }}
{{- end }}

{{- define "vigil.goMemLimitMiB" -}}
{{- sub (include "vigil.memoryLimitMiB" . | int) (include "vigil.memorySpikeMiB" . | int) }}
{{- end }}

{{/*
The shipped configuration files a component runs, in --config order, as a
JSON list of names in files/config/ (copies of collector/config/ kept
equal by test/kubernetes). The first is the component's base.yaml, the
others are overlays merged over it under their own names:
- gateways: gateway.yaml;
- the single node: config.base (default.yaml or full.yaml);
- evaluators: evaluator.yaml (state in Redis), and with config.base full
  the overlays that make them store what full.yaml stores: storage.yaml
  (ClickHouse, Loki, Sentry, queued on the evaluator's volume) and
  remote-write.yaml (PROMETHEUS_REMOTE_WRITE_URL from
  backends.prometheusRemoteWriteURL, which full.yaml always writes to as
  well). The two set different pipelines' exporter lists, so their order
  does not matter.
Pass (list $ component).
*/}}
{{- define "vigil.configFiles" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $files := list (printf "%s.yaml" $root.Values.config.base) }}
{{- if eq $component "gateway" }}
{{- $files = list "gateway.yaml" }}
{{- else if eq $component "evaluator" }}
{{- $files = list "evaluator.yaml" }}
{{- if eq $root.Values.config.base "full" }}
{{- $files = concat $files (list "storage.yaml" "remote-write.yaml") }}
{{- end }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{/*
The shipped configuration of a component as the collector merges its
files (maps merge, a later file's list replaces an earlier one's), for
the chart's changes to read. Pass (list $ component).
*/}}
{{- define "vigil.shippedConfig" -}}
{{- $root := index . 0 }}
{{- $merged := dict }}
{{- range include "vigil.configFiles" . | fromJsonArray }}
{{- $merged = mergeOverwrite $merged ($root.Files.Get (printf "files/config/%s" .) | fromYaml) }}
{{- end }}
{{- toYaml $merged }}
{{- end }}

{{/*
The chart's changes to the shipped configuration of a component, merged
over it (--config base.yaml [--config overlay.yaml ...] --config
kubernetes.yaml): memory_limiter from
the memory limit, the console's auth, the routing file and its receivers,
the gateways' resolver. Pass (list $ component resources).
*/}}
{{- define "vigil.overlay" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $resources := index . 2 }}
{{- $base := include "vigil.shippedConfig" (list $root $component) | fromYaml }}
{{- $overlay := dict }}
{{- $extensions := list }}
{{- range $base.service.extensions }}{{ $extensions = append $extensions . }}{{ end }}
{{- if hasKey ($base.processors | default dict) "memory_limiter" }}
{{- $_ := set $overlay "processors" (dict "memory_limiter" (dict
      "limit_percentage" 0
      "spike_limit_percentage" 0
      "limit_mib" (include "vigil.memoryLimitMiB" $resources | int)
      "spike_limit_mib" (include "vigil.memorySpikeMiB" $resources | int))) }}
{{- end }}
{{- $connectors := $base.connectors | default dict }}
{{- if hasKey $connectors "alertrouter" }}
{{- $router := dict }}
{{- $exporters := dict }}
{{- $pipelines := dict }}
{{- if or $root.Values.alerting.routing $root.Values.alerting.existingConfigMap }}
{{- $_ := set $router "routing" "/etc/vigil/routing/routing.yml" }}
{{- end }}
{{- if $root.Values.alerting.receivers }}
{{- $receivers := dict "default" (get $connectors.alertrouter "receivers").default }}
{{- /* Each receiver's exporter queues as the shipped pagerduty exporter
does: on disk on the single node, waiting for PagerDuty's answer on an
evaluator, which has no file_storage without config.base full
(evaluator.yaml says why). */}}
{{- $queue := get (get ($base.exporters | default dict) "pagerduty" | default dict) "sending_queue" | default (dict "storage" "file_storage") }}
{{- range $root.Values.alerting.receivers }}
{{- if eq . "default" }}
{{- fail "alerting.receivers: \"default\" is the built-in receiver (routing key: the Secret's pagerduty-routing-key); list only the routing file's other receivers" }}
{{- end }}
{{- $id := printf "pagerduty/%s" . }}
{{- $pipeline := printf "logs/pagerduty_%s" . }}
{{- $_ := set $receivers . (list $pipeline) }}
{{- $_ := set $exporters $id (dict
      "routing_key" (printf "${env:PAGERDUTY_ROUTING_KEY_%s:-}" (include "vigil.envSuffix" .))
      "endpoint" "${env:PAGERDUTY_URL:-https://events.pagerduty.com/v2/enqueue}"
      "sending_queue" $queue) }}
{{- $_ := set $pipelines $pipeline (dict "receivers" (list "alertrouter") "exporters" (list $id)) }}
{{- end }}
{{- $_ := set $router "receivers" $receivers }}
{{- end }}
{{- if and (hasKey $connectors.alertrouter "console") $root.Values.console.service.enabled }}
{{- $auth := ternary "bearertokenauth/console" "basicauth/console" (eq $root.Values.console.auth.type "bearerToken") }}
{{- $_ := set $router "console" (dict "auth" (dict "authenticator" $auth)) }}
{{- $extensions = append $extensions $auth }}
{{- if eq $root.Values.console.auth.type "bearerToken" }}
{{- $_ := set $overlay "extensions" (dict $auth (dict "filename" "/etc/vigil/console-auth/token")) }}
{{- else }}
{{- $_ := set $overlay "extensions" (dict $auth (dict "htpasswd" (dict "file" "/etc/vigil/console-auth/htpasswd"))) }}
{{- end }}
{{- end }}
{{- if $router }}{{ $_ := set $overlay "connectors" (dict "alertrouter" $router) }}{{ end }}
{{- if $exporters }}{{ $_ := set $overlay "exporters" $exporters }}{{ end }}
{{- if $pipelines }}{{ $_ := set $overlay "service" (dict "pipelines" $pipelines) }}{{ end }}
{{- end }}
{{- if eq $component "gateway" }}
{{- $lb := dict }}
{{- range $name, $_ := $base.exporters }}
{{- if or (hasPrefix "load_balancing" $name) (hasPrefix "loadbalancing" $name) }}
{{- $_ := set $lb $name (dict "resolver" (include "vigil.resolver" $root | fromYaml)) }}
{{- end }}
{{- end }}
{{- $_ := set $overlay "exporters" $lb }}
{{- end }}
{{- $service := $overlay.service | default dict }}
{{- $_ := set $service "extensions" $extensions }}
{{- $_ := set $overlay "service" $service }}
{{- toYaml $overlay }}
{{- end }}

{{/*
The gateways' resolver of the evaluators behind their headless Service.
The shipped gateway.yaml lists evaluators statically (VIGIL_EVALUATORS);
here the static list is dropped (null) for the k8s or dns resolver.
*/}}
{{- define "vigil.resolver" -}}
static: null
{{- if eq .Values.gateway.resolver "k8s" }}
k8s:
  service: {{ include "vigil.evaluatorService" . }}.{{ .Release.Namespace }}
  ports: [4317]
  # Stable StatefulSet hostnames (evaluator-0, -1, ...): a restarted
  # evaluator comes back with the same name and keeps its services.
  return_hostnames: true
{{- else }}
dns:
  hostname: {{ include "vigil.evaluatorService" . }}.{{ .Release.Namespace }}.svc
  port: "4317"
  interval: 5s
{{- end }}
{{- end }}

{{/* A receiver name as an environment variable suffix: upper case, - as _. */}}
{{- define "vigil.envSuffix" -}}
{{- . | upper | replace "-" "_" }}
{{- end }}

{{/*
Environment of a Vigil container: addresses inside the pod, storage,
specs, secrets (from the Secret, optional keys), memory. Pass
(list $ component resources).
*/}}
{{- define "vigil.env" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $resources := index . 2 }}
- name: VIGIL_STORAGE_DIR
  value: /var/lib/vigil
- name: VIGIL_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: GOMEMLIMIT
  value: {{ printf "%sMiB" (include "vigil.goMemLimitMiB" $resources) | quote }}
- name: VIGIL_CONSOLE_ENDPOINT
  value: {{ ternary "0.0.0.0:9094" "127.0.0.1:9094" $root.Values.console.service.enabled | quote }}
{{- if ne $component "gateway" }}
{{- if or $root.Values.slo.specs $root.Values.slo.existingConfigMap }}
- name: VIGIL_SLO_DIR
  value: /etc/vigil/slo
{{- end }}
- name: PAGERDUTY_ROUTING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "vigil.secretName" $root }}
      key: {{ $root.Values.secrets.keys.pagerdutyRoutingKey }}
      optional: true
{{- range $root.Values.alerting.receivers }}
- name: PAGERDUTY_ROUTING_KEY_{{ include "vigil.envSuffix" . }}
  valueFrom:
    secretKeyRef:
      name: {{ include "vigil.secretName" $root }}
      key: pagerduty-routing-key-{{ . }}
      optional: true
{{- end }}
{{- if eq $root.Values.config.base "full" }}
- name: CLICKHOUSE_ENDPOINT
  value: {{ $root.Values.backends.clickhouse.endpoint | quote }}
- name: CLICKHOUSE_USERNAME
  value: {{ $root.Values.backends.clickhouse.username | quote }}
- name: CLICKHOUSE_DATABASE
  value: {{ $root.Values.backends.clickhouse.database | quote }}
- name: CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "vigil.secretName" $root }}
      key: {{ $root.Values.secrets.keys.clickhousePassword }}
      optional: true
- name: PROMETHEUS_REMOTE_WRITE_URL
  value: {{ $root.Values.backends.prometheusRemoteWriteURL | quote }}
- name: LOKI_ENDPOINT
  value: {{ $root.Values.backends.loki.endpoint | quote }}
- name: LOKI_TENANT_ID
  value: {{ $root.Values.backends.loki.tenantID | quote }}
- name: SENTRY_DSN
  valueFrom:
    secretKeyRef:
      name: {{ include "vigil.secretName" $root }}
      key: {{ $root.Values.secrets.keys.sentryDSN }}
      optional: true
{{- end }}
{{- if or (eq $root.Values.config.base "full") (eq $component "evaluator") }}
# Alertmanager webhook payloads (the webhook exporter of full.yaml and
# evaluator.yaml; unset: off). A Secret's key: chat webhook URLs carry
# their credential.
- name: VIGIL_WEBHOOK_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "vigil.secretName" $root }}
      key: {{ $root.Values.secrets.keys.webhookURL }}
      optional: true
{{- end }}
# The console as on-call reaches it, for the links in pages. Unset, the
# pod's listen address (0.0.0.0:9094) would make links no browser
# opens; the default is where `kubectl port-forward` puts it.
- name: VIGIL_CONSOLE_URL
  value: {{ $root.Values.console.externalURL | default "http://127.0.0.1:9094" | quote }}
{{- end }}
{{- if eq $component "evaluator" }}
- name: VIGIL_STORE_ENDPOINT
  value: {{ include "vigil.redisEndpoint" $root | quote }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The container's ports; the console where its component runs. */}}
{{- define "vigil.ports" -}}
- name: otlp-grpc
  containerPort: 4317
- name: otlp-http
  containerPort: 4318
- name: telemetry
  containerPort: 8888
- name: health
  containerPort: 13133
{{- if ne . "gateway" }}
- name: metrics
  containerPort: 8889
- name: console
  containerPort: 9094
{{- end }}
{{- end }}

{{/* Security context of every container: non-root, read-only root. */}}
{{- define "vigil.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Probes on the health_check extension. */}}
{{- define "vigil.probes" -}}
livenessProbe:
  httpGet:
    path: /
    port: health
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /
    port: health
  periodSeconds: 5
startupProbe:
  httpGet:
    path: /
    port: health
  periodSeconds: 2
  # Up to 2 min for the first start (detector state loading, a schema
  # created in ClickHouse).
  failureThreshold: 60
{{- end }}

{{/*
The pod of a Vigil component: pass (list $ component resources
scheduling dataVolume). dataVolume is the source of the volume "data"
(a persistentVolumeClaim or an emptyDir), or nil where a StatefulSet's
claim template provides it.
*/}}
{{- define "vigil.podSpec" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $resources := index . 2 }}
{{- $sched := index . 3 }}
{{- $dataVolume := index . 4 }}
serviceAccountName: {{ include "vigil.serviceAccountName" $root }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: vigil
    image: {{ include "vigil.image" $root }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      - --config=/etc/vigil/config/base.yaml
      {{- range rest (include "vigil.configFiles" (list $root $component) | fromJsonArray) }}
      - --config=/etc/vigil/config/{{ . }}
      {{- end }}
      - --config=/etc/vigil/config/kubernetes.yaml
      {{- if $root.Values.config.extra }}
      - --config=/etc/vigil/config/extra.yaml
      {{- end }}
    env:
      {{- include "vigil.env" (list $root $component $resources) | trim | nindent 6 }}
    ports:
      {{- include "vigil.ports" $component | nindent 6 }}
    {{- include "vigil.probes" . | nindent 4 }}
    resources:
      {{- toYaml $resources | nindent 6 }}
    securityContext:
      {{- include "vigil.containerSecurityContext" . | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/vigil/config
        readOnly: true
      - name: data
        mountPath: /var/lib/vigil
      - name: tmp
        mountPath: /tmp
      {{- if ne $component "gateway" }}
      {{- if or $root.Values.slo.specs $root.Values.slo.existingConfigMap }}
      - name: slo
        mountPath: /etc/vigil/slo
        readOnly: true
      {{- end }}
      {{- if or $root.Values.alerting.routing $root.Values.alerting.existingConfigMap }}
      - name: routing
        mountPath: /etc/vigil/routing
        readOnly: true
      {{- end }}
      {{- if $root.Values.console.service.enabled }}
      - name: console-auth
        mountPath: /etc/vigil/console-auth
        readOnly: true
      {{- end }}
      {{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "vigil.fullname" $root }}-{{ $component }}-config
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- with $dataVolume }}
  - name: data
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if ne $component "gateway" }}
  {{- if or $root.Values.slo.specs $root.Values.slo.existingConfigMap }}
  - name: slo
    configMap:
      name: {{ $root.Values.slo.existingConfigMap | default (printf "%s-slo" (include "vigil.fullname" $root)) }}
  {{- end }}
  {{- if or $root.Values.alerting.routing $root.Values.alerting.existingConfigMap }}
  - name: routing
    configMap:
      name: {{ $root.Values.alerting.existingConfigMap | default (printf "%s-routing" (include "vigil.fullname" $root)) }}
  {{- end }}
  {{- if $root.Values.console.service.enabled }}
  - name: console-auth
    secret:
      secretName: {{ include "vigil.consoleSecretName" $root }}
      items:
        - key: {{ ternary "token" "htpasswd" (eq $root.Values.console.auth.type "bearerToken") }}
          path: {{ ternary "token" "htpasswd" (eq $root.Values.console.auth.type "bearerToken") }}
  {{- end }}
  {{- end }}
{{- with $sched.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $sched.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $sched.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod annotations: restart when the configuration changes. */}}
{{- define "vigil.podAnnotations" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
{{- with $root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
