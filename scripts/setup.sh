#!/usr/bin/env bash
# Installs everything ycloud's tests and sandbox need on a fresh Debian 12 machine (run as root):
# Debian's OVN 23.03 / Open vSwitch 3.1 and network tools, PostgreSQL (journal tests), the npm dependencies
# from the lockfile, kube-apiserver / kube-controller-manager / kube-proxy / etcd / kubectl / helm / kubelet / cnitool
# built from the Go module proxy, and a Debian 13 root filesystem with OVN 25.03 / Open vSwitch 3.5
# (`YCLOUD_OVN=25.03`; made by debootstrap from the mirror apt already uses; the system's own packages are not
# touched), and the ycloud image (scripts/images.sh ycloud, from HEAD) and the OVN images (ovn) for the real-node
# test. All are cached by version under ~/.cache/ycloud (the images in .images/, by commit or by what they are
# made of), so only the first run pays.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

DEBIAN_PACKAGES=(
  ovn-central ovn-host openvswitch-switch    # OVN 23.03 + OVS 3.1, userspace datapath
  iproute2 iptables nftables ipvsadm conntrack ethtool kmod  # netns plumbing, kube-proxy baselines
  curl socat netcat-openbsd tcpdump jq iputils-ping openssl procps  # clients used by tests, probes, sandbox
  postgresql                                 # journal tests against a real PostgreSQL
  docker-compose                             # `docker-compose config` check (no engine needed)
  debootstrap                                # the OVN 25.03 / OVS 3.5 root filesystem (test/ovn-root/build.sh), images
  umoci runc skopeo                          # scripts/images.sh (no container engine) and its runc test
  containerd gcc libc6-dev containernetworking-plugins  # the real-kubelet test node (containerd, a static pause binary, portmap)
  iperf3 sockperf apache2-utils nginx-light  # `ycloud bench datapath`: throughput, pps/latency, short connections
)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packages' own services are not used: the test bed starts private instances in temporary directories.
for s in ovn-central ovn-host openvswitch-switch postgresql containerd nginx iperf3; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$s" 2>/dev/null; then systemctl stop "$s" || true; fi
done

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  log "Node.js 20 or newer is required"; exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies from the lockfile"
  # The lockfile lists every platform's optional native packages (@swc/core-*, @unrs/resolver-binding-*), so
  # `npm ci` accepts it on any machine. After changing dependencies, regenerate it without an existing
  # node_modules (`npm install --package-lock-only` in a fresh checkout), or npm records only this platform's.
  npm ci --no-audit --no-fund --loglevel=error
fi

log "building the Kubernetes control plane from the Go module proxy (cached)"
K8S_BIN_DIR=$(test/k8s-bin/build.sh)
log "kube binaries: $K8S_BIN_DIR"
log "building the OVN 25.03 / OVS 3.5 root filesystem (cached)"
log "OVN 25.03 root: $(test/ovn-root/build.sh 25.03)"
log "building kubectl, helm, kubelet and kube-scheduler for the install and real-node tests (cached)"
for tool in kubectl helm kubelet kube-scheduler; do test/k8s-bin/build-tool.sh "$tool" >/dev/null; done
# The real-node test (test/e2e/real-kubelet-install.test.ts) installs ycloud from this image, built from HEAD:
# about 4 minutes the first time (a Debian 13 debootstrap, cached), 1 to 2 minutes after each new commit.
ycloud_image=.images/ycloud-$(node -p "require('./package.json').version").oci.tar
if [ ! -s "$ycloud_image" ] || [ "$(cat "$ycloud_image.source" 2>/dev/null)" != "$(git rev-parse HEAD)" ]; then
  log "building the ycloud image from HEAD (scripts/images.sh ycloud)"
  bash scripts/images.sh ycloud
fi
# It runs OVN from these (one per release, YCLOUD_OVN): a Debian debootstrap each the first time (cached), then
# seconds; rebuilt when their entrypoint or pins change.
for release in $(. docker/images.env && echo "$OVN_RELEASES"); do
  if [ "$(cat ".images/ovn-$release.oci.tar.source" 2>/dev/null)" != "$(bash scripts/images.sh --ovn-source)" ]; then
    log "building the OVN $release image (scripts/images.sh ovn:$release)"
    bash scripts/images.sh "ovn:$release"
  fi
done
if [ -x libs/cni/test/build-cnitool.sh ]; then
  log "building cnitool (cached)"
  libs/cni/test/build-cnitool.sh >/dev/null
fi
log "done"
