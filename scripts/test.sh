#!/usr/bin/env bash
# Every test: formatting, lints, Rust tests (with the real Codex binary), and the Playwright suite
# against a release build (debug builds would hide wasm-opt breakage).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
echo "== cargo test"
cargo test --workspace --exclude frontend
echo "== release build"
cargo leptos build --release
echo "== playwright (release build, Debian chromium)"
(cd end2end && npx playwright test)
