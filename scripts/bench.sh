#!/usr/bin/env bash
# Builds and runs the benchmarks: strip, then convert, by default; one of them (strip, convert,
# bombs, audit, ingest) when named.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
[ -d node_modules ] || npm ci
npm run build >/dev/null
npx tsc -p tsconfig.bench.json
if [ $# -eq 0 ]; then
  node build-bench/bench/strip.js
  node build-bench/bench/convert.js
else
  node "build-bench/bench/$1.js"
fi
