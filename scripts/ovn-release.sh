#!/usr/bin/env bash
# Prints what the test bed would run for YCLOUD_OVN (or the default): `series ovs-series description`, e.g.
# `25.03 3.5 OVN 25.03.0 / OVS 3.5.0 (root filesystem ...)`. With --default, prints only the default series; with
# --all, every series the test bed can run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --default ]; then
  exec node -r ./scripts/register.js -e "console.log(require('@ycloud/testbed').DEFAULT_OVN_SERIES)"
fi
if [ "${1:-}" = --all ]; then
  exec node -r ./scripts/register.js -e "console.log(require('@ycloud/testbed').OVN_SERIES.join(' '))"
fi
exec node -r ./scripts/register.js -e "
  require('@ycloud/testbed').OvnRelease.resolve().then(
    (r) => console.log(r.series, r.ovsSeries, r.description),
    (e) => { console.error(e.message); process.exit(1); },
  )"
