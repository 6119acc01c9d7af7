#!/usr/bin/env bash
# Boots the Oblako test guest by hand (no daemon) on qemu:///system with libvirtd inside the
# network namespace oblako-smoke, checks that routed networking, the NoCloud seed and the limits
# work, that the guest cannot send from an address it was not given, and measures the floors:
#   qemu-img overlay create, virsh start, start -> first ping reply, start -> HTTP answer (p50).
#
#   tools/hypervisor/smoke.sh            (RUNS=3 by default; SEED_BUS=ide|virtio, default ide;
#                                         BANDWIDTH=auto|libvirt|tc, default auto;
#                                         SPOOF_GUARD=rp_filter|clean-traffic, default rp_filter)
#
# Every address used lives only inside the namespace; nothing leaves the machine.
# Needs: root, libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
# qemu-utils busybox-static cpio genisoimage curl iproute2.
# OBLAKO_LIBVIRT_PRIVATE=1 runs a private libvirtd (see netns-libvirtd.sh) instead of the shared one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
NS="${NS:-oblako-smoke}"
RUNS="${RUNS:-3}"
SEED_BUS="${SEED_BUS:-ide}"
KEEP_LIBVIRTD="${KEEP_LIBVIRTD:-}"
BANDWIDTH="${BANDWIDTH:-auto}"
SPOOF_GUARD="${SPOOF_GUARD:-rp_filter}"   # rp_filter | clean-traffic (libvirt nwfilter, rp_filter off)
DOM="oblako-smoke-vm"
TAP="obk-smoke0"             # <= 15 characters
IFB="obi-smoke0"             # ifb for the guest's outbound rate when tc is applied by hand
DUMMY="obk-smoke-nb"         # a tap with no guest: stands in for a neighbour
GW="169.254.0.1"             # the node's on-link gateway, the same on every tap
ADDR="198.51.100.10"         # the guest's address (TEST-NET-2, only inside the namespace)
ADDR6="2001:db8:51::10"      # the guest's IPv6 address (/128, documentation prefix)
GW6="fe80::1"                # on-link IPv6 gateway: link-local, the same on every tap
NEIGHBOUR="198.51.100.11"    # an address routed to another "server"
MAC="52:54:00:0b:1a:01"
HOSTNAME_GIVEN="smoke-guest-1"
SSH_KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOblakoSmokeTestKeyOnlyxxxxxxxxxxxxxxxxxxxx smoke@oblako"
ROOT_HASH='$6$oblako$8Jr6oRkQ2GZp0zS4wYpM9ZyL0rQ2oYpQe3c1c5kU1Hb6y2m2Jb0bZ8pE2m6oQm7oY0cD3vW1lJ9u8mQ4Yq1tN0'
DISK_SIZE="1G"
CPU_PERIOD=100000 CPU_QUOTA="${CPU_QUOTA:-50000}"   # 50% of one CPU
NIC_ROM="${NIC_ROM:-on}"                  # off: <rom bar='off'/>, no iPXE option ROM
IOPS=500 BPS=10485760                     # 500 IOPS, 10 MiB/s
NET_IN_KB=1024 NET_OUT_KB=512             # libvirt <bandwidth> average, KiB/s
work="${repo}/.data/smoke"
img="${repo}/.data/guest-image"

