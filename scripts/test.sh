#!/usr/bin/env bash
# The one test command (README): lint, format, typecheck, unit, integration (real kube-apiserver + OVN),
# end to end (real traffic through the sandbox). Integration and e2e need root and `bash scripts/setup.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }
step lint;        npx eslint . --max-warnings 0
step format;      npx prettier --check . >/dev/null
step typecheck;   npx tsc -p tsconfig.json --noEmit
step unit;        npx jest --selectProjects unit
step integration; npx jest --selectProjects integration --runInBand
step e2e;         bash scripts/e2e.sh
