#!/usr/bin/env bash
# Installs whatever is missing to build, run and test codex-webchat, and checks pinned versions.
# Idempotent: a second run on a set-up machine only checks. Nothing here downloads a binary from
# anywhere but the package registries (apt, crates.io, npm).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
BINARYEN_VERSION=132.0.0
CODEX_VERSION=0.169.0
WASM_BINDGEN_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
CODEX_BIN=.tools/codex/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex

say() { printf 'setup: %s\n' "$*"; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "setup: needs root for: $*" >&2; exit 1
  fi
}

# Debian's binaryen (108) silently breaks hydration in release builds, and it would shadow the npm one.
if dpkg -s binaryen >/dev/null 2>&1; then
  say "removing Debian's binaryen (breaks release wasm)"
  as_root apt-get remove -y binaryen
fi

if ! command -v chromium >/dev/null 2>&1; then
  say "installing Debian chromium"
  as_root apt-get update -q
  as_root apt-get install -y -q chromium
fi

# The release build's static files are precompressed once (scripts/precompress.sh); the server
# sends the `.br` file to browsers that accept brotli.
if ! command -v brotli >/dev/null 2>&1; then
  say "installing Debian brotli"
  as_root apt-get update -q
  as_root apt-get install -y -q brotli
fi

# The terminal client's end-to-end test runs it in a tmux pane (a real pseudo-terminal).
if ! command -v tmux >/dev/null 2>&1; then
  say "installing Debian tmux"
  as_root apt-get update -q
  as_root apt-get install -y -q tmux
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes ~11 minutes on 2 cores)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (must equal Cargo.lock)"
  # Without --locked: its lockfile pins crates newer than the registry mirror has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  say "installing binaryen $BINARYEN_VERSION from npm"
  as_root npm install -g --no-fund --no-audit "binaryen@$BINARYEN_VERSION"
fi

if [ ! -x "$CODEX_BIN" ] || ! "$CODEX_BIN" --version 2>/dev/null | grep -q " $CODEX_VERSION\$"; then
  say "installing @openai/codex@$CODEX_VERSION into .tools/codex"
  mkdir -p .tools/codex
  [ -f .tools/codex/package.json ] || echo '{"private": true}' > .tools/codex/package.json
  (cd .tools/codex && npm install --no-fund --no-audit --save-exact "@openai/codex@$CODEX_VERSION")
fi

if [ ! -f end2end/node_modules/.package-lock.json ] \
   || ! cmp -s end2end/package-lock.json end2end/node_modules/.setup-stamp; then
  say "installing end-to-end test packages (no browser download: Debian chromium is used)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-fund --no-audit)
  cp end2end/package-lock.json end2end/node_modules/.setup-stamp
fi

# Verify what the build relies on, whatever installed it.
wasm-bindgen --version | grep -q " $WASM_BINDGEN_VERSION\$" || { echo "setup: wasm-bindgen is not $WASM_BINDGEN_VERSION" >&2; exit 1; }
wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}" || { echo "setup: wasm-opt is not binaryen ${BINARYEN_VERSION%%.*}" >&2; exit 1; }
"$CODEX_BIN" --version | grep -q " $CODEX_VERSION\$" || { echo "setup: codex is not $CODEX_VERSION" >&2; exit 1; }
say "ok (cargo-leptos $CARGO_LEPTOS_VERSION, wasm-bindgen $WASM_BINDGEN_VERSION, binaryen ${BINARYEN_VERSION%%.*}, codex $CODEX_VERSION, $(chromium --version 2>/dev/null | head -n1))"
