#!/usr/bin/env bash
# Builds a real Debian 12 (bookworm) cloud image from Debian's packages only, with mmdebstrap:
#   Debian's cloud kernel + initramfs-tools, GRUB (BIOS, written to the disk's first MiB),
#   systemd, the real cloud-init (NoCloud), openssh-server, qemu-guest-agent, netplan +
#   systemd-networkd (what cloud-init renders the network config to), cloud-guest-utils
#   (growpart) and one ext4 root partition that cloud-init grows to the server's disk.
# Output (default .data/debian-image/, override OBLAKO_DEBIAN_IMAGE_DIR):
#   debian-12.qcow2, debian-12.qcow2.sha256, manifest.json
# Cached by the hash of its inputs (this script, suite, mirror, packages, size): a second run with
# the same inputs does nothing. Reproducible as far as the tools allow: SOURCE_DATE_EPOCH fixes
# every timestamp mmdebstrap and mke2fs write, the filesystem UUID and hash seed are fixed, the
# file order is sorted; package versions are whatever the mirror has on the day (point
# OBLAKO_DEBIAN_MIRROR at a snapshot.debian.org URL to pin them).
# Needs (root): mmdebstrap, grub-pc-bin, e2fsprogs, fdisk (sfdisk), qemu-utils.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
out="${OBLAKO_DEBIAN_IMAGE_DIR:-${repo}/.data/debian-image}"
suite="${OBLAKO_DEBIAN_SUITE:-bookworm}"
mirror="${OBLAKO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${OBLAKO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
size_mib="${OBLAKO_DEBIAN_SIZE_MIB:-2048}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1735689600}" # 2025-01-01T00:00:00Z
# Fixed so the same inputs give the same filesystem; cloud-init regenerates what must be unique
# per server (machine-id, SSH host keys) on first boot.
fs_uuid="0b1a4c0d-eb12-4e12-9d12-0b1a4c0deb12"
default_user="debian"
packages=(systemd-sysv udev dbus linux-image-cloud-amd64 initramfs-tools
          cloud-init cloud-guest-utils e2fsprogs openssh-server qemu-guest-agent
          netplan.io iproute2 fdisk sudo)

log() { printf 'debian-image: %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "missing $1 (apt-get install -y $2)"; exit 1; }; }
need mmdebstrap mmdebstrap
need grub-mkimage grub-pc-bin
need mke2fs e2fsprogs
need sfdisk fdisk
need qemu-img qemu-utils
[ -f /usr/lib/grub/i386-pc/boot.img ] || { log "missing /usr/lib/grub/i386-pc (apt-get install -y grub-pc-bin)"; exit 1; }
[ "$(id -u)" = 0 ] || { log "must run as root (mmdebstrap --mode=root)"; exit 1; }
case "${size_mib}" in ''|*[!0-9]*) log "OBLAKO_DEBIAN_SIZE_MIB must be a number"; exit 1 ;; esac

inputs="$( { sha256sum "${BASH_SOURCE[0]}" "${here}"/debian/* | cut -d' ' -f1; echo "${suite} ${mirror} ${security} ${size_mib} ${SOURCE_DATE_EPOCH}"; echo "${packages[*]}"; } | sha256sum | cut -d' ' -f1)"
image="${out}/debian-12.qcow2"
if [ -f "${image}" ] && [ -f "${out}/manifest.json" ] && [ "$(cat "${out}/.inputs" 2>/dev/null || true)" = "${inputs}" ]; then
  log "cached (inputs ${inputs:0:12}): ${image}"
  cat "${out}/manifest.json"
  exit 0
fi

mkdir -p "${out}"
work="$(mktemp -d "${out}/.build-XXXXXX")"
trap 'rm -rf "${work}"' EXIT
root="${work}/root"
started=$(date +%s)

# ---- the root filesystem ----------------------------------------------------------------------
log "mmdebstrap ${suite} from ${mirror} (${#packages[@]} packages and their dependencies)"
mkdir -p "${root}"
mmdebstrap --mode=root --variant=apt --format=directory --quiet \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --aptopt='Acquire::Retries "3"' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="FS_UUID=${fs_uuid} DEFAULT_USER=${default_user} '${here}/debian/customize.sh' \"\$1\"" \
  "${suite}" "${root}" \
  "deb ${mirror} ${suite} main" "deb ${mirror} ${suite}-updates main" "deb ${security} ${suite}-security main"