log() { printf '[smoke] %s\n' "$*" >&2; }
die() { printf '[smoke] FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf '[smoke] ok: %s\n' "$*" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
inns() { ip netns exec "${NS}" "$@"; }
virsh_() { virsh -q -c "${URI}" "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

cleanup() {
  set +e
  virsh_ destroy "${DOM}" >/dev/null 2>&1
  virsh_ undefine "${DOM}" >/dev/null 2>&1
  if [ -e "/run/netns/${NS}" ]; then
    ip -n "${NS}" link del "${TAP}" >/dev/null 2>&1
    ip -n "${NS}" link del "${DUMMY}" >/dev/null 2>&1
    ip -n "${NS}" link del "${IFB}" >/dev/null 2>&1
  fi
  rm -rf "${work}"
  if [ -z "${KEEP_LIBVIRTD}" ]; then
    "${here}/netns-libvirtd.sh" delete "${NS}" >/dev/null 2>&1 || log "could not stop libvirtd / delete netns ${NS}"
  fi
}

# ---- prerequisites -----------------------------------------------------------------------
for c in virsh qemu-img genisoimage curl ip busybox; do
  command -v "${c}" >/dev/null || die "missing ${c}"
done
"${repo}/tools/guest-image/build.sh" >/dev/null
"${here}/netns-libvirtd.sh" start "${NS}"
URI="$("${here}/netns-libvirtd.sh" uri "${NS}")"
case "${URI}" in
  *socket=*) LV_RUN="$(dirname "${URI#*socket=}")" ;;   # private libvirtd (OBLAKO_LIBVIRT_PRIVATE=1)
  *) LV_RUN=/run/libvirt ;;
esac
log "libvirt: ${URI}"
trap cleanup EXIT
mkdir -p "${work}"

# ---- network: tap, gateway address, /32 route, strict rp_filter --------------------------
net_up() {
  ip -n "${NS}" link del "${TAP}" >/dev/null 2>&1 || true
  ip -n "${NS}" tuntap add dev "${TAP}" mode tap
  inns sysctl -qw "net.ipv4.conf.${TAP}.rp_filter=$( [ "${SPOOF_GUARD}" = rp_filter ] && echo 1 || echo 0 )" "net.ipv4.conf.${TAP}.proxy_arp=1" >/dev/null
  ip -n "${NS}" link set "${TAP}" up
  ip -n "${NS}" addr add "${GW}/32" dev "${TAP}"
  ip -n "${NS}" route add "${ADDR}/32" dev "${TAP}"
  ip -n "${NS}" -6 addr add "${GW6}/64" dev "${TAP}" nodad
  ip -n "${NS}" -6 route add "${ADDR6}/128" dev "${TAP}"
}
# libvirt's <bandwidth> needs the sfq qdisc (inbound) and the police action (outbound) in the
# host kernel; without them `virsh start` fails. Probe on a scratch tap and fall back to tc by hand:
# htb on the tap (guest inbound) and ingress -> mirred -> ifb with htb (guest outbound).
probe_libvirt_bandwidth() {
  local t="obk-probe$$" ok=1
  ip -n "${NS}" tuntap add dev "${t}" mode tap
  inns tc qdisc add dev "${t}" root handle 1: htb default 1 2>/dev/null || ok=""
  inns tc class add dev "${t}" parent 1: classid 1:1 htb rate 1mbit 2>/dev/null || ok=""
  inns tc qdisc add dev "${t}" parent 1:1 handle 2: sfq perturb 10 2>/dev/null || ok=""
  inns tc qdisc add dev "${t}" handle ffff: ingress 2>/dev/null || ok=""
  inns tc filter add dev "${t}" parent ffff: protocol all u32 match u32 0 0 police rate 1mbit burst 64kb drop flowid :1 2>/dev/null || ok=""
  ip -n "${NS}" link del "${t}"
  [ -n "${ok}" ]
}
if [ "${BANDWIDTH}" = auto ]; then
  if probe_libvirt_bandwidth; then BANDWIDTH=libvirt; else BANDWIDTH=tc; fi
fi
log "network rate limits applied by: ${BANDWIDTH}"
tc_limits() {
  # guest inbound = tap egress
  inns tc qdisc replace dev "${TAP}" root handle 1: htb default 1
  inns tc class add dev "${TAP}" parent 1: classid 1:1 htb rate "${NET_IN_KB}kbps"
  inns tc qdisc add dev "${TAP}" parent 1:1 handle 2: pfifo
  # guest outbound = tap ingress, redirected to an ifb that shapes it
  ip -n "${NS}" link del "${IFB}" >/dev/null 2>&1 || true
  ip -n "${NS}" link add "${IFB}" type ifb
  ip -n "${NS}" link set "${IFB}" up
  inns tc qdisc replace dev "${TAP}" handle ffff: ingress
  inns tc filter add dev "${TAP}" parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev "${IFB}"
  inns tc qdisc add dev "${IFB}" root handle 1: htb default 1
  inns tc class add dev "${IFB}" parent 1: classid 1:1 htb rate "${NET_OUT_KB}kbps"
  inns tc qdisc add dev "${IFB}" parent 1:1 handle 2: pfifo
}

# a neighbour: its address is routed to another interface
ip -n "${NS}" link del "${DUMMY}" >/dev/null 2>&1 || true
ip -n "${NS}" tuntap add dev "${DUMMY}" mode tap
ip -n "${NS}" link set "${DUMMY}" up
ip -n "${NS}" route add "${NEIGHBOUR}/32" dev "${DUMMY}"

# ---- seed: ISO9660, volume label cidata, meta-data / user-data / network-config ----------
write_seed() { # dir iid
  local d="$1/seed-src"
  mkdir -p "${d}"
  printf 'instance-id: %s\nlocal-hostname: %s\n' "$2" "${HOSTNAME_GIVEN}" > "${d}/meta-data"
  cat > "${d}/user-data" <<EOF
#cloud-config
users:
  - name: root
    lock_passwd: false
    hashed_passwd: '${ROOT_HASH}'
    ssh_authorized_keys:
      - ${SSH_KEY}
EOF
  cat > "${d}/network-config" <<EOF
version: 2
ethernets:
  eth0:
    match:
      macaddress: "${MAC}"
    set-name: eth0
    addresses:
      - ${ADDR}/32
      - "${ADDR6}/128"
    routes:
      - to: 0.0.0.0/0
        via: ${GW}
        on-link: true
      - to: "::/0"
        via: "${GW6}"
        on-link: true
EOF
  genisoimage -quiet -output "$1/seed.iso" -volid cidata -joliet -rock \
    "${d}/meta-data" "${d}/user-data" "${d}/network-config"
}

domain_xml() { # overlay seed
  local seed_disk bw=""
  [ "${BANDWIDTH}" = libvirt ] && bw="<bandwidth><inbound average='${NET_IN_KB}'/><outbound average='${NET_OUT_KB}'/></bandwidth>"
  if [ "${SEED_BUS}" = virtio ]; then
    seed_disk="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$2'/><target dev='vdb' bus='virtio'/><readonly/></disk>"
  else
    seed_disk="<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='$2'/><target dev='hdc' bus='ide'/><readonly/></disk>"
  fi
  cat <<EOF
<domain type='qemu'>
  <name>${DOM}</name>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static'>1</vcpu>
  <cputune><period>${CPU_PERIOD}</period><quota>${CPU_QUOTA}</quota></cputune>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${img}/vmlinuz</kernel>
    <initrd>${img}/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$1'/>
      <target dev='vda' bus='virtio'/>
      <iotune><total_iops_sec>${IOPS}</total_iops_sec><total_bytes_sec>${BPS}</total_bytes_sec></iotune>
    </disk>
    ${seed_disk}
    <interface type='ethernet'>
      <mac address='${MAC}'/>
      <target dev='${TAP}' managed='no'/>
      <model type='virtio'/>
      $( [ "${NIC_ROM}" = off ] && echo "<rom bar='off'/>" )
      ${bw}
      $( [ "${SPOOF_GUARD}" = clean-traffic ] && echo "<filterref filter='clean-traffic'><parameter name='IP' value='${ADDR}'/></filterref>" )
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# waits (in the background) for the first ping reply / HTTP answer; writes the epoch ms to a file
wait_ping_fast() { # ping every 20 ms, stop at the first reply
  local deadline=$(( $(now_ms) + 60000 ))
  while [ "$(now_ms)" -lt "${deadline}" ]; do
    if (set +o pipefail; inns busybox ping -n -i 0.02 -w 5 "${ADDR}" 2>/dev/null | grep -q -m 1 'bytes from'); then
      now_ms > "$1"; return 0
    fi
    sleep 0.02
  done
}
wait_http() {
  local deadline=$(( $(now_ms) + 60000 )) got
  while [ "$(now_ms)" -lt "${deadline}" ]; do
    got="$(inns curl -s --max-time 1 "http://${ADDR}/hostname" 2>/dev/null || true)"
    if [ "${got}" = "${HOSTNAME_GIVEN}" ]; then now_ms > "$1"; return 0; fi
    sleep 0.02
  done
}
snmp() { # Proto Field  (from inside the namespace)
  inns cat /proc/net/snmp /proc/net/netstat | awk -v p="$1:" -v f="$2" '
    $1 == p && !h { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1; next }
    $1 == p && h && !done { print $(idx[f]); done = 1 }'
}
guest() { inns curl -s --max-time 10 "http://${ADDR}$1"; }

checks() {
  local v pid cg qfile
  # --- what the guest took from the seed
  [ "$(guest /hostname)" = "${HOSTNAME_GIVEN}" ] && pass "hostname from meta-data: ${HOSTNAME_GIVEN}" || die "hostname $(guest /hostname)"
  [ "$(guest /authorized_keys)" = "${SSH_KEY}" ] && pass "SSH key from user-data in /root/.ssh/authorized_keys" || die "authorized_keys: $(guest /authorized_keys)"
  [ "$(guest /root-password-hash)" = "${ROOT_HASH}" ] && pass "root password hash from user-data" || die "root hash: $(guest /root-password-hash)"
  v="$(guest /disk)"; [ "${v}" = 1073741824 ] && pass "guest sees a ${v}-byte virtio root disk (overlay of ${DISK_SIZE})" || die "guest /disk = ${v}"
  v="$(guest /disk-marker)"; case "${v}" in OBLAKO-TEST-BASE*) pass "guest reads the base image through the overlay: '${v}'" ;; *) die "disk marker '${v}'" ;; esac
  log "guest routes: $(guest /routes | tr '\n' ';')"
  local i6=""
  for _ in $(seq 1 50); do
    if inns busybox ping6 -c 1 -W 1 "${ADDR6}" >/dev/null 2>&1; then i6=1; break; fi
    sleep 0.1
  done
  [ -n "${i6}" ] && pass "guest answers ping on ${ADDR6}/128 (on-link gateway ${GW6})" || die "no IPv6 ping reply from ${ADDR6}"
  v="$(inns curl -s --max-time 5 "http://[${ADDR6}]/hostname" || true)"
  [ "${v}" = "${HOSTNAME_GIVEN}" ] && pass "HTTP over IPv6 answers the hostname" || die "HTTP over IPv6: '${v}'"

  # --- CPU quota in the vCPU cgroup (kernel)
  pid="$(cat "${LV_RUN}/qemu/${DOM}.pid")"
  cg="$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' "/proc/${pid}/cgroup")"   # .../emulator
  qfile="/sys/fs/cgroup/cpu${cg%/emulator}/vcpu0/cpu.cfs_quota_us"
  v="$(cat "${qfile}")"
  [ "${v}" = "${CPU_QUOTA}" ] && pass "vcpu0 cgroup ${qfile} cpu.cfs_quota_us = ${v} (period $(cat "${qfile%quota_us}period_us"))" \
    || die "vcpu0 quota ${v} != ${CPU_QUOTA} (${qfile})"

  # --- network rate on the tap (tc, inside the namespace)
  log "tc qdisc dev ${TAP}:"; inns tc -s qdisc show dev "${TAP}" | sed 's/^/    /' >&2
  log "tc class dev ${TAP}:"; inns tc class show dev "${TAP}" | sed 's/^/    /' >&2
  log "tc filter dev ${TAP} ingress:"; inns tc filter show dev "${TAP}" parent ffff: | sed 's/^/    /' >&2
  v="$(inns tc class show dev "${TAP}" | grep -o 'rate [0-9A-Za-z]*' | head -n 1)"
  [ "${v}" = "rate $(( NET_IN_KB * 8 ))Kbit" ] && pass "tap egress (guest inbound) htb class ${v} = ${NET_IN_KB} KiB/s" || die "tap htb class '${v}'"
  if [ "${BANDWIDTH}" = libvirt ]; then
    v="$(inns tc filter show dev "${TAP}" parent ffff: | grep -o 'rate [0-9A-Za-z]*' | head -n 1)"
    [ -n "${v}" ] && pass "tap ingress (guest outbound) police ${v} (asked ${NET_OUT_KB} KiB/s)" || die "no ingress police on ${TAP}"
  else
    log "tc class dev ${IFB}:"; inns tc class show dev "${IFB}" | sed 's/^/    /' >&2
    v="$(inns tc class show dev "${IFB}" | grep -o 'rate [0-9A-Za-z]*' | head -n 1)"
    [ "${v}" = "rate $(( NET_OUT_KB * 8 ))Kbit" ] && pass "tap ingress -> ${IFB} (guest outbound) htb class ${v} = ${NET_OUT_KB} KiB/s" || die "ifb htb class '${v}'"
  fi

  # --- the rates are enforced: download from / upload to the guest and compare with the limits
  local bytes=$(( 3 * NET_OUT_KB * 1024 )) sp lim
  sp="$(inns curl -s -o /dev/null --max-time 60 -w '%{speed_download}' "http://${ADDR}/cgi-bin/zero?bytes=${bytes}")"
  sp="${sp%.*}"; lim=$(( NET_OUT_KB * 1024 ))
  log "guest -> host: ${bytes} bytes at $(( sp / 1024 )) KiB/s (limit ${NET_OUT_KB} KiB/s)"
  [ "${sp}" -le $(( lim * 125 / 100 )) ] && pass "guest outbound rate enforced ($(( sp / 1024 )) <= ${NET_OUT_KB} KiB/s + burst)" || die "guest outbound ${sp} B/s exceeds ${lim} B/s"
  bytes=$(( 3 * NET_IN_KB * 1024 ))
  head -c "${bytes}" /dev/zero > "${work}/upload.bin"
  sp="$(inns curl -s -o /dev/null --max-time 60 -H 'Expect:' --data-binary "@${work}/upload.bin" -w '%{speed_upload}' "http://${ADDR}/cgi-bin/sink")"
  sp="${sp%.*}"; lim=$(( NET_IN_KB * 1024 ))
  log "host -> guest: ${bytes} bytes at $(( sp / 1024 )) KiB/s (limit ${NET_IN_KB} KiB/s)"
  [ "${sp}" -le $(( lim * 125 / 100 )) ] && pass "guest inbound rate enforced ($(( sp / 1024 )) <= ${NET_IN_KB} KiB/s + burst)" || die "guest inbound ${sp} B/s exceeds ${lim} B/s"

  if [ "${BANDWIDTH}" = tc ]; then   # control: the same transfers without the qdiscs
    inns tc qdisc del dev "${TAP}" root; inns tc qdisc del dev "${TAP}" ingress
    sp="$(inns curl -s -o /dev/null --max-time 60 -w '%{speed_download}' "http://${ADDR}/cgi-bin/zero?bytes=$(( 3 * NET_OUT_KB * 1024 ))")"
    log "control without tc: guest -> host at $(( ${sp%.*} / 1024 )) KiB/s"
    sp="$(inns curl -s -o /dev/null --max-time 60 -H 'Expect:' --data-binary "@${work}/upload.bin" -w '%{speed_upload}' "http://${ADDR}/cgi-bin/sink")"
    log "control without tc: host -> guest at $(( ${sp%.*} / 1024 )) KiB/s"
    ip -n "${NS}" link del "${IFB}"; tc_limits
  fi

  # --- iotune in the live domain XML and in QEMU
  v="$(virsh_ dumpxml "${DOM}" | tr -d '\n ' | grep -o '<iotune>.*</iotune>')"
  log "live iotune: ${v}"
  case "${v}" in *"<total_bytes_sec>${BPS}</total_bytes_sec>"*"<total_iops_sec>${IOPS}</total_iops_sec>"*) pass "iotune in live XML" ;; *) die "iotune ${v}" ;; esac
  v="$(virsh_ blkdeviotune "${DOM}" vda 2>&1 || true)"
  log "virsh blkdeviotune (asks QEMU): $(printf '%s\n' "${v}" | grep -E '^(total_bytes_sec|total_iops_sec)' | tr -s ' \n' ' ' || true)"

  # --- spoofing: the guest pings the gateway from its own, then from other addresses
  local e0 r0 e1 r1 out
  e0="$(snmp Icmp InEchos)"
  out="$(guest "/cgi-bin/ping?src=${ADDR}&dst=${GW}&count=2")"
  e1="$(snmp Icmp InEchos)"
  case "${out}" in *"exit=0"*) ;; *) die "guest cannot ping the gateway from its own address: ${out}" ;; esac
  [ $(( e1 - e0 )) -ge 2 ] && pass "guest -> gateway from its own address: $(( e1 - e0 )) echo requests arrived" || die "InEchos +$(( e1 - e0 ))"
  for spoof in "${NEIGHBOUR}" 203.0.113.99; do
    e0="$(snmp Icmp InEchos)"; r0="$(snmp TcpExt IPReversePathFilter)"
    out="$(guest "/cgi-bin/ping?src=${spoof}&dst=${GW}&count=3")"
    e1="$(snmp Icmp InEchos)"; r1="$(snmp TcpExt IPReversePathFilter)"
    if [ "${SPOOF_GUARD}" != rp_filter ] && [ $(( e1 - e0 )) -eq 0 ]; then
      pass "guest -> gateway from ${spoof} (not its own): 0 arrived (${SPOOF_GUARD}; rp_filter drops +$(( r1 - r0 )))"
    elif [ $(( e1 - e0 )) -eq 0 ] && [ $(( r1 - r0 )) -ge 3 ]; then
      pass "guest -> gateway from ${spoof} (not its own): 0 arrived, ${r1}-${r0} dropped by rp_filter"
    else
      [ "${SPOOF_GUARD}" = clean-traffic ] && log "clean-traffic does not stop it: its rules are ebtables rules, which only see bridged frames, and this tap is routed"
      die "spoofed ${spoof}: InEchos +$(( e1 - e0 )), IPReversePathFilter +$(( r1 - r0 )) (guard: ${SPOOF_GUARD})"
    fi
  done
  # negative control: without strict rp_filter the same spoofed packets do arrive
  [ "${SPOOF_GUARD}" = rp_filter ] || return 0
  local all; all="$(inns sysctl -n net.ipv4.conf.all.rp_filter)"
  inns sysctl -qw "net.ipv4.conf.${TAP}.rp_filter=0" "net.ipv4.conf.all.rp_filter=0" >/dev/null
  e0="$(snmp Icmp InEchos)"
  guest "/cgi-bin/ping?src=${NEIGHBOUR}&dst=${GW}&count=2" >/dev/null
  e1="$(snmp Icmp InEchos)"
  inns sysctl -qw "net.ipv4.conf.${TAP}.rp_filter=1" "net.ipv4.conf.all.rp_filter=${all}" >/dev/null
  log "control: with rp_filter off on the tap, $(( e1 - e0 )) spoofed echo requests from ${NEIGHBOUR} arrived (so the check above is meaningful)"
  if virsh_ nwfilter-list 2>/dev/null | grep -qw clean-traffic; then
    log "libvirt's clean-traffic nwfilter is defined here"
  else
    log "libvirt's clean-traffic nwfilter is not defined here (libvirt-daemon-config-nwfilter + iptables + ebtables); even with them it does not stop spoofing on a routed tap (SPOOF_GUARD=clean-traffic): strict rp_filter is what works"
  fi
}

