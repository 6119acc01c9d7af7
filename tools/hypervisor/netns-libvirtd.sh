#!/usr/bin/env bash
# Runs libvirtd (and virtlogd) inside a network namespace, so that QEMU opens its taps there and
# guests' addresses and routes never leave that namespace.
#
#   netns-libvirtd.sh start  NAME   create netns NAME (lo up, forwarding, proxy_arp, strict
#                                   rp_filter default), mount the cgroup hierarchies inside,
#                                   start virtlogd + libvirtd inside, wait for qemu:///system
#   netns-libvirtd.sh status NAME   exit 0 if libvirtd runs inside NAME and answers
#   netns-libvirtd.sh stop   NAME   stop libvirtd and virtlogd started inside NAME (guests keep running,
#                                   as with any libvirtd restart)
#   netns-libvirtd.sh delete NAME   stop, then delete the netns if no process (QEMU) is left in it
#                                   (and a private libvirtd's state directory);
#                                   it never destroys domains itself
#
#   netns-libvirtd.sh uri    NAME   print the libvirt URI of that libvirtd
#
# Two modes:
# * shared (default): libvirtd uses the standard paths; its socket /run/libvirt/libvirt-sock is on
#   the host's filesystem, so from outside the namespace it is reached as plain qemu:///system.
#   Only ONE such libvirtd per machine: `start` refuses if libvirtd already runs elsewhere.
# * private (OBLAKO_LIBVIRT_PRIVATE=1 at start): /etc/libvirt, /run/libvirt, /var/lib/libvirt,
#   /var/log/libvirt and /var/cache/libvirt are bind-mounted (inside the namespace's own mount
#   namespace only) from /var/lib/oblako-libvirt/NAME/, with its own virtlogd. Any number of them
#   run side by side (a demo and a test, several tests). URI:
#   qemu:///system?socket=/var/lib/oblako-libvirt/NAME/run/libvirt-sock
# Everything else that touches the guests' network (tap, addresses, routes, sysctls, tc) must run
# inside the namespace: `ip -n NAME ...` / `ip netns exec NAME CMD ...`.
set -euo pipefail

PRIVATE_ROOT=/var/lib/oblako-libvirt
CONTROLLERS="cpu cpuacct cpuset memory devices freezer blkio pids"

die() { printf 'netns-libvirtd: %s\n' "$*" >&2; exit 1; }
log() { printf 'netns-libvirtd: %s\n' "$*" >&2; }

