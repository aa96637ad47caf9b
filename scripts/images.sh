#!/usr/bin/env bash
# Builds ycloud's container images with no container engine and no daemon, from Debian packages and the npm
# lockfile: debootstrap makes each root filesystem, umoci packs it into an OCI image. Run as root:
#   bash scripts/images.sh            # all images
#   bash scripts/images.sh ycloud     # or some: ycloud | ovn (every OVN release) | ovn:23.03 | ovn:25.03
# Output, in .images/ (YCLOUD_IMAGES_DIR): OCI archives (a tar of an OCI image layout), e.g.
#   ycloud-<version>.oci.tar  ycloud/ycloud:<version>  controller, CNI agent, CNI plugin, CLI; Node 20 (Debian 13)
#   ovn-23.03.oci.tar         ycloud/ovn:23.03         OVN central (NB, SB, northd) and node daemons (Debian 12)
#   ovn-25.03.oci.tar         ycloud/ovn:25.03         the same with OVN 25.03 / OVS 3.5 (Debian 13)
# Load one into containerd with `ctr -n k8s.io images import --base-name docker.io/ycloud/ycloud FILE` (the tag
# comes from the archive; `--index-name` would add an `import-<date>` name the CRI trips over), or
# copy it anywhere with `skopeo copy oci-archive:FILE docker://REGISTRY/ycloud/ycloud:<version>`.
# Pinned: the Debian suites and the versions of the packages that matter (docker/images.env; the build fails when
# the mirror serves another version) and every npm package (package-lock.json, `npm ci` in a clean export of
# HEAD). Root filesystems are cached by suite and package list under ~/.cache/ycloud/images.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '[images] %s\n' "$*" >&2; }
. docker/images.env
out=${YCLOUD_IMAGES_DIR:-$root/.images}
cache=${YCLOUD_IMAGE_CACHE:-$HOME/.cache/ycloud/images}
version=$(node -p "require('./package.json').version")
# What the OVN images are made of (setup.sh rebuilds them when it changes).
ovn_source() { cat docker/images.env docker/ovn-entrypoint.sh | sha256sum | cut -c1-64; }
if [ "${1:-}" = --ovn-source ]; then ovn_source; exit 0; fi
targets=()
for t in "${@:-ycloud ovn}"; do for t in $t; do case "$t" in
  ycloud) targets+=(ycloud) ;;
  ovn) for r in $OVN_RELEASES; do targets+=("ovn:$r"); done ;;
  ovn:*) case " $OVN_RELEASES " in *" ${t#ovn:} "*) targets+=("$t") ;; *) echo "images.sh: no OVN release ${t#ovn:} in docker/images.env" >&2; exit 2 ;; esac ;;
  *) echo "usage: $0 [ycloud|ovn|ovn:RELEASE]..." >&2; exit 2 ;;
esac; done; done
for tool in debootstrap umoci; do
  command -v "$tool" >/dev/null || { echo "images.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "images.sh: run as root (debootstrap, chroot)" >&2; exit 1; }
# The Debian mirror this machine's apt already uses.
mirror=${YCLOUD_DEBIAN_MIRROR:-$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{print $2}' || true
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '/^deb /{print $2}' || true; } |
    grep -v security | head -n 1 || true
)}
[ -n "$mirror" ] || { echo "images.sh: no Debian mirror in this machine's apt sources (set YCLOUD_DEBIAN_MIRROR)" >&2; exit 1; }
mkdir -p "$out" "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/ycloud-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# rootfs SUITE PACKAGES...: a cached root filesystem tarball of Debian SUITE with PACKAGES; prints its path.
rootfs() {
  local suite=$1; shift
  local key
  key=$(printf '%s ' "$suite" "$@" | sha256sum | cut -c1-16)
  local tarball="$cache/rootfs-$suite-$key.tar"
  if [ ! -s "$tarball" ]; then
    log "debootstrap $suite with $* (first build only, a few minutes)"
    local dir="$work/rootfs-$suite"
    debootstrap --variant=minbase --include="$(IFS=,; echo "$*")" "$suite" "$dir" "$mirror" >"$work/debootstrap-$suite.log" 2>&1 || {
      tail -n 30 "$work/debootstrap-$suite.log" >&2
      exit 1
    }
    # Nothing the image does not run: package caches, indexes, documentation.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* \
      "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/var/log/*
    tar -C "$dir" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  echo "$tarball"
}

