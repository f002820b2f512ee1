#!/usr/bin/env bash
# Every test: formatting, lints, Rust tests (with the real Codex binary), and the Playwright suite
# against a release build (debug builds would hide wasm-opt breakage). Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
echo "== cargo test"
cargo test --workspace --exclude frontend 2>&1 | tee -a "$log"
echo "== release build"
cargo leptos build --release
echo "== playwright (release build, Debian chromium)"
(cd end2end && npx playwright test) 2>&1 | tee -a "$log"

# Reaching this line means every step passed (set -e, pipefail); count what ran.
rust=$(grep -E '^test result: ok\.' "$log" | sed -E 's/^test result: ok\. ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
e2e=$(grep -E '^ +[0-9]+ passed' "$log" | tail -n 1 | awk '{print $1+0}')
echo "rust: ${rust} passed, 0 failed"
echo "playwright: ${e2e:-0} passed, 0 failed"
echo "total: $((rust + ${e2e:-0})) passed, 0 failed"