usage() { die "usage: [OBLAKO_LIBVIRT_PRIVATE=1] $0 start|stop|status|delete|uri NAME"; }
[ $# -eq 2 ] || usage
cmd="$1"; ns="$2"
[[ "${ns}" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$ ]] || die "bad namespace name '${ns}'"
[ "$(id -u)" = 0 ] || die "must run as root"

base="${PRIVATE_ROOT}/${ns}"
set_mode() { # private|shared
  mode="$1"
  if [ "${mode}" = private ]; then
    LIBVIRTD_PIDFILE="${base}/libvirtd.pid"
    VIRTLOGD_PIDFILE="${base}/virtlogd.pid"
    URI="qemu:///system?socket=${base}/run/libvirt-sock"
  else
    LIBVIRTD_PIDFILE=/run/libvirtd.pid
    VIRTLOGD_PIDFILE=/run/virtlogd.pid
    URI="qemu:///system"
  fi
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { [ -f "$1" ] && tr -dc '0-9' < "$1" || true; }
pid_comm() { cat "/proc/$1/comm" 2>/dev/null || true; }
pid_netns() { ip netns identify "$1" 2>/dev/null || true; }
libvirtd_pid() {
  local p; p="$(read_pid "${LIBVIRTD_PIDFILE}")"
  if pid_alive "${p}" && [ "$(pid_comm "${p}")" = libvirtd ]; then echo "${p}"; fi
}
virtlogd_pid() {
  local p; p="$(read_pid "${VIRTLOGD_PIDFILE}")"
  if pid_alive "${p}" && [ "$(pid_comm "${p}")" = virtlogd ]; then echo "${p}"; fi
}
ns_exists() { [ -e "/run/netns/${ns}" ]; }
answers() { timeout 10 virsh -c "${URI}" version >/dev/null 2>&1; }

# libvirt 9's QEMU driver resolves its compiled-in default user/group (Debian: libvirt-qemu)
# BEFORE it reads qemu.conf, and fails ("Failed to parse user 'libvirt-qemu'") when they do not
# exist, even with user = "root" in qemu.conf. The libvirt-daemon-system package would create
# them; plain libvirt-daemon does not.
ensure_qemu_user() {
  getent group libvirt-qemu >/dev/null || { groupadd -r libvirt-qemu; log "created group libvirt-qemu"; }
  getent passwd libvirt-qemu >/dev/null || {
    useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin -c "libvirt QEMU (oblako)" libvirt-qemu
    log "created system user libvirt-qemu"
  }
}

ensure_qemu_conf() {
  local f=/etc/libvirt/qemu.conf
  mkdir -p /etc/libvirt
  if [ -f "${f}" ] \
     && grep -Eq '^[[:space:]]*user[[:space:]]*=[[:space:]]*"root"' "${f}" \
     && grep -Eq '^[[:space:]]*group[[:space:]]*=[[:space:]]*"root"' "${f}" \
     && grep -Eq '^[[:space:]]*security_driver[[:space:]]*=[[:space:]]*"none"' "${f}"; then
    return 0
  fi
  if [ -f "${f}" ]; then
    cp -p "${f}" "${f}.oblako-bak"
    log "saved the previous ${f} as ${f}.oblako-bak"
  fi
  printf '# written by tools/hypervisor/netns-libvirtd.sh\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n' > "${f}"
  log "wrote ${f} (user/group root, security_driver none)"
}

# Prints "fstype<TAB>mountpoint<TAB>superoptions" for the host's cgroup mounts, so that the same
# hierarchies (same controller combinations) are mounted again inside the namespace.
host_cgroup_mounts() {
  awk '{
    for (i = 7; i <= NF; i++) if ($i == "-") break
    fstype = $(i + 1); opts = $(i + 3)
    if ((fstype == "cgroup" || fstype == "cgroup2") && $5 ~ /^\/sys\/fs\/cgroup/) print fstype "\t" $5 "\t" opts
  }' /proc/self/mountinfo
}

start() {
  local p other
  p="$(libvirtd_pid)"
  if [ -n "${p}" ]; then
    other="$(pid_netns "${p}")"
    if [ "${other}" = "${ns}" ] && answers; then
      log "libvirtd already runs in netns ${ns} (pid ${p})"; return 0
    fi
    die "libvirtd already runs (pid ${p}, netns '${other:-host}'); only one shared libvirtd per machine: stop it first, or use OBLAKO_LIBVIRT_PRIVATE=1"
  fi
  command -v libvirtd >/dev/null || die "libvirtd missing: apt-get install -y --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils"
  command -v virsh >/dev/null || die "virsh missing: apt-get install -y libvirt-clients"

  ns_exists || ip netns add "${ns}"
  ip -n "${ns}" link set lo up
  ip netns exec "${ns}" sysctl -qw \
    net.ipv4.ip_forward=1 \
    net.ipv4.conf.all.forwarding=1 \
    net.ipv4.conf.all.proxy_arp=1 \
    net.ipv4.conf.default.proxy_arp=1 \
    net.ipv4.conf.default.rp_filter=1 \
    net.ipv6.conf.all.forwarding=1 \
    net.ipv6.conf.all.proxy_ndp=1 \
    net.ipv6.conf.default.proxy_ndp=1 >/dev/null

  ensure_qemu_user
  mkdir -p /etc/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt /run/libvirt
  if [ "${mode}" = private ]; then
    mkdir -p "${base}"/etc "${base}"/run "${base}"/lib/qemu "${base}"/log/qemu "${base}"/cache
    printf '# written by tools/hypervisor/netns-libvirtd.sh\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n' > "${base}/etc/qemu.conf"
    echo private > "${base}/mode"
  else
    ensure_qemu_conf
  fi

  # cgroup layout of the host, replayed inside (ip netns exec remounts /sys, hiding it)
  local cg mounts=""
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    mounts="cgroup2	/sys/fs/cgroup	rw"
  else
    while IFS=$'\t' read -r fstype mp opts; do
      case "${fstype}" in
        cgroup)
          cg=""
          for c in ${CONTROLLERS}; do case ",${opts}," in *",${c},"*) cg=1 ;; esac; done
          [ -n "${cg}" ] && mounts+="${fstype}	${mp}	${opts}"$'\n'
          ;;
      esac
    done < <(host_cgroup_mounts)
  fi
  [ -n "${mounts}" ] || log "warning: no cgroup controllers found on the host: libvirt will apply no CPU/IO limits"

  local start_virtlogd=1
  if [ -n "$(virtlogd_pid)" ]; then start_virtlogd=""; fi
  local private_base=""
  [ "${mode}" = private ] && private_base="${base}"

  # One ip-netns-exec: its private mount namespace (with the cgroup mounts) lives as long as
  # libvirtd (and virtlogd) live in it.
  ip netns exec "${ns}" env OBLAKO_CG_MOUNTS="${mounts}" START_VIRTLOGD="${start_virtlogd}" \
    PRIVATE_BASE="${private_base}" LIBVIRTD_PIDFILE="${LIBVIRTD_PIDFILE}" VIRTLOGD_PIDFILE="${VIRTLOGD_PIDFILE}" \
    LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" bash -euo pipefail -c '
    if [ -n "${PRIVATE_BASE}" ]; then
      mount --bind "${PRIVATE_BASE}/etc" /etc/libvirt
      mount --bind "${PRIVATE_BASE}/run" /run/libvirt
      mount --bind "${PRIVATE_BASE}/lib" /var/lib/libvirt
      mount --bind "${PRIVATE_BASE}/log" /var/log/libvirt
      mount --bind "${PRIVATE_BASE}/cache" /var/cache/libvirt
    fi
    if [ "$(printf "%s" "${OBLAKO_CG_MOUNTS}" | head -n 1 | cut -f1)" = cgroup2 ]; then
      mount -t cgroup2 cgroup2 /sys/fs/cgroup
    elif [ -n "${OBLAKO_CG_MOUNTS}" ]; then
      mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
      while IFS="	" read -r fstype mp opts; do
        [ -n "${fstype}" ] || continue
        mkdir -p "${mp}"
        o="$(printf "%s" "${opts}" | sed "s/^rw,//; s/^rw$//")"
        mount -t "${fstype}" -o "${o:-defaults}" cgroup "${mp}"
      done <<< "${OBLAKO_CG_MOUNTS}"
    fi
    if [ -n "${START_VIRTLOGD}" ]; then virtlogd -d -p "${VIRTLOGD_PIDFILE}"; fi
    libvirtd -d -p "${LIBVIRTD_PIDFILE}"
  '

  for _ in $(seq 1 150); do
    if answers; then
      log "libvirtd (pid $(libvirtd_pid)) runs in netns ${ns}; reach it as ${URI}"
      return 0
    fi
    sleep 0.2
  done
  die "libvirtd did not answer on ${URI} within 30 s (see $( [ "${mode}" = private ] && echo "${base}/log" || echo /var/log/libvirt)/libvirtd.log)"
}