# check_pins ROOTFS NAME=VERSION...: fails when an installed package's version is not the pinned one.
check_pins() {
  local dir=$1; shift
  local bad=0
  for pin in "$@"; do
    local have
    have=$(chroot "$dir" dpkg-query -W -f='${Version}' "${pin%%=*}" 2>/dev/null || echo none)
    if [ "$have" != "${pin#*=}" ]; then
      echo "images.sh: ${pin%%=*} is $have, docker/images.env pins ${pin#*=} (update the pin deliberately)" >&2
      bad=1
    fi
  done
  [ "$bad" = 0 ]
}

# pack DIR NAME TAG OUTFILE CONFIG-ARGS...: an OCI image of DIR as NAME:TAG, written as an OCI archive.
pack() {
  local dir=$1 name=$2 tag=$3 file=$4; shift 4
  local layout="$work/layout-$name" bundle="$work/bundle-$name"
  rm -rf "$layout" "$bundle"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
  cp -a "$dir"/. "$bundle/rootfs/"
  umoci repack --image "$layout:$tag" "$bundle" >/dev/null
  umoci config --image "$layout:$tag" --author ycloud --os linux --architecture amd64 \
    --config.label "org.opencontainers.image.title=$name" \
    --config.label "org.opencontainers.image.ref.name=$name:$tag" \
    --config.label "org.opencontainers.image.version=$tag" "$@"
  umoci gc --layout "$layout"
  rm -f "$file.tmp" && tar -C "$layout" --numeric-owner -cf "$file.tmp" . && mv "$file.tmp" "$file"
  log "$name:$tag -> $file ($(du -h "$file" | cut -f1))"
}

# cni_host_bundle ROOTFS CNI_DIR: CNI_DIR/host, what the agent DaemonSet's init container copies into the node's
# CNI bin dir: the plugin `ycloud` and its directory `ycloud.d`. The runtime runs the plugin on the host, outside
# the image, where nothing of the image is found: Debian's node cannot move (libnode loads builtins from fixed
# /usr/share/nodejs paths), so the plugin is the shell shim with the image's socat, started through the image's own
# dynamic loader and libraries. It needs only /bin/sh and coreutils from the host, whatever its distribution.
cni_host_bundle() {
  local fs=$1 dir=$2/host
  local d="$dir/ycloud.d"
  mkdir -p "$d/lib" "$d/bin"
  cp "$2/ycloud-cni.sh" "$d/ycloud-cni.sh"
  cp -L "$fs/usr/bin/socat" "$d/lib/socat"
  local lib
  for lib in $(chroot "$fs" ldd /usr/bin/socat | awk '/=> \//{print $3} /^\t\//{print $1}'); do cp -L "$fs$lib" "$d/lib/"; done
  [ -e "$d/lib/ld-linux-x86-64.so.2" ] || { echo "images.sh: socat's dynamic loader not found" >&2; exit 1; }
  printf '%s\n' '#!/bin/sh' 'd=$(dirname "$0")/..' \
    'exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/lib/socat" "$@"' >"$d/bin/socat"
  printf '%s\n' '#!/bin/sh' '# ycloud CNI plugin (installed by the ycloud agent DaemonSet): the shim in ycloud.d with its own socat.' \
    'd=$(dirname "$0")/ycloud.d' 'PATH="$d/bin:$PATH" exec /bin/sh "$d/ycloud-cni.sh" "$@"' >"$dir/ycloud"
  chmod 0755 "$d/bin/socat" "$dir/ycloud" "$d/ycloud-cni.sh"
  # The init container replaces ycloud.d only when this differs from the installed one.
  (cd "$d" && find . -type f ! -name STAMP | sort | xargs sha256sum) | sha256sum | cut -c1-64 >"$d/STAMP"
}

