#!/usr/bin/env bash
# The one test command (README): lint, format, typecheck, unit, integration (real kube-apiserver + OVN),
# end to end (real traffic through the sandbox). Integration and e2e need root and `bash scripts/setup.sh`.
#
# OVN / Open vSwitch releases: with YCLOUD_OVN set (23.03 or 25.03), everything runs on that release. Unset, the
# whole suite runs on the default release (the one the suite is reliable on) and the integration and end-to-end
# suites run again on the other one, so CI covers both (README, supported versions).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }
if [ -n "${YCLOUD_OVN:-}" ]; then
  releases=("$YCLOUD_OVN")
else
  default=$(scripts/ovn-release.sh --default)
  releases=("$default")
  for r in $(scripts/ovn-release.sh --all); do [ "$r" = "$default" ] || releases+=("$r"); done
fi
step lint;        npx eslint . --max-warnings 0
step format;      npx prettier --check . >/dev/null
step typecheck;   npx tsc -p tsconfig.json --noEmit
step unit;        npx jest --selectProjects unit
for r in "${releases[@]}"; do
  export YCLOUD_OVN=$r
  release=$(scripts/ovn-release.sh)  # fails on a YCLOUD_OVN it cannot run
  read -r _ _ description <<<"$release"
  step "integration ($description)"; npx jest --selectProjects integration --runInBand
  step "e2e ($description)";         bash scripts/e2e.sh
done
