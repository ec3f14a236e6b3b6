#!/bin/sh
# Assembles the file tree of the netfence image's /app into DEST/app, from this checkout
# after `npm run build`: the compiled CLI (dist/src), its launcher, package.json, and the
# production dependencies only, without type declarations, source maps and docs (licences
# stay). The Dockerfile runs it in its build stage; test/integration/image.test.ts runs it
# here to start the same tree as the image would (numeric non-root user, read-only root).
# Usage: sh scripts/image-root.sh DEST
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
[ -f dist/src/cli/main.js ] || { echo "$0: dist/src is missing: run npm run build first" >&2; exit 2; }
app="$1/app"
rm -rf "$app"
mkdir -p "$app/dist"
cp package.json package-lock.json "$app/"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm "$app/package-lock.json"
find "$app/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
  -o \( -name '*.md' ! -iname 'licen*' \) \) -delete
rm -rf "$app/node_modules/@types" "$app/node_modules/.package-lock.json"
find "$app/node_modules" -depth -type d -empty -delete
cp -R bin "$app/bin"
cp -R dist/src "$app/dist/src"
find "$app/dist" -name '*.map' -type f -delete
