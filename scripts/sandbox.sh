#!/usr/bin/env bash
# `npm run sandbox`: runs scripts/setup.sh when something it installs is missing, then `ycloud sandbox up` in the
# foreground (Ctrl-C or `bin/ycloud sandbox down` in another shell stops it). Extra arguments go to `sandbox up`
# (e.g. --nodes node-1,node-2, --no-example). State: .sandbox/ (override with YCLOUD_SANDBOX_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "the sandbox needs root (network namespaces, Open vSwitch)" >&2; exit 1; fi
need_setup=
for cmd in ovsdb-server ovs-vswitchd ovn-controller ovn-northd socat curl; do
  command -v "$cmd" >/dev/null 2>&1 || need_setup=1
done
[ -d node_modules ] || need_setup=1
command -v debootstrap >/dev/null 2>&1 || need_setup=1  # the OVN 25.03 root filesystem (YCLOUD_OVN, --ovn)
[ -d "$HOME/.cache/ycloud/k8s-bin" ] || [ -n "${YCLOUD_K8S_BIN_DIR:-}" ] || need_setup=1
if [ -n "$need_setup" ]; then bash scripts/setup.sh; fi
entry=apps/cli/src/sandbox/sandbox-main.ts
if [ -f apps/cli/src/main.ts ] && grep -q registerSandboxCommands apps/cli/src/main.ts; then entry=apps/cli/src/main.ts; fi
exec node -r ./scripts/register.js "$entry" sandbox up "$@"
