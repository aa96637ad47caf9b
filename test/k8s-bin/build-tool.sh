#!/usr/bin/env bash
# Builds one tool the install tests need from the Go module proxy and prints its path: kubectl, kubelet or
# kube-scheduler (the real-node test's DaemonSet and Deployment pods need one) from the Kubernetes module in this
# directory, at KUBE_VERSION, or helm (module in helm/, at HELM_VERSION). Cached by version under
# ~/.cache/ycloud/k8s-bin/<tool>-<version>/, like build.sh, so only the first run pays the build.
#   test/k8s-bin/build-tool.sh kubectl|kubelet|kube-scheduler|helm
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.env"
tool=${1:?usage: build-tool.sh kubectl|kubelet|kube-scheduler|helm}
case "$tool" in
  kubectl | kubelet | kube-scheduler) version=$KUBE_VERSION ;;
  helm) version=$HELM_VERSION ;;
  *) echo "build-tool.sh: unknown tool $tool (kubectl, kubelet, kube-scheduler or helm)" >&2; exit 2 ;;
esac
out="${YCLOUD_K8S_BIN_CACHE:-$HOME/.cache/ycloud/k8s-bin}/${tool}-${version}"
if [ -x "$out/$tool" ]; then echo "$out/$tool"; exit 0; fi
# Several test runs may ask at once: one builds, the others wait for it and take its result.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [ -x "$out/$tool" ]; then echo "$out/$tool"; exit 0; fi
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
echo "building $tool $version (first run only)" >&2
if [ "$tool" = helm ]; then
  (cd "$here/helm" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${version} -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    -o "$out.tmp/helm" helm.sh/helm/v4/cmd/helm) >&2
else
  minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"
  (cd "$here" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" -o "$out.tmp/$tool" "k8s.io/kubernetes/cmd/$tool") >&2
fi
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out/$tool"