stop_pid() { # pid name
  local p="$1"
  kill -TERM "${p}" 2>/dev/null || return 0
  for _ in $(seq 1 100); do pid_alive "${p}" || return 0; sleep 0.1; done
  log "$2 (pid ${p}) did not stop on SIGTERM within 10 s: SIGKILL"
  kill -KILL "${p}" 2>/dev/null || true
}

stop() {
  local p
  p="$(libvirtd_pid)"
  if [ -n "${p}" ]; then
    [ "$(pid_netns "${p}")" = "${ns}" ] || die "libvirtd (pid ${p}) does not run in netns ${ns}; not stopping it"
    stop_pid "${p}" libvirtd
    log "libvirtd stopped"
  fi
  p="$(virtlogd_pid)"
  if [ -n "${p}" ] && [ "$(pid_netns "${p}")" = "${ns}" ]; then
    stop_pid "${p}" virtlogd
    log "virtlogd stopped"
  fi
  [ "${mode}" = private ] && rm -f "${base}/mode"
  return 0
}

delete() {
  stop
  if ns_exists; then
    local left
    left="$(ip netns pids "${ns}" 2>/dev/null | tr '\n' ' ')"
    [ -z "${left// /}" ] || die "processes still run in netns ${ns}: ${left} (destroy the domains first)"
    ip netns delete "${ns}"
    log "netns ${ns} deleted"
  fi
  # a private libvirtd's state (domain definitions, logs) goes with its namespace
  if [ -d "${base}" ] && [ -z "$(libvirtd_pid)" ]; then rm -rf "${base}"; fi
  return 0
}

status() {
  local p v
  p="$(libvirtd_pid)"
  v="$(virtlogd_pid)"
  ns_exists && echo "netns ${ns}: present" || echo "netns ${ns}: absent"
  if [ -n "${p}" ]; then echo "libvirtd: pid ${p}, netns '$(pid_netns "${p}")'"; else echo "libvirtd: not running"; fi
  if [ -n "${v}" ]; then echo "virtlogd: pid ${v}, netns '$(pid_netns "${v}")'"; else echo "virtlogd: not running"; fi
  if [ -n "${p}" ] && [ "$(pid_netns "${p}")" = "${ns}" ] && answers; then
    echo "${URI}: answers"; return 0
  fi
  return 1
}

# mode: for start from OBLAKO_LIBVIRT_PRIVATE; afterwards from what runs / was recorded
if [ "${cmd}" = start ]; then
  case "${OBLAKO_LIBVIRT_PRIVATE:-}" in 1|true|yes) set_mode private ;; *) set_mode shared ;; esac
elif [ -f "${base}/mode" ]; then
  set_mode private
else
  set_mode shared
fi

case "${cmd}" in
  uri) echo "${URI}" ;;
  start) start ;;
  stop) stop ;;
  delete) delete ;;
  status) status ;;
  *) usage ;;
esac