kver="$(ls -1 "${root}/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)"
[ -n "${kver}" ] || { log "no kernel in the image"; exit 1; }
declare -A ver=()
while read -r p v; do ver["${p}"]="${v}"; done < <(chroot "${root}" dpkg-query -W -f '${Package} ${Version}\n' cloud-init openssh-server qemu-guest-agent systemd "linux-image-${kver}" netplan.io)

# ---- the disk: MBR, GRUB in the first MiB, one ext4 partition ---------------------------------
raw="${work}/disk.raw"
part_start=2048 # sectors: the first MiB holds the MBR and GRUB's core image
qemu-img create -q -f raw "${raw}" "${size_mib}M"
printf 'label: dos\nlabel-id: 0x0b1a4c0d\nunit: sectors\n\nstart=%s, type=83, bootable\n' "${part_start}" | sfdisk -q --no-reread "${raw}" >/dev/null
part_bytes=$(( size_mib * 1024 * 1024 - part_start * 512 ))
log "ext4 root filesystem ($(( part_bytes / 1024 / 1024 )) MiB, from $(du -sm "${root}" | cut -f1) MiB of files)"
E2FSPROGS_FAKE_TIME="${SOURCE_DATE_EPOCH}" mke2fs -q -t ext4 -F -L root -U "${fs_uuid}" \
  -E "offset=$(( part_start * 512 )),hash_seed=${fs_uuid},root_owner=0:0" \
  -O '^metadata_csum_seed' -d "${root}" "${raw}" "$(( part_bytes / 1024 ))k"

# GRUB for BIOS without a loop device: core.img (modules + an embedded config that points at the
# partition) goes right after the MBR, boot.img's first 440 bytes into the MBR (the partition table
# after them is kept). This is what grub-install does on an MBR disk with a post-MBR gap.
cat > "${work}/early.cfg" <<'CFG'
set root=(hd0,msdos1)
set prefix=($root)/boot/grub
configfile ($root)/boot/grub/grub.cfg
CFG
grub-mkimage -O i386-pc -o "${work}/core.img" -c "${work}/early.cfg" -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 linux normal configfile echo test serial terminal
core_sectors=$(( ($(stat -c %s "${work}/core.img") + 511) / 512 ))
[ "${core_sectors}" -lt "${part_start}" ] || { log "GRUB core image (${core_sectors} sectors) does not fit before the partition"; exit 1; }
dd if=/usr/lib/grub/i386-pc/boot.img of="${raw}" bs=440 count=1 conv=notrunc status=none
dd if="${work}/core.img" of="${raw}" bs=512 seek=1 conv=notrunc status=none

qemu-img convert -q -f raw -O qcow2 -o compression_type=zlib -c "${raw}" "${work}/image.qcow2"
mv -f "${work}/image.qcow2" "${image}"
sha="$(sha256sum "${image}" | cut -d' ' -f1)"
printf '%s  debian-12.qcow2\n' "${sha}" > "${image}.sha256"
took=$(( $(date +%s) - started ))
cat > "${out}/manifest.json" <<JSON
{
  "name": "debian-12",
  "osFamily": "debian",
  "version": "12",
  "image": "${image}",
  "imageFormat": "qcow2",
  "imageSha256": "${sha}",
  "imageBytes": $(stat -c %s "${image}"),
  "virtualSizeMiB": ${size_mib},
  "bootMode": "disk",
  "defaultUser": "${default_user}",
  "cloudInit": "cloud-init ${ver[cloud-init]:-?}",
  "kernelVersion": "${kver}",
  "packages": { "cloud-init": "${ver[cloud-init]:-}", "openssh-server": "${ver[openssh-server]:-}", "qemu-guest-agent": "${ver[qemu-guest-agent]:-}", "systemd": "${ver[systemd]:-}", "netplan.io": "${ver[netplan.io]:-}" },
  "buildSeconds": ${took},
  "inputs": "${inputs}"
}
JSON
echo "${inputs}" > "${out}/.inputs"
log "built in ${took} s: ${image} ($(( $(stat -c %s "${image}") / 1024 / 1024 )) MiB qcow2, ${size_mib} MiB virtual), sha256 ${sha}"
cat "${out}/manifest.json"
