#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds, type-checks, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
[ -d node_modules ] || npm ci
npm run build
npm run typecheck
npm run lint
npm run format:check
npx vitest run
