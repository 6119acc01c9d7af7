#!/usr/bin/env bash
# Oblako control plane: install or upgrade on a Debian 12 host, as root, from a checkout of the
# repository. Idempotent: a re-run upgrades in place (new release, migrations, rolling restart)
# and keeps the data, the keys and the secrets. See docs/INSTALL.md.
#
#   tools/install/install.sh [--domain NAME] [--https-port 443] [--replicas 2] [--admin-email a@b]
#                            [--cert FILE --key FILE] [--root DIR] [--no-packages] [--no-systemd] ...
#
# `tools/install/install.sh --help` lists every option. --root installs everything below DIR
# (its etc/, opt/, var/) instead of /, for tests; with it nothing outside DIR is written.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=../../scripts/lib/common.sh
source "$REPO/scripts/lib/common.sh"

want_packages=1 want_build=1
for a in "$@"; do
  case "$a" in
    --no-packages) want_packages=0 ;;
    --no-build) want_build=0 ;;
    -h|--help) exec node "$HERE/install.mjs" --help ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (it writes /etc/oblako, systemd units and creates the oblako user)"

if [ "$want_packages" = 1 ]; then
  # PostgreSQL and nats-server from Debian; nginx terminates TLS, serves the panel and balances the API replicas.
  # Debian's own nginx.service and nats-server.service are disabled again by install.mjs: Oblako runs
  # its own units (oblako-web, oblako-nats) with its own configuration.
  ensure_apt_packages postgresql nats-server nginx openssl curl ca-certificates
fi
if [ "$want_build" = 1 ]; then
  ensure_node
  (cd "$REPO" && ensure_npm_deps && build_all)
fi
exec node "$HERE/install.mjs" --repo "$REPO" "$@"
