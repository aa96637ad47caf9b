#!/bin/sh
# The ycloud CNI plugin (install as /opt/cni/bin/ycloud): forwards CNI_* and stdin to the node's ycloud agent
# over its unix socket with socat and prints the reply. Same wire format as ycloud-cni.js (the Node variant for
# hosts without socat); this one starts about 8x faster (results/cni-add-latency.md). VERSION is answered here so
# the runtime can probe the plugin while the agent is down.
sock="${YCLOUD_CNI_SOCKET:-/run/ycloud/cni.sock}"
# Runtimes run CNI plugins without arguments; an operator checking the installed file gets these. The version is
# stamped when an image is built (scripts/images.sh); from the sources it is read from package.json.
case "${1:-}" in
  --version | --help | -h)
    v='@YCLOUD_VERSION@'
    if [ "$v" = "@YCLOUD""_VERSION@" ]; then
      v=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$(dirname "$0")/../../../../package.json" 2>/dev/null)
    fi
    if [ "$1" = --version ]; then echo "${v:-unknown}"; else
      echo "ycloud CNI plugin ${v:-unknown}: run by the container runtime (CNI_COMMAND, configuration on stdin);"
      echo "forwards to the ycloud agent on $sock (YCLOUD_CNI_SOCKET). Options: --version, --help."
    fi
    exit 0 ;;
esac
timeout="${YCLOUD_CNI_TIMEOUT_SECONDS:-150}"
conf=$(cat; printf x)
conf=${conf%x}
version=$(printf '%s' "$conf" | sed -n 's/.*"cniVersion"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$version" ] || version=1.1.0

fail() { # code message
  printf '{"cniVersion":"%s","code":%s,"msg":"%s","details":"socket %s"}' "$version" "$1" "$2" "$sock"
  exit 1
}

if [ "$CNI_COMMAND" = VERSION ]; then
  case "$version" in 1.0.0|1.1.0) ;; *) version=1.1.0 ;; esac
  printf '{"cniVersion":"%s","supportedVersions":["1.0.0","1.1.0"]}' "$version"
  exit 0
fi
command -v socat >/dev/null 2>&1 || fail 11 "the ycloud CNI shim needs socat on this node"
out=$( { env | grep '^CNI_'; echo; printf '%s' "$conf"; } |
  socat -t "$timeout" -T "$timeout" - "UNIX-CONNECT:$sock" 2>/dev/null; printf x)
out=${out%x}
code=${out%%
*}
case "$code" in
  ''|*[!0-9]*)
    if [ "$CNI_COMMAND" = STATUS ]; then fail 50 "the ycloud CNI agent is not reachable"; fi
    fail 11 "the ycloud CNI agent is not reachable" ;;
esac
printf '%s' "${out#*
}"
exit "$code"
