#!/usr/bin/env bash
# Builds and runs a benchmark: bench/strip.ts by default, bench/bombs.ts with "bombs".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
[ -d node_modules ] || npm ci
npm run build >/dev/null
npx tsc -p tsconfig.bench.json
node "build-bench/bench/${1:-strip}.js"
