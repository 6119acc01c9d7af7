#!/usr/bin/env bash
# Measures a full backup of a running guest's 1 GiB disk on libvirt 9.0 / QEMU 7.2, to a backup store
# that is a second "host": a network namespace running Debian's sshd, reached only over a veth link.
# Compares, in the same run:
#   pull   virsh backup-begin (pull mode: QEMU exports a point-in-time view over NBD on a local UNIX
#          socket) -> nbdcopy to stdout -> sha256 on the way -> ssh -> the store writes <name>.tmp and
#          renames it when complete (nothing is staged on the hypervisor)
#   push   virsh backup-begin (push mode) to a qcow2 file on the hypervisor, then scp of it (the
#          hypervisor needs the disk's size free, and the copy crosses the link after the job)
#   scp    scp of the same data file straight to the store (the floor)
#   restore  the store streams the raw image back over ssh (sha256 on the way) into a raw file on the
#          hypervisor, converted to qcow2 (qemu-img convert cannot read a pipe)
# Usage (root): tools/hypervisor/backup-bench.sh      (needs openssh-server libnbd-bin qemu-utils,
#   the test guest from tools/guest-image/build.sh; takes about a minute)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; repo="$(cd "$here/../.." && pwd)"
G="${OBLAKO_GUEST_IMAGE_DIR:-$repo/.data/guest-image}"
HV=bkbench-hv; ST=bkbench-store
W=$(mktemp -d /var/tmp/bkbench.XXXX)
SIZE_MIB=${BENCH_SIZE_MIB:-1024}
cleanup() {
  set +e
  [ -n "${U:-}" ] && virsh -q -c "$U" destroy bkbench >/dev/null 2>&1; [ -n "${U:-}" ] && virsh -q -c "$U" undefine bkbench --checkpoints-metadata >/dev/null 2>&1
  [ -f "$W/sshd.pid" ] && kill "$(cat "$W/sshd.pid")" 2>/dev/null
  ip netns del "$ST" 2>/dev/null
  OBLAKO_LIBVIRT_PRIVATE=1 "$here/netns-libvirtd.sh" delete "$HV" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
ms() { date +%s%3N; }

# --- the store: netns + veth + sshd -----------------------------------------------------
ip netns add "$ST"
ip link add bkb-h type veth peer name bkb-s
ip link set bkb-s netns "$ST"
ip addr add 10.250.77.1/30 dev bkb-h; ip link set bkb-h up
ip -n "$ST" addr add 10.250.77.2/30 dev bkb-s; ip -n "$ST" link set bkb-s up; ip -n "$ST" link set lo up
mkdir -p "$W/store" "$W/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host" ; ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/client"
cp "$W/ssh/client.pub" "$W/ssh/authorized_keys"; chmod 600 "$W/ssh/authorized_keys"
cat > "$W/ssh/sshd_config" <<CFG
ListenAddress 10.250.77.2
HostKey $W/ssh/host
AuthorizedKeysFile $W/ssh/authorized_keys
PasswordAuthentication no
PermitRootLogin prohibit-password
PidFile $W/sshd.pid
StrictModes no
Subsystem sftp internal-sftp
CFG
mkdir -p /run/sshd
ip netns exec "$ST" /usr/sbin/sshd -f "$W/ssh/sshd_config"
SSH=(ssh -i "$W/ssh/client" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o Ciphers=aes128-gcm@openssh.com root@10.250.77.2)
SCP=(scp -q -i "$W/ssh/client" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o Ciphers=aes128-gcm@openssh.com)
for i in $(seq 50); do "${SSH[@]}" true 2>/dev/null && break; sleep 0.1; done

# --- the hypervisor and a running guest with a disk full of data ----------------------------
OBLAKO_LIBVIRT_PRIVATE=1 "$here/netns-libvirtd.sh" start "$HV" >/dev/null 2>&1
U=$(OBLAKO_LIBVIRT_PRIVATE=1 "$here/netns-libvirtd.sh" uri "$HV")
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$W/data.raw"
qemu-img convert -q -f raw -O qcow2 "$W/data.raw" "$W/disk.qcow2"
cat > "$W/dom.xml" <<XML
<domain type='qemu'><name>bkbench</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>$G/vmlinuz</kernel><initrd>$G/initrd.img</initrd><cmdline>console=ttyS0 no_timer_check</cmdline></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$W/disk.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>
XML
virsh -q -c "$U" define "$W/dom.xml" >/dev/null; virsh -q -c "$U" start bkbench >/dev/null
sleep 3
echo "disk: ${SIZE_MIB} MiB of random data, qcow2 $(du -m "$W/disk.qcow2" | cut -f1) MiB on the hypervisor; store over a veth (sshd, aes128-gcm)"

# --- scp floor ------------------------------------------------------------------------------
t=$(ms); "${SCP[@]}" "$W/data.raw" root@10.250.77.2:"$W/store/scp.raw"; scp_ms=$(( $(ms) - t ))
echo "scp of the same ${SIZE_MIB} MiB file: ${scp_ms} ms"

# --- pull: backup-begin (pull) -> nbdcopy -> sha256 -> ssh -> store ------------------------
cat > "$W/pull.xml" <<XML
<domainbackup mode='pull'><server transport='unix' socket='$W/nbd.sock'/><disks><disk name='vda' backup='yes' type='file'><scratch file='$W/scratch.qcow2'/></disk></disks></domainbackup>
XML
t=$(ms)
virsh -q -c "$U" backup-begin bkbench "$W/pull.xml" >/dev/null
nbdcopy "nbd+unix:///vda?socket=$W/nbd.sock" - | tee >(sha256sum | cut -d' ' -f1 > "$W/pull.sha") \
  | "${SSH[@]}" "cat > $W/store/full.raw.tmp && mv $W/store/full.raw.tmp $W/store/full.raw"
virsh -q -c "$U" domjobabort bkbench >/dev/null
pull_ms=$(( $(ms) - t ))
sent=$(stat -c %s "$W/store/full.raw")
echo "pull backup (backup-begin pull + nbdcopy | ssh), streamed, nothing staged: ${pull_ms} ms, ${sent} bytes, sha256 $(cat "$W/pull.sha")"
[ "$(cat "$W/pull.sha")" = "$(sha256sum "$W/data.raw" | cut -d' ' -f1)" ] && echo "  checksum equals the guest disk's data: yes" || echo "  checksum equals the guest disk's data: NO"

# --- push: backup-begin (push) to a local file, then scp ---------------------------------------
cat > "$W/push.xml" <<XML
<domainbackup mode='push'><disks><disk name='vda' backup='yes' type='file'><target file='$W/push.qcow2'/><driver type='qcow2'/></disk></disks></domainbackup>
XML
t=$(ms)
virsh -q -c "$U" backup-begin bkbench "$W/push.xml" >/dev/null
sleep 0.2
while ! virsh -c "$U" domjobinfo bkbench 2>/dev/null | grep -Eq 'Job type: +None'; do sleep 0.1; done
virsh -c "$U" domjobinfo bkbench --completed 2>/dev/null | grep -E 'Job type|Operation' | tr -s ' ' | paste -sd' ' | sed 's/^/  completed job: /'
job_ms=$(( $(ms) - t ))
"${SCP[@]}" "$W/push.qcow2" root@10.250.77.2:"$W/store/push.qcow2"
push_ms=$(( $(ms) - t ))
echo "push backup (backup-begin push to the hypervisor, then scp): ${push_ms} ms (job ${job_ms} ms, $(du -m "$W/push.qcow2" | cut -f1) MiB staged on the hypervisor, qemu-img check: $(qemu-img check -q "$W/push.qcow2" >/dev/null 2>&1 && echo clean || echo damaged))"

# --- restore: store -> ssh -> raw -> qcow2, checksum verified --------------------------------
t=$(ms)
"${SSH[@]}" "cat $W/store/full.raw" | tee >(sha256sum | cut -d' ' -f1 > "$W/restore.sha") > "$W/restore.raw"
qemu-img convert -q -f raw -O qcow2 "$W/restore.raw" "$W/restored.qcow2"
restore_ms=$(( $(ms) - t ))
echo "restore (ssh cat | sha256 + file, qemu-img convert to qcow2): ${restore_ms} ms; checksum matches the backup's: $([ "$(cat "$W/restore.sha")" = "$(cat "$W/pull.sha")" ] && echo yes || echo NO)"
