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

{{/* The OVN central members' addresses (their nodes' IPs), comma-separated. */}}
{{- define "ycloud.centralAddresses" -}}
{{ join "," (required "ovn.central.addresses (the IPs of the nodes OVN central runs on) is required" .Values.ovn.central.addresses) }}
{{- end }}

{{/* Remotes of one database of the in-cluster RAFT members, by node IP; argument: (list $ port). */}}
{{- define "ycloud.raftRemotes" -}}
{{- $ := index . 0 -}}{{- $port := index . 1 -}}
{{- $out := list -}}
{{- range $a := $.Values.ovn.central.addresses -}}
{{- $out = append $out (printf "%s:%s:%d" (include "ycloud.ovnProto" $) (ternary (printf "[%s]" $a) $a (contains ":" $a)) (int $port)) -}}
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
