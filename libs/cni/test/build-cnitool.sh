#!/usr/bin/env bash
# Builds the reference `cnitool` (github.com/containernetworking/cni/cnitool) from the Go module proxy into a
# cache keyed by version (default ~/.cache/ycloud/cnitool/<version>/cnitool). Prints the binary path on stdout.
set -euo pipefail
version="${CNITOOL_VERSION:-v1.3.0}"
out="${YCLOUD_CNITOOL_CACHE:-$HOME/.cache/ycloud/cnitool}/${version}"
if [ -x "$out/cnitool" ]; then echo "$out/cnitool"; exit 0; fi
mkdir -p "$out.tmp"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$out.tmp"
echo "building cnitool ${version} (first run only)" >&2
go install -trimpath -ldflags "-s -w" "github.com/containernetworking/cni/cnitool@${version}" >&2
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out/cnitool"