# ---- runs ----------------------------------------------------------------------------------
declare -a T_TC=() T_IMG=() T_START=() T_PING=() T_HTTP=() T_DEFINE=() T_SEED=() T_NET=()
for run in $(seq 1 "${RUNS}"); do
  d="${work}/run${run}"
  rm -rf "${d}"; mkdir -p "${d}"
  t0="$(now_ms)"; net_up; t1="$(now_ms)"; T_NET+=( $(( t1 - t0 )) )
  t0="$(now_ms)"
  qemu-img create -q -f qcow2 -b "${img}/base.qcow2" -F qcow2 "${d}/disk.qcow2" "${DISK_SIZE}"
  t1="$(now_ms)"; T_IMG+=( $(( t1 - t0 )) )
  t0="$(now_ms)"; write_seed "${d}" "smoke-${run}-$$"; t1="$(now_ms)"; T_SEED+=( $(( t1 - t0 )) )
  domain_xml "${d}/disk.qcow2" "${d}/seed.iso" > "${d}/domain.xml"
  t0="$(now_ms)"; virsh_ define "${d}/domain.xml" >/dev/null; t1="$(now_ms)"; T_DEFINE+=( $(( t1 - t0 )) )

  rm -f "${d}/ping.ms" "${d}/http.ms"
  ts="$(now_ms)"
  virsh_ start "${DOM}" >/dev/null
  te="$(now_ms)"; T_START+=( $(( te - ts )) )
  # after start: libvirt replaces the root qdisc of every tap with noqueue when it attaches it
  if [ "${BANDWIDTH}" = tc ]; then t0="$(now_ms)"; tc_limits; T_TC+=( $(( $(now_ms) - t0 )) ); fi
  wait_ping_fast "${d}/ping.ms" & pp=$!
  wait_http "${d}/http.ms" & hp=$!
  wait "${pp}" "${hp}" || true
  [ -s "${d}/http.ms" ] || { virsh_ dumpxml "${DOM}" >/dev/null; virsh_ domstate "${DOM}" >&2; die "run ${run}: guest did not answer HTTP within 60 s"; }
  [ -s "${d}/ping.ms" ] || die "run ${run}: no ping reply within 60 s"
  T_PING+=( $(( $(cat "${d}/ping.ms") - ts )) )
  T_HTTP+=( $(( $(cat "${d}/http.ms") - ts )) )
  pass "run ${run}: overlay ${T_IMG[-1]} ms, virsh start ${T_START[-1]} ms, first ping +${T_PING[-1]} ms, HTTP /hostname +${T_HTTP[-1]} ms"
  log "guest boot log: $(guest /boot-log | tr '\n' ';')"

  if [ "${run}" = 1 ]; then checks; fi

  if [ "${run}" = "${RUNS}" ]; then
    # graceful stop through ACPI (what the daemon's stop does first)
    t0="$(now_ms)"
    virsh_ shutdown "${DOM}" >/dev/null
    for _ in $(seq 1 200); do
      [ "$(virsh_ domstate "${DOM}")" = "shut off" ] && break; sleep 0.1
    done
    t1="$(now_ms)"
    [ "$(virsh_ domstate "${DOM}")" = "shut off" ] && pass "ACPI shutdown -> shut off in $(( t1 - t0 )) ms" || { log "ACPI shutdown did not power off in 20 s"; virsh_ destroy "${DOM}" >/dev/null; }
  else
    virsh_ destroy "${DOM}" >/dev/null
  fi
  virsh_ undefine "${DOM}" >/dev/null
  ip -n "${NS}" link del "${TAP}"
  ip -n "${NS}" link del "${IFB}" >/dev/null 2>&1 || true
  rm -rf "${d}"
