#!/usr/bin/env bash
# Builds the Oblako test guest from Debian packages only (no other network access):
#   vmlinuz     Debian's cloud kernel (apt-get download + dpkg -x, never installed)
#   initrd.img  busybox initramfs whose /init reads the NoCloud seed (see README.md)
#   base.qcow2  tiny base "root disk" (64 MiB virtual) with a marker in its first sector
#   manifest.json, base.qcow2.sha256
# Idempotent: everything is cached under .data/guest-image/ (override: OBLAKO_GUEST_IMAGE_DIR).
# Needs: apt-get/apt-cache/dpkg, busybox-static, cpio, gzip, qemu-utils.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
out="${OBLAKO_GUEST_IMAGE_DIR:-${repo}/.data/guest-image}"
base_size="${OBLAKO_GUEST_BASE_SIZE:-64M}"
mkdir -p "${out}"

log() { printf 'guest-image: %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "missing $1 (apt-get install -y $2)"; exit 1; }; }
need busybox busybox-static
need cpio cpio
need qemu-img qemu-utils
need dpkg dpkg
[ -x /bin/busybox ] && file_bb=/bin/busybox || file_bb="$(command -v busybox)"
if ! (ldd "${file_bb}" 2>&1 || true) | grep -q 'not a dynamic'; then
  log "busybox at ${file_bb} is not static (apt-get install -y busybox-static)"; exit 1
fi

# ---- kernel -----------------------------------------------------------------------------
kver="${OBLAKO_GUEST_KERNEL_VERSION:-}"
if [ -z "${kver}" ]; then
  kpkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1 || true)"
  if [ -z "${kpkg}" ]; then
    # reuse what is cached if apt knows nothing (e.g. no lists yet), else refresh the lists
    cached="$(ls -1 "${out}"/kernel/ 2>/dev/null | sed -n 's/^linux-image-\(.*-cloud-amd64\)_.*\.deb$/\1/p' | sort -V | tail -n 1 || true)"
    if [ -n "${cached}" ]; then kpkg="linux-image-${cached}"
    else
      log "apt knows no linux-image-cloud-amd64; running apt-get update"
      apt-get update -qq
      kpkg="$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n 1)"
    fi
  fi
  kver="${kpkg#linux-image-}"
fi
[ -n "${kver}" ] || { log "cannot determine the cloud kernel version"; exit 1; }
kdir="${out}/kernel"
mkdir -p "${kdir}"
deb="$(ls -1 "${kdir}"/linux-image-"${kver}"_*.deb 2>/dev/null | head -n 1 || true)"
if [ -z "${deb}" ]; then
  log "downloading linux-image-${kver}"
  (cd "${kdir}" && apt-get download -q "linux-image-${kver}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  deb="$(ls -1 "${kdir}"/linux-image-"${kver}"_*.deb 2>/dev/null | head -n 1 || true)"
  [ -n "${deb}" ] || { log "apt-get download linux-image-${kver} failed"; exit 1; }
fi
xdir="${kdir}/x-${kver}"
if [ ! -f "${xdir}/.done" ]; then
  rm -rf "${xdir}"
  dpkg -x "${deb}" "${xdir}"
  touch "${xdir}/.done"
fi
moddir="${xdir}/lib/modules/${kver}"
[ -d "${moddir}" ] || { log "no modules in ${deb}"; exit 1; }

# ---- initramfs --------------------------------------------------------------------------
# Wanted modules, in load order; dependencies are resolved (modinfo) and inserted first.
wanted=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
        failover net_failover virtio_net virtio_blk
        scsi_mod cdrom sr_mod libata ata_piix virtio_scsi
        isofs fat vfat nls_cp437 nls_iso8859-1 nls_utf8 nls_ascii
        button evdev loop)
declare -A modpath=() seen=()
while IFS= read -r -d '' f; do
  n="$(basename "${f}")"; n="${n%%.ko*}"
  modpath["${n}"]="${f}"; modpath["${n//-/_}"]="${f}"
