#!/usr/bin/env bash
# Runs every test of the project: unit, medium (real PostgreSQL, NATS, libvirt's test driver),
# end-to-end (API + daemon processes), browser (Chromium) and the real QEMU guest.
# Installs what it needs first (Debian packages, Node.js, npm dependencies) and starts
# PostgreSQL and NATS when they are not running. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

started=$(date +%s)
ensure_apt_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" ${TEST_EXTRA_PACKAGES:-}
ensure_node
ensure_npm_deps
ensure_test_postgres
ensure_test_nats

log "building"
npx nx run-many -t build build-tests --outputStyle=static
log "linting (module boundaries included)"
npx nx run-many -t lint --outputStyle=static

# One node:test run over every compiled test so its summary is the last thing printed.
mapfile -t files < <(find apps libs test -type d -name node_modules -prune -o -type f -path '*/dist/*' \( -name '*.spec.js' -o -name '*.test.js' \) -print 2>/dev/null | sort)
[ ${#files[@]} -gt 0 ] || die "no compiled test files found"
log "running ${#files[@]} test files"
node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=600000 "${files[@]}"
log "all tests passed in $(( $(date +%s) - started )) s"
