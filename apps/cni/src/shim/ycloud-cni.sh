#!/bin/sh
# POSIX sh + socat variant of the ycloud CNI shim (same wire format as ycloud-cni.js); kept for measuring
# start-up. It does not answer VERSION locally and needs socat on the node.
sock="${YCLOUD_CNI_SOCKET:-/run/ycloud/cni.sock}"
out=$( { env | grep '^CNI_'; echo; cat; } | socat -t 150 -T 150 - "UNIX-CONNECT:$sock" 2>/dev/null; printf x)
out=${out%x}
code=${out%%
*}
case "$code" in
  ''|*[!0-9]*)
    printf '{"cniVersion":"1.1.0","code":11,"msg":"the ycloud CNI agent is not reachable","details":"socket %s"}' "$sock"
    exit 1 ;;
esac
printf '%s' "${out#*
}"
exit "$code"
