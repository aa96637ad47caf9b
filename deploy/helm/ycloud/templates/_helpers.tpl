{{/* The ycloud image reference. */}}
{{- define "ycloud.image" -}}
{{ .Values.images.ycloud.repository }}:{{ .Values.images.ycloud.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The OVN image reference. */}}
{{- define "ycloud.ovnImage" -}}
{{ .Values.images.ovn.repository }}:{{ .Values.images.ovn.tag }}
{{- end }}

{{/* tcp or ssl, for OVSDB remotes. */}}
{{- define "ycloud.ovnProto" -}}
{{ ternary "ssl" "tcp" .Values.ovn.tls.enabled }}
{{- end }}

{{/* Remotes of one database of the in-cluster RAFT members; argument: (list $ port). */}}
{{- define "ycloud.raftRemotes" -}}
{{- $ := index . 0 -}}{{- $port := index . 1 -}}
{{- $out := list -}}
{{- range $i := until (int $.Values.ovn.central.replicas) -}}
{{- $out = append $out (printf "%s:ovn-central-%d.ovn-central-raft.%s.svc.cluster.local:%d" (include "ycloud.ovnProto" $) $i $.Release.Namespace (int $port)) -}}
{{- end -}}
{{ join "," $out }}
{{- end }}

{{/* The Northbound remotes the controller uses. */}}
{{- define "ycloud.nbRemote" -}}
{{ if .Values.ovn.central.enabled }}{{ include "ycloud.raftRemotes" (list . 6641) }}{{ else }}{{ required "ovn.northbound is required when ovn.central.enabled is false" .Values.ovn.northbound }}{{ end }}
{{- end }}

{{/* The Southbound remotes ovn-controller uses. */}}
{{- define "ycloud.sbRemote" -}}
{{ if .Values.ovn.central.enabled }}{{ include "ycloud.raftRemotes" (list . 6642) }}{{ else }}{{ required "ovn.southbound is required when ovn.central.enabled is false" .Values.ovn.southbound }}{{ end }}
{{- end }}

{{/* The same, written for the members' own env (the domain from $(OVN_RAFT_DOMAIN)); argument: (list $ port). */}}
{{- define "ycloud.raftEnvRemotes" -}}
{{- $ := index . 0 -}}{{- $port := index . 1 -}}
{{- $out := list -}}
{{- range $i := until (int $.Values.ovn.central.replicas) -}}
{{- $out = append $out (printf "%s:ovn-central-%d.$(OVN_RAFT_DOMAIN):%d" (include "ycloud.ovnProto" $) $i (int $port)) -}}
{{- end -}}
{{ join "," $out }}
{{- end }}
