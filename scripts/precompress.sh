#!/usr/bin/env bash
# Compresses the release build's static files once, next to themselves: `X.br` (brotli, best) and
# `X.gz` (gzip -9). The server's static file handler (leptos_axum's, tower-http `ServeDir` with
# precompressed variants) sends the smallest one the browser accepts with the right
# `Content-Encoding`, so no request pays for compression and the wasm arrives as brotli.
# Usage: scripts/precompress.sh DIR (default target/site/pkg).
set -euo pipefail
dir=${1:-target/site/pkg}
[ -d "$dir" ] || { echo "precompress: $dir is not a folder (build first: cargo leptos build --release)" >&2; exit 1; }
shopt -s nullglob
count=0
for f in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css; do
  brotli --force --best --keep --output="$f.br" "$f"
  gzip --force --best --keep --no-name "$f"
  # Both tools copy the source's time, brotli truncated to whole seconds: the server would take
  # the variant for older than its source (stale) and drop it. They are made now.
  touch "$f.br" "$f.gz"
  count=$((count + 1))
done
[ "$count" -gt 0 ] || { echo "precompress: nothing to compress in $dir" >&2; exit 1; }
echo "precompress: $count files in $dir (.br and .gz)"
