#!/usr/bin/env bash
# Builds a tiny bootable ISO from the test guest (build.sh first): ISOLINUX (Debian's isolinux and
# syslinux-common packages) boots the same kernel and initramfs with `oblako.boot=iso` on the command
# line, so a test can tell an ISO boot from a disk boot (the guest serves /proc/cmdline at GET /cmdline;
# ISOLINUX prints its banner on the serial port).
#   boot.iso, boot.iso.sha256 in .data/guest-image/ (override: OBLAKO_GUEST_IMAGE_DIR)
# Idempotent: rebuilt only when the kernel, initramfs or this script change.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
out="${OBLAKO_GUEST_IMAGE_DIR:-${repo}/.data/guest-image}"
log() { printf 'guest-iso: %s\n' "$*" >&2; }
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
for f in "${isolinux}" "${ldlinux}"; do
  [ -f "${f}" ] || { log "missing ${f} (apt-get install -y isolinux syslinux-common)"; exit 1; }
done
command -v genisoimage >/dev/null || { log "missing genisoimage (apt-get install -y genisoimage)"; exit 1; }
[ -f "${out}/vmlinuz" ] && [ -f "${out}/initrd.img" ] || { log "build the guest first: tools/guest-image/build.sh"; exit 1; }

cmdline="console=tty0 console=ttyS0 no_timer_check oblako.boot=iso"
inputs="$( { echo "${cmdline}"; sha256sum "${out}/vmlinuz" "${out}/initrd.img" "${isolinux}" "${ldlinux}" "${BASH_SOURCE[0]}"; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "${out}/.iso-inputs" 2>/dev/null || true)" != "${inputs}" ] || [ ! -f "${out}/boot.iso" ]; then
  stage="$(mktemp -d)"
  trap 'rm -rf "${stage}"' EXIT
  mkdir -p "${stage}/isolinux"
  cp "${isolinux}" "${ldlinux}" "${stage}/isolinux/"
  cp "${out}/vmlinuz" "${out}/initrd.img" "${stage}/"
  cat > "${stage}/isolinux/isolinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT live
TIMEOUT 1
LABEL live
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img ${cmdline}
CFG
  find "${stage}" -exec touch -h -d @0 {} +
  genisoimage -quiet -o "${out}/boot.iso.tmp" -V OBLAKO_TEST_ISO -J -R \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "${stage}"
  mv "${out}/boot.iso.tmp" "${out}/boot.iso"
  echo "${inputs}" > "${out}/.iso-inputs"
  rm -rf "${stage}"; trap - EXIT
  log "built boot.iso ($(stat -c %s "${out}/boot.iso") bytes)"
fi
sha256sum "${out}/boot.iso" | cut -d' ' -f1 > "${out}/boot.iso.sha256"
printf '%s %s\n' "${out}/boot.iso" "$(cat "${out}/boot.iso.sha256")"
