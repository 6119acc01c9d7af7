#!/usr/bin/env bash
# mmdebstrap --customize-hook for build-debian.sh: runs on the build host with the finished root
# filesystem at $1 (packages installed). Environment: FS_UUID, DEFAULT_USER.
set -euo pipefail
root="$1"
: "${FS_UUID:?}" "${DEFAULT_USER:?}"
kver="$(ls -1 "${root}/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)"

printf 'UUID=%s / ext4 defaults,errors=remount-ro 0 1\n' "${FS_UUID}" > "${root}/etc/fstab"

# GRUB reads this through the config embedded in core.img (build-debian.sh). Serial console too:
# the domain has a serial port and VNC.
mkdir -p "${root}/boot/grub"
cat > "${root}/boot/grub/grub.cfg" <<CFG
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'Debian GNU/Linux 12' {
  linux /boot/vmlinuz-${kver} root=UUID=${FS_UUID} ro console=tty0 console=ttyS0,115200 net.ifnames=0 quiet
  initrd /boot/initrd.img-${kver}
}
CFG

# cloud-init: only the NoCloud seed (no metadata-service probing), netplan + systemd-networkd as
# the renderer (it keeps v2's on-link routes as they are), a default user with sudo and SSH keys.
# C.UTF-8 is the locale the system has (no locales package to generate others); no DSA host key.
printf 'LANG=C.UTF-8\n' > "${root}/etc/default/locale"
cat > "${root}/etc/cloud/cloud.cfg.d/90-oblako.cfg" <<CFG
datasource_list: [ NoCloud, None ]
locale: C.UTF-8
ssh_genkeytypes: [ed25519, ecdsa, rsa]
system_info:
  network:
    renderers: [ netplan ]
  default_user:
    name: ${DEFAULT_USER}
    lock_passwd: true
    gecos: Debian
    groups: [adm, sudo]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
CFG

# What must differ per server is made on first boot: SSH host keys (cloud-init), machine-id (systemd).
rm -f "${root}"/etc/ssh/ssh_host_*
: > "${root}/etc/machine-id"
rm -f "${root}/var/lib/dbus/machine-id"
echo localhost > "${root}/etc/hostname"
# Nothing downloaded on a timer inside a customer's server.
rm -f "${root}"/etc/systemd/system/timers.target.wants/apt-daily*.timer
rm -rf "${root}"/var/lib/apt/lists/* "${root}"/var/cache/apt/*.bin "${root}"/var/log/*.log "${root}"/var/log/apt/*
