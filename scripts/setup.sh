#!/usr/bin/env bash
# Installs everything ycloud's tests and sandbox need on a fresh Debian 12 machine (run as root):
# Debian's OVN 23.03 / Open vSwitch 3.1 and network tools, PostgreSQL (journal tests), the npm dependencies
# from the lockfile, and kube-apiserver / kube-controller-manager / kube-proxy / etcd / cnitool built from the
# Go module proxy (cached by version under ~/.cache/ycloud, so only the first run pays the build).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

DEBIAN_PACKAGES=(
  ovn-central ovn-host openvswitch-switch    # OVN 23.03 + OVS 3.1, userspace datapath
  iproute2 iptables nftables ipvsadm conntrack ethtool kmod  # netns plumbing, kube-proxy baselines
  curl socat netcat-openbsd tcpdump jq iputils-ping openssl procps  # clients used by tests, probes, sandbox
  postgresql                                 # journal tests against a real PostgreSQL
  docker-compose                             # `docker-compose config` check (no engine needed)
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
for s in ovn-central ovn-host openvswitch-switch postgresql nginx iperf3; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$s" 2>/dev/null; then systemctl stop "$s" || true; fi
done

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  log "Node.js 20 or newer is required"; exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies from the lockfile"
  # npm 11 records only this platform's optional native packages (@swc/core-*, ...) in the lockfile and then
  # refuses `npm ci` for the others it lists as missing (npm/cli#4828). Fall back to an install that still takes
  # every version from the lockfile but does not rewrite it.
  if ! npm ci --no-audit --no-fund --loglevel=error 2>/tmp/ycloud-npm-ci.log; then
    grep -q 'can only install packages when your package.json and package-lock.json' /tmp/ycloud-npm-ci.log || {
      cat /tmp/ycloud-npm-ci.log >&2
      exit 1
    }
    npm install --no-audit --no-fund --no-save --loglevel=error
  fi
fi

log "building the Kubernetes control plane from the Go module proxy (cached)"
K8S_BIN_DIR=$(test/k8s-bin/build.sh)
log "kube binaries: $K8S_BIN_DIR"
if [ -x libs/cni/test/build-cnitool.sh ]; then
  log "building cnitool (cached)"
  libs/cni/test/build-cnitool.sh >/dev/null
fi
log "done"