done < <(find "${moddir}/kernel" -name '*.ko*' -print0)
order=()
modsrc() { case "$1" in *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *.gz) gzip -dc "$1" ;; *) cat "$1" ;; esac; }
add_mod() {
  local m="$1" f d
  [ -n "${seen[${m}]:-}" ] && return 0
  f="${modpath[${m}]:-}"
  if [ -z "${f}" ]; then
    if grep -qE "/${m//_/[-_]}\.ko" "${moddir}/modules.builtin" 2>/dev/null; then seen["${m}"]=builtin; return 0; fi
    log "module ${m} not found in ${kver}"; exit 1
  fi
  seen["${m}"]=1
  # the .modinfo section holds NUL-separated "depends=a,b" (no kmod needed)
  for d in $(modsrc "${f}" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '); do add_mod "${d}"; done
  order+=("${m}")
}
for m in "${wanted[@]}"; do add_mod "${m}"; done

inputs_hash="$( { echo "${kver}"; echo "${order[*]}"; sha256sum "${file_bb}" "${here}/initramfs/init" "${here}/initramfs/yaml-flat.awk" "${here}/build.sh"; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "${out}/.initrd-inputs" 2>/dev/null || true)" != "${inputs_hash}" ] || [ ! -f "${out}/initrd.img" ]; then
  log "building initrd.img (${#order[@]} modules)"
  stage="$(mktemp -d)"
  trap 'rm -rf "${stage}"' EXIT
  mkdir -p "${stage}"/{bin,sbin,dev,proc,sys,run,tmp,etc,root,lib/modules,mnt,www,var}
  cp "${file_bb}" "${stage}/bin/busybox"
  for a in $("${file_bb}" --list); do
    [ "${a}" = busybox ] || ln -s busybox "${stage}/bin/${a}"
  done
  for m in "${order[@]}"; do
    f="${modpath[${m}]}"
    case "${f}" in
      *.ko.xz) xz -dc "${f}" > "${stage}/lib/modules/${m}.ko" ;;
      *.ko.zst) zstd -qdc "${f}" > "${stage}/lib/modules/${m}.ko" ;;
      *.ko.gz) gzip -dc "${f}" > "${stage}/lib/modules/${m}.ko" ;;
      *) cp "${f}" "${stage}/lib/modules/${m}.ko" ;;
    esac
  done
  printf '%s\n' "${order[@]}" > "${stage}/lib/modules/load-order"
  install -m 755 "${here}/initramfs/init" "${stage}/init"
  install -m 644 "${here}/initramfs/yaml-flat.awk" "${stage}/lib/yaml-flat.awk"
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "${stage}/etc/passwd"
  printf 'root:x:0:\n' > "${stage}/etc/group"
  printf 'root:*:19000:0:99999:7:::\n' > "${stage}/etc/shadow"
  : > "${stage}/etc/resolv.conf"
  find "${stage}" -exec touch -h -d @0 {} +   # fixed mtimes: the same inputs give the same initrd
  (cd "${stage}" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet -R 0:0) | gzip -n -9 > "${out}/initrd.img.tmp"
  mv "${out}/initrd.img.tmp" "${out}/initrd.img"
  rm -rf "${stage}"; trap - EXIT
  echo "${inputs_hash}" > "${out}/.initrd-inputs"
fi
cp -f "${xdir}/boot/vmlinuz-${kver}" "${out}/vmlinuz.tmp" && mv -f "${out}/vmlinuz.tmp" "${out}/vmlinuz"

# ---- base disk ---------------------------------------------------------------------------
marker="OBLAKO-TEST-BASE v1 size=${base_size}"
if [ ! -f "${out}/base.qcow2" ] || [ "$(cat "${out}/.base-marker" 2>/dev/null || true)" != "${marker}" ]; then
  log "building base.qcow2 (${base_size})"
  raw="${out}/base.raw.tmp"
  rm -f "${raw}"
  qemu-img create -q -f raw "${raw}" "${base_size}"
  printf '%s\n' "${marker}" | dd of="${raw}" conv=notrunc status=none
  qemu-img convert -q -f raw -O qcow2 "${raw}" "${out}/base.qcow2.tmp"
  rm -f "${raw}"
  mv "${out}/base.qcow2.tmp" "${out}/base.qcow2"
  echo "${marker}" > "${out}/.base-marker"
fi

sha="$(sha256sum "${out}/base.qcow2" | cut -d' ' -f1)"
printf '%s  base.qcow2\n' "${sha}" > "${out}/base.qcow2.sha256"
cat > "${out}/manifest.json" <<JSON
{
  "name": "oblako-test-guest",
  "kernelVersion": "${kver}",
  "kernel": "${out}/vmlinuz",
  "initrd": "${out}/initrd.img",
  "cmdline": "console=tty0 console=ttyS0 no_timer_check",
  "image": "${out}/base.qcow2",
  "imageFormat": "qcow2",
  "imageSha256": "${sha}",
  "imageMarker": "${marker}",
  "kernelSha256": "$(sha256sum "${out}/vmlinuz" | cut -d' ' -f1)",
  "initrdSha256": "$(sha256sum "${out}/initrd.img" | cut -d' ' -f1)"
}
JSON
log "kernel ${kver}; output in ${out}"
printf 'vmlinuz    %s\ninitrd.img %s\nbase.qcow2 %s\nsha256(base.qcow2) %s\n' \
  "${out}/vmlinuz" "${out}/initrd.img" "${out}/base.qcow2" "${sha}"