done

# ---- cleanup check -------------------------------------------------------------------------
cleanup_ok=1
virsh_ list --all --name | grep -qx "${DOM}" && cleanup_ok=""
ip -n "${NS}" link show "${TAP}" >/dev/null 2>&1 && cleanup_ok=""
ip -n "${NS}" link show "${IFB}" >/dev/null 2>&1 && cleanup_ok=""
ip -n "${NS}" route show | grep -q "^${ADDR} " && cleanup_ok=""
ip -n "${NS}" -6 route show | grep -q "^${ADDR6} " && cleanup_ok=""
[ -n "${cleanup_ok}" ] && pass "no domain, tap or route left" || die "leftovers after delete"

printf '\nfloors over %s runs (p50, ms; seed on %s):\n' "${RUNS}" "${SEED_BUS}"
printf '  tap+route setup        %6s   (%s)\n' "$(printf '%s\n' "${T_NET[@]}" | median)" "${T_NET[*]}"
[ "${#T_TC[@]}" -gt 0 ] && printf '  tc limits (by hand)    %6s   (%s)\n' "$(printf '%s\n' "${T_TC[@]}" | median)" "${T_TC[*]}"
printf '  qemu-img overlay       %6s   (%s)\n' "$(printf '%s\n' "${T_IMG[@]}" | median)" "${T_IMG[*]}"
printf '  seed ISO (genisoimage) %6s   (%s)\n' "$(printf '%s\n' "${T_SEED[@]}" | median)" "${T_SEED[*]}"
printf '  virsh define           %6s   (%s)\n' "$(printf '%s\n' "${T_DEFINE[@]}" | median)" "${T_DEFINE[*]}"
printf '  virsh start            %6s   (%s)\n' "$(printf '%s\n' "${T_START[@]}" | median)" "${T_START[*]}"
printf '  start -> first ping    %6s   (%s)\n' "$(printf '%s\n' "${T_PING[@]}" | median)" "${T_PING[*]}"
printf '  start -> HTTP answer   %6s   (%s)\n' "$(printf '%s\n' "${T_HTTP[@]}" | median)" "${T_HTTP[*]}"
