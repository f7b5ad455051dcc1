#!/usr/bin/env bash
# Cleans a sample photo: shows what it reveals, strips it, shows the clean copy, then makes
# WebP variants of it.
set -euo pipefail
cd "$(dirname "$0")/.."
sample=../shared/corpus/exif-samples/jpg/gps/DSCN0010.jpg
[ -f "$sample" ] || sample=../shared/cases/inputs/01-exif-thumb-uncropped.jpg
out=$(mktemp -d)
node dist/bin/main.js inspect "$sample"
node dist/bin/main.js strip "$sample" -o "$out"
node dist/bin/main.js inspect "$out/$(basename "$sample")"
# And the transform: web-sized variants made from decoded pixels, in sandboxed workers.
node dist/bin/main.js convert "$sample" -o "$out/web" --to webp --variants thumb,medium
echo "outputs are in $out (a temporary folder)"
