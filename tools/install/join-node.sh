#!/usr/bin/env bash
# Joins this host to an Oblako fleet as a hypervisor. Served by the API (GET /api/v1/join/node.sh)
# and run as root with the command the panel shows:
#   curl -fsS ... 'https://PANEL/api/v1/join/node.sh' | OBLAKO_URL=... [OBLAKO_TLS_PIN=...] OBLAKO_JOIN_TOKEN=... bash
# The token travels in the environment and on curl's stdin (-K -), never in an argument.
# It: checks the token, installs libvirt + QEMU, downloads the daemon, runs the host checks
# (before the token is spent), trades the token for the node's NATS credentials (0600), writes
# the oblako-node systemd unit, starts it and waits until the API sees the node online.
# Optional: OBLAKO_LIBVIRT_URI (qemu:///system), OBLAKO_DOMAIN_TYPE (kvm; qemu without hardware
# virtualisation), OBLAKO_SKIP_PACKAGES=1, OBLAKO_NO_SYSTEMD=1, OBLAKO_NODE_ROOT (install below a
# folder: tests).
set -euo pipefail

# Everything is in functions, called on the last line: bash reads its script from a pipe, so
# nothing runs before the whole script has arrived, and no command can eat the rest of it.
say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mjoin failed:\033[0m %s\n' "$*" >&2; exit 1; }

# api METHOD PATH OUT [JSON_BODY_FILE]: prints the HTTP status; the token goes on curl's stdin.
api() {
  local method="$1" path="$2" out="$3" body="${4:-}" extra=()
  if [ -n "${OBLAKO_TLS_PIN:-}" ]; then extra+=(-k --pinnedpubkey "${OBLAKO_TLS_PIN}"); fi
  case "${OBLAKO_URL}" in https://*) extra+=(--proto '=https') ;; esac
  if [ -n "${body}" ]; then extra+=(-H 'content-type: application/json' --data-binary "@${body}"); fi
  printf 'header = "Authorization: Bearer %s"\n' "${OBLAKO_JOIN_TOKEN}" |
    curl -sS -K - "${extra[@]}" -X "${method}" -o "${out}" -w '%{http_code}' --max-time 300 "${OBLAKO_URL}${path}" || echo 000
}
message() { sed -n 's/.*"message":"\(\([^"\\]\|\\.\)*\)".*/\1/p' "$1" 2>/dev/null | head -1; }
field() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1" | head -1; }

main() {
  [ "$(id -u)" = 0 ] || die "run the join command as root"
  [ -n "${OBLAKO_URL:-}" ] || die "OBLAKO_URL is not set: copy the whole join command from the panel"
  [ -n "${OBLAKO_JOIN_TOKEN:-}" ] || die "OBLAKO_JOIN_TOKEN is not set: copy the whole join command from the panel"
  command -v curl >/dev/null || die "curl is missing: apt-get install curl"
  local root="${OBLAKO_NODE_ROOT:-}"
  local etc="${root}/etc/oblako-node" opt="${root}/opt/oblako-node" units="${root}/etc/systemd/system"
  umask 077
  tmp="$(mktemp -d)" # global: the EXIT trap runs after main has returned
  trap 'rm -rf "${tmp}"' EXIT

  say "checking the join token with ${OBLAKO_URL}"
  local code; code="$(api GET /api/v1/join/check "${tmp}/check.json")"
  case "${code}" in
    200) ;;
    000) die "cannot reach ${OBLAKO_URL} (network, firewall, or the certificate does not match the pinned key)" ;;
    *) die "the API refused the join token (HTTP ${code}): $(message "${tmp}/check.json")" ;;
  esac
  local node_id node_name
  node_id="$(field "${tmp}/check.json" nodeId)"; node_name="$(field "${tmp}/check.json" nodeName)"
  [[ "${node_id}" =~ ^[A-Za-z0-9_-]{1,64}$ ]] || die "the API answered no node id"
  say "joining as node ${node_name} (${node_id})"

  if [ "${OBLAKO_SKIP_PACKAGES:-0}" != 1 ]; then
    local pkgs=(libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils genisoimage iproute2 nftables procps ca-certificates) missing=() p
    for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "${p}" 2>/dev/null | grep -q 'install ok installed' || missing+=("${p}"); done
    if [ ${#missing[@]} -gt 0 ]; then
      say "installing ${missing[*]}"
      apt-get update -qq </dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
    fi
  fi
  local systemd=0
  if [ "${OBLAKO_NO_SYSTEMD:-0}" != 1 ] && [ -z "${root}" ] && [ -d /run/systemd/system ]; then systemd=1; fi
  if [ "${systemd}" = 1 ]; then systemctl enable --now libvirtd.service </dev/null >/dev/null 2>&1 || systemctl enable --now virtqemud.socket </dev/null >/dev/null; fi

  say "downloading the node daemon"
  code="$(api GET /api/v1/join/bundle "${tmp}/bundle.tar.gz")"
  [ "${code}" = 200 ] || die "could not download the node daemon (HTTP ${code}): $(message "${tmp}/bundle.tar.gz")"
  local release; release="$(date -u +%Y%m%d-%H%M%S)"
  mkdir -p "${opt}/releases/${release}"
  tar -xzf "${tmp}/bundle.tar.gz" -C "${opt}/releases/${release}" </dev/null
  chmod 755 "${opt}" "${opt}/releases" "${opt}/releases/${release}"
  ln -sfn "releases/${release}" "${opt}/current.tmp" && mv -T "${opt}/current.tmp" "${opt}/current"
  local node="${opt}/current/bin/node" daemon="${opt}/current/daemon/main.js"

  say "checking the host"
  local libvirt_uri="${OBLAKO_LIBVIRT_URI:-qemu:///system}" domain_type="${OBLAKO_DOMAIN_TYPE:-kvm}"
  # placeholder NATS address: the check does not connect; the token is not spent yet
  if ! env NODE_ID="${node_id}" NATS_URL=nats://127.0.0.1:4222 LIBVIRT_URI="${libvirt_uri}" DOMAIN_TYPE="${domain_type}" \
      OBLAKO_DATA_DIR="${root}/var/lib/oblako" OBLAKO_CONSOLE_DIR="${root}/run/oblako-console" "${node}" "${daemon}" --check-host </dev/null; then
    die "this host is not ready (see above); fix it and run the same join command again: the token is still unused"
  fi

  say "trading the token for this node's NATS credentials"
  printf '{"hostname":"%s"}' "$(hostname -f 2>/dev/null || hostname)" > "${tmp}/body.json"
  code="$(api POST /api/v1/join "${tmp}/join.json" "${tmp}/body.json")"
  [ "${code}" = 200 ] || die "the API refused the join (HTTP ${code}): $(message "${tmp}/join.json")"
  OBLAKO_NODE_ROOT="${root}" "${node}" "${opt}/current/join-helper.mjs" "${tmp}/join.json" "${etc}" </dev/null >/dev/null
  rm -f "${tmp}/join.json"

  mkdir -p "${units}"
  umask 022
  cat > "${units}/oblako-node.service" <<UNIT
[Unit]
Description=Oblako node daemon (node ${node_name})
After=network-online.target libvirtd.service
Wants=network-online.target libvirtd.service

[Service]
Type=simple
EnvironmentFile=${etc}/node.env
ExecStart=${node} ${daemon}
Restart=on-failure
RestartSec=5
# 2: bad configuration, 3: the API speaks another wire version (upgrade, do not retry)
RestartPreventExitStatus=2 3
KillMode=mixed
TimeoutStopSec=90

[Install]
WantedBy=multi-user.target
UNIT

  if [ "${systemd}" != 1 ]; then
    say "no systemd here: the unit is ${units}/oblako-node.service; start the daemon with its ExecStart"
    printf 'joined: node %s (%s); unit %s/oblako-node.service\n' "${node_name}" "${node_id}" "${units}"
    return 0
  fi
  systemctl daemon-reload </dev/null
  systemctl enable oblako-node.service </dev/null >/dev/null 2>&1
  systemctl restart oblako-node.service </dev/null
  say "waiting for the API to see the node online"
  local i
  for i in $(seq 1 60); do
    code="$(api GET /api/v1/join/status "${tmp}/status.json")"
    if [ "${code}" = 200 ] && grep -q '"online":true' "${tmp}/status.json"; then
      printf 'node %s (%s) is online\n' "${node_name}" "${node_id}"
      return 0
    fi
    sleep 2
  done
  die "the node daemon did not report in within 2 minutes: journalctl -u oblako-node"
}

main "$@"
