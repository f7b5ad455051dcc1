#!/usr/bin/env bash
# Builds and runs the strip benchmark (see bench/strip.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
[ -d node_modules ] || npm ci
npm run build >/dev/null
npx tsc -p tsconfig.bench.json
node build-bench/bench/strip.js
