#!/usr/bin/env bash
# Every test: formatting, lints, Rust tests (with the real Codex binary), and the Playwright suite
# against a release build (debug builds would hide wasm-opt breakage).
#
# Set-up failing stops the script at once. After that every step runs even when an earlier one
# failed (one failure must not hide the rest), except Playwright, which needs the release build.
# The end lists each step's result and what failed, then the summary lines
#   rust: N passed, N failed / playwright: N passed, N failed / total: N passed, N failed
# and the exit status is non-zero if anything failed. A step that failed without a test count
# (formatting, a lint, a build, a test binary that would not compile) counts as one failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cargo_log=$(mktemp)
e2e_log=$(mktemp)
trap 'rm -f "$cargo_log" "$e2e_log"' EXIT

names=()
results=()

# step NAME LOG COMMAND...: runs COMMAND (its output also appended to LOG unless LOG is empty) and
# records PASS or FAIL; never stops the script.
step() {
  local name=$1 log=$2
  shift 2
  echo "== $name"
  local rc=0
  if [ -n "$log" ]; then
    "$@" 2>&1 | tee -a "$log" || rc=$?
  else
    "$@" || rc=$?
  fi
  names+=("$name")
  if [ "$rc" -eq 0 ]; then
    results+=(PASS)
  else
    results+=(FAIL)
    echo "== $name: FAILED (exit $rc)"
  fi
  return 0
}

not_run() {
  echo "== $1: not run ($2)"
  names+=("$1 ($2)")
  results+=("NOT RUN")
}

result_of() {
  local i
  for i in "${!names[@]}"; do
    if [ "${names[$i]}" = "$1" ]; then
      echo "${results[$i]}"
      return
    fi
  done
}

playwright() { (cd end2end && npx playwright test); }

step "cargo fmt --check" "" cargo fmt --all --check
step "module layering" "" python3 scripts/module_cycles.py
step "cargo clippy (host)" "" cargo clippy --all-targets -- -D warnings
step "cargo clippy (wasm)" "" cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
# Built first, then run under a limit: a test that hangs fails this step (exit 124) instead of
# holding CI until its own limit, and the release build and Playwright still run. A warm run takes
# a few minutes; the limit is far above that on a loaded machine.
step "cargo test (build)" "" cargo test --workspace --exclude frontend --no-run
step "cargo test" "$cargo_log" timeout --kill-after=30s 30m cargo test --workspace --exclude frontend --no-fail-fast
release_build() { cargo leptos build --release && scripts/precompress.sh target/site/pkg; }
step "release build" "" release_build
if [ "$(result_of "release build")" = PASS ]; then
  step "playwright (release build, Debian chromium)" "$e2e_log" playwright
else
  not_run "playwright (release build, Debian chromium)" "the release build failed"
fi

# Counts. cargo prints one `test result:` line per test binary (ok or FAILED); Playwright's list
# reporter ends with `  N passed (…)` and, if any, `  N failed`. (grep finds nothing: `|| true`.)
lines() { grep -E "$1" "$2" || true; }
sum_field() { # sum_field WORD: the sum of the numbers before WORD on cargo's `test result:` lines
  lines '^test result: ' "$cargo_log" | sed -nE "s/.* ([0-9]+) $1[;,].*/\1/p" | awk '{s+=$1} END {print s+0}'
}
rust_passed=$(sum_field passed)
rust_failed=$(sum_field failed)
e2e_passed=$(lines '^ +[0-9]+ passed' "$e2e_log" | tail -n 1 | awk '{print $1+0}')
e2e_passed=${e2e_passed:-0}
e2e_failed=$(lines '^ +[0-9]+ (failed|did not run)' "$e2e_log" | awk '{s+=$1} END {print s+0}')
if [ "$(result_of "cargo test")" = FAIL ] && [ "$rust_failed" -eq 0 ]; then
  rust_failed=1 # a test binary did not build, or crashed before reporting
fi
case "$(result_of "playwright (release build, Debian chromium)")" in
  PASS) ;;
  *) [ "$e2e_failed" -gt 0 ] || e2e_failed=1 ;; # failed without a count, or not run
esac
checks_passed=0
checks_failed=0
for name in "cargo fmt --check" "module layering" "cargo clippy (host)" "cargo clippy (wasm)" "cargo test (build)" "release build"; do
  if [ "$(result_of "$name")" = PASS ]; then
    checks_passed=$((checks_passed + 1))
  else
    checks_failed=$((checks_failed + 1))
  fi
done

echo
echo "== results"
status=0
for i in "${!names[@]}"; do
  printf '  %-7s  %s\n' "${results[$i]}" "${names[$i]}"
  [ "${results[$i]}" = PASS ] || status=1
done
failed_rust=$(lines '^test .* \.\.\. FAILED$' "$cargo_log" | sed -E 's/^test (.*) \.\.\. FAILED$/  rust: \1/')
failed_targets=$(lines '^ +`-p .*`$' "$cargo_log" | sed -E 's/^ +/  rust target: /')
failed_e2e=$(lines '^ +[0-9]+\) ' "$e2e_log" | sed -E 's/^ +[0-9]+\) /  playwright: /; s/ *─+ *$//' | sort -u)
if [ -n "$failed_rust$failed_targets$failed_e2e" ]; then
  echo "== failed"
  for list in "$failed_targets" "$failed_rust" "$failed_e2e"; do
    [ -z "$list" ] || echo "$list"
  done
fi
echo "checks: ${checks_passed} passed, ${checks_failed} failed"
echo "rust: ${rust_passed} passed, ${rust_failed} failed"
echo "playwright: ${e2e_passed} passed, ${e2e_failed} failed"
echo "total: $((rust_passed + e2e_passed)) passed, $((rust_failed + e2e_failed + checks_failed)) failed"
exit "$status"