build_ycloud() {
  local fs="$work/ycloud-fs"
  mkdir -p "$fs"
  tar -C "$fs" -xf "$(rootfs "$YCLOUD_SUITE" $YCLOUD_PACKAGES)"
  check_pins "$fs" $YCLOUD_PINS
  # The application from a clean export of HEAD: npm ci from the lockfile, the build, then dev packages dropped.
  log "building ycloud $version from HEAD ($(git rev-parse --short HEAD)) with npm ci"
  local src="$work/src"
  mkdir -p "$src" && git archive HEAD | tar -C "$src" -x
  (cd "$src" && npm ci --no-audit --no-fund --loglevel=error && npm run build >/dev/null &&
    npm prune --omit=dev --no-audit --no-fund --loglevel=error) >&2
  local app="$fs/opt/ycloud"
  mkdir -p "$app/cni"
  cp -a "$src/package.json" "$src/node_modules" "$src/dist" "$app/"
  # The CNI plugin, stamped with the version.
  for shim in ycloud-cni.js ycloud-cni.sh; do
    sed "s/@YCLOUD_VERSION@/$version/" "$src/apps/cni/src/shim/$shim" >"$app/cni/$shim"
    chmod 0755 "$app/cni/$shim"
  done
  # One command per program, as operators and the DaemonSet's init container call them.
  local bin="$fs/usr/local/bin"
  printf '#!/bin/sh\nexec node /opt/ycloud/dist/apps/controller/src/main.js "$@"\n' >"$bin/ycloud-controller"
  printf '#!/bin/sh\nexec node /opt/ycloud/dist/apps/cni/src/main.js "$@"\n' >"$bin/ycloud-cni-agent"
  printf '#!/bin/sh\nexec node /opt/ycloud/dist/apps/cli/src/main.js "$@"\n' >"$bin/ycloud"
  ln -sf /opt/ycloud/cni/ycloud-cni.js "$bin/ycloud-cni"
  cni_host_bundle "$fs" "$app/cni"
  chmod 0755 "$bin"/ycloud-controller "$bin"/ycloud-cni-agent "$bin"/ycloud
  # The unprivileged user the controller runs as when it needs no capabilities (deploy/, the chart).
  grep -q '^ycloud:' "$fs/etc/passwd" || {
    echo 'ycloud:x:65532:65532:ycloud:/nonexistent:/usr/sbin/nologin' >>"$fs/etc/passwd"
    echo 'ycloud:x:65532:' >>"$fs/etc/group"
  }
  pack "$fs" ycloud/ycloud "$version" "$out/ycloud-$version.oci.tar" \
    --config.user 65532:65532 --config.workingdir /opt/ycloud \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env NODE_ENV=production \
    --config.entrypoint ycloud-controller --config.cmd --help
  # The commit the application came from: setup.sh rebuilds when HEAD moved, the real-node test says when stale.
  git rev-parse HEAD >"$out/ycloud-$version.oci.tar.source"
  rm -rf "$fs" "$src"
}

# build_ovn RELEASE: ycloud/ovn:RELEASE from OVN_SUITE/OVN_PINS (OVN_TAG) or OVN_<RELEASE>_SUITE/_PINS.
build_ovn() {
  local tag=$1 suite=$OVN_SUITE pins=$OVN_PINS
  if [ "$tag" != "$OVN_TAG" ]; then
    local v="OVN_${tag//./_}"
    suite=$(eval echo "\${${v}_SUITE:?}") pins=$(eval echo "\${${v}_PINS:?}")
  fi
  local fs="$work/ovn-fs-$tag"
  mkdir -p "$fs"
  tar -C "$fs" -xf "$(rootfs "$suite" $OVN_PACKAGES)"
  check_pins "$fs" $pins
  install -m 0755 docker/ovn-entrypoint.sh "$fs/usr/local/bin/ovn-entrypoint.sh"
  # Writable by the unprivileged user OVN central runs as (its volumes are, through fsGroup).
  grep -q '^ycloud:' "$fs/etc/passwd" || {
    echo 'ycloud:x:65532:65532:ycloud:/nonexistent:/usr/sbin/nologin' >>"$fs/etc/passwd"
    echo 'ycloud:x:65532:' >>"$fs/etc/group"
  }
  mkdir -p "$fs/var/lib/ovn" "$fs/var/run/ovn" "$fs/var/log/ovn"
  pack "$fs" ycloud/ovn "$tag" "$out/ovn-$tag.oci.tar" \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.entrypoint /usr/local/bin/ovn-entrypoint.sh --config.cmd central
  ovn_source >"$out/ovn-$tag.oci.tar.source"
  rm -rf "$fs"
}

for t in "${targets[@]}"; do case "$t" in ycloud) build_ycloud ;; ovn:*) build_ovn "${t#ovn:}" ;; esac; done
