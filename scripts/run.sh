#!/usr/bin/env bash
# Quick start: installs what is missing, builds (release), and serves on http://127.0.0.1:3000
# with the embedded demo model. Extra arguments go to `codex-webchat serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo leptos build --release
scripts/precompress.sh target/site/pkg
exec target/release/codex-webchat serve "$@"
