#!/usr/bin/env bash
# Starts the whole product with demo data on embedded defaults and prints the panel's URL and
# the logins. Installs what it needs first; safe to run again. Ctrl-C stops everything.
#   LIBVIRT_URI=qemu:///system ./scripts/demo.sh   boots real QEMU guests inside a network namespace
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

ensure_apt_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}"
ensure_node
ensure_npm_deps

if [ "${LIBVIRT_URI:-test:///default}" = "qemu:///system" ]; then
  [ "$(id -u)" = 0 ] || die "LIBVIRT_URI=qemu:///system needs root (libvirtd in a network namespace, taps and routes): run it with sudo"
  # busybox-static, cpio: the test guest; genisoimage: the daemon's cloud-init seeds;
  # iputils-ping, curl: reaching a guest as the demo's output says
  ensure_apt_packages busybox-static cpio genisoimage iputils-ping curl ${GUEST_IMAGE_PACKAGES:-}
  log "building the test guest image (cached)"
  bash tools/guest-image/build.sh >/dev/null
  log "starting libvirtd in network namespace ${OBLAKO_NETNS:-oblako}"
  bash tools/hypervisor/netns-libvirtd.sh start "${OBLAKO_NETNS:-oblako}"
fi

build_all quiet
exec node tools/devstack/dist/demo.js "$@"
