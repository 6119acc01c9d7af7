#!/usr/bin/env bash
# Runs every test of the project: unit, medium (real PostgreSQL, NATS, libvirt's test driver),
# end-to-end (API + daemon processes), browser (Chromium) and the real QEMU guest.
# Installs what it needs first (Debian packages, Node.js, npm dependencies) and starts
# PostgreSQL and NATS when they are not running. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

started=$(date +%s)
ensure_apt_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_node
ensure_npm_deps
ensure_test_postgres
ensure_test_nats

build_all
log "linting (module boundaries and the build graph included)"
node tools/build/build.mjs check-graph
npx nx run-many -t lint --outputStyle=static

# Every compiled test, in two node:test runs: the fast and medium ones two at a time, then the
# real QEMU guests (test/real-guest) one at a time, as they share the two cores with the guests.
# OBLAKO_REAL_GUEST=0 skips the guests (they need root, libvirtd and about two minutes).
export OBLAKO_REAL_GUEST="${OBLAKO_REAL_GUEST:-1}"
mapfile -t files < <(find apps libs test -type d -name node_modules -prune -o -type f -path '*/dist/*' \( -name '*.spec.js' -o -name '*.test.js' \) -print 2>/dev/null | sort)
[ ${#files[@]} -gt 0 ] || die "no compiled test files found"
main=() guests=()
for f in "${files[@]}"; do case "$f" in test/dist/real-guest/*) guests+=("$f") ;; *) main+=("$f") ;; esac; done
results="$ROOT/.data/test-results"; rm -rf "$results"; mkdir -p "$results"
status=0
# One test run at a time on this machine: the suite's timings (real guests, timeouts, browser
# waits) assume the two cores are its own. Other clones' runs wait here, after their build.
hold_machine_lock /tmp/oblako-test-suite.lock "another test run on this machine"
log "running ${#main[@]} test files"
node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=600000 "${main[@]}" | tee "$results/main.tap" || status=1
if [ ${#guests[@]} -gt 0 ]; then
  log "running ${#guests[@]} real-guest test files (QEMU in a network namespace)"
  # One set of QEMU guests at a time on this machine (other clones' test runs wait here): software
  # emulation on two cores cannot boot two sets side by side within the tests' time limits.
  flock -o -w 3600 /tmp/oblako-real-guest.lock node --test --test-concurrency=1 --test-timeout=1200000 "${guests[@]}" | tee "$results/guests.tap" || status=1
fi
count() { cat "$results"/*.tap | awk -v k="# $1" '$1" "$2==k {n+=$3} END {print n+0}'; }
echo
echo "$(count pass) passed, $(count fail) failed, $(count skipped) skipped"
[ "$status" = 0 ] || die "some tests failed (TAP output in .data/test-results)"
log "all tests passed in $(( $(date +%s) - started )) s"
