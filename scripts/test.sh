#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian tools, a running PostgreSQL),
# builds, type-checks, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
bash scripts/ensure-postgres.sh
[ -d node_modules ] || npm ci
npm run build
npm run typecheck
npm run lint
npm run format:check
results=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" || status=$?
# One plain closing line for scripts and CI: "N passed, N failed".
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$results" || true
rm -f "$results"
exit "$status"
