#!/usr/bin/env bash
# Builds a Debian root filesystem holding another OVN / Open vSwitch release than the system's (today: OVN 25.03 and
# OVS 3.5 from Debian 13 "trixie") with `debootstrap --variant=minbase`, from the Debian mirror this machine's apt
# already uses, into a cache keyed by version (default ~/.cache/ycloud/ovn-root/ovn-<series>), so only the first
# run pays (about 1.5 minutes, 360 MB). The system's own packages are not touched. The test bed runs the daemons and
# tools with `chroot` into it (libs/testbed/src/ovn-release.ts). Prints the root directory on stdout.
#
# Usage: build.sh 25.03
set -euo pipefail
series=${1:?usage: build.sh <OVN series, e.g. 25.03>}
case "$series" in
  25.03) suite=trixie ;;
  *) echo "build.sh: no root filesystem recipe for OVN $series (known: 25.03)" >&2; exit 2 ;;
esac
out="${YCLOUD_OVN_ROOT_CACHE:-$HOME/.cache/ycloud/ovn-root}/ovn-$series"
if [ -f "$out/.ycloud-ready" ]; then echo "$out"; exit 0; fi
# Several test runs may ask at once: one builds, the others wait for it and take its result.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [ -f "$out/.ycloud-ready" ]; then echo "$out"; exit 0; fi

command -v debootstrap >/dev/null || { echo "build.sh: debootstrap is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
# The Debian archive URI apt is configured with (deb822 `URIs:` or one-line `deb URI suite ...`), not the security one.
mirror=$(
  {
    sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
    sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | grep -E '^(https?|file)://' | grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true
)
[ -n "$mirror" ] || { echo "build.sh: no Debian archive URI found in /etc/apt/sources.list{,.d}" >&2; exit 1; }

tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
echo "building an OVN $series root filesystem (Debian $suite, first run only, about 2 minutes)" >&2
debootstrap --variant=minbase --include=ovn-central,ovn-host,openvswitch-switch,iproute2 "$suite" "$tmp" "$mirror" >&2
got=$(chroot "$tmp" ovn-northd --version | sed -n 's/^ovn-northd \([0-9]*\.[0-9]*\).*/\1/p')
if [ "$got" != "$series" ]; then echo "build.sh: $suite has OVN '$got', not $series" >&2; rm -rf "$tmp"; exit 1; fi
rm -f "$tmp"/var/cache/apt/archives/*.deb
chroot "$tmp" dpkg-query -W ovn-central ovn-host openvswitch-switch openvswitch-common >"$tmp/.ycloud-versions"
touch "$tmp/.ycloud-ready"
rm -rf "$out" && mv "$tmp" "$out"
echo "$out"
