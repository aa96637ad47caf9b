#!/usr/bin/env bash
# Regenerates go.mod for the Kubernetes wrapper module: requires k8s.io/kubernetes at KUBE_VERSION and
# replaces every staging module that release lists at v0.0.0 with its published v0.Y.Z tag.
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
minor_patch=${KUBE_VERSION#v1.}
staging_version="v0.${minor_patch}"
gomod=$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
mapfile -t staging < <(grep -Eo '^\s+k8s.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk '{print $1}' | sort -u)
{
  echo "module ycloud.local/test/k8s-bin"
  echo
  echo "go $(sed -n 's/^go //p' "$gomod")"
  echo
  echo "require k8s.io/kubernetes ${KUBE_VERSION}"
  echo
  echo "replace ("
  for m in "${staging[@]}"; do echo "	$m => $m ${staging_version}"; done
  echo ")"
} > go.mod
go mod tidy
echo "go.mod: ${#staging[@]} staging modules replaced at ${staging_version}"
