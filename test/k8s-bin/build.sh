#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-proxy and etcd from the Go module proxy into a cache
# keyed by version (default ~/.cache/ycloud/k8s-bin/<kube>-<etcd>), so only the first run pays the build.
# Prints the bin directory on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.env"
out="${YCLOUD_K8S_BIN_CACHE:-$HOME/.cache/ycloud/k8s-bin}/${KUBE_VERSION}-${ETCD_VERSION}"
want=(kube-apiserver kube-controller-manager kube-proxy etcd)
ok=1; for b in "${want[@]}"; do [ -x "$out/$b" ] || ok=0; done
if [ "$ok" = 1 ]; then echo "$out"; exit 0; fi
# Several test runs may ask at once: one builds, the others wait for it and take its result.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
ok=1; for b in "${want[@]}"; do [ -x "$out/$b" ] || ok=0; done
if [ "$ok" = 1 ]; then echo "$out"; exit 0; fi
mkdir -p "$out.tmp"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"
echo "building Kubernetes ${KUBE_VERSION} (first run only, several minutes)" >&2
(cd "$here" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" -o "$out.tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-proxy) >&2
echo "building etcd ${ETCD_VERSION}" >&2
(cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3) >&2
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out"
