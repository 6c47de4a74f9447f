#!/usr/bin/env bash
# The project's Asterisk without Docker: a Debian sid root filesystem built by debootstrap from
# packages.txt (the Dockerfile's list), cached, and run in a private mount namespace.
#
#   rootfs.sh build              build the cached root filesystem if it is not there yet
#   rootfs.sh path               print the root filesystem's path (building it first)
#   rootfs.sh run INSTANCE_DIR   run Asterisk in the foreground for an instance directory
#
# INSTANCE_DIR must hold etc/ (rendered config, see render-config.sh). The runner binds the
# instance directory to /stadtruf inside the root filesystem; the mounts live in a private
# mount namespace and vanish with it, so nothing leaks to the host even after a SIGKILL.
# Stop it by signalling its process group: SIGTERM reaches Asterisk directly.
#
# Environment: STADTRUF_CACHE (default ~/.cache/stadtruf).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${STADTRUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stadtruf}
packages=$(grep -v '^\s*#' "$here/packages.txt" | xargs)
# The cache key changes whenever the package list or this build recipe changes.
recipe_version=2
key=$( { echo "$recipe_version"; echo "$packages"; } | sha256sum | cut -c1-16)
root="$cache/rootfs-sid-$key"

die() { echo "rootfs.sh: $*" >&2; exit 1; }

# Refuse to delete a tree that still has anything mounted below it (proc, dev): rm -rf
# would walk into the host's /dev.
safe_rmtree() {
  local dir=$1
  [ -e "$dir" ] || return 0
  if awk -v d="$(realpath "$dir")" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    die "not removing $dir: something is still mounted below it"
  fi
  rm -rf --one-file-system "$dir"
}

build() {
  [ -f "$root/.stadtruf-complete" ] && return 0
  [ "$(id -u)" = 0 ] || die "building the root filesystem needs root (debootstrap, chroot)"
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  mkdir -p "$cache"
  exec 9>"$cache/build.lock"
  flock 9
  [ -f "$root/.stadtruf-complete" ] && return 0   # another process built it while we waited

  local tmp="$root.tmp.$$"
  safe_rmtree "$tmp"
  trap 'safe_rmtree "$tmp"' EXIT
  echo "rootfs.sh: debootstrap Debian sid into $tmp (about 25 s)" >&2
  debootstrap --variant=minbase sid "$tmp" >"$cache/debootstrap.log" 2>&1 \
    || die "debootstrap failed, see $cache/debootstrap.log"
  echo "rootfs.sh: installing $packages (about 20 s)" >&2
  # Check-Valid-Until=false: the mirror's sid Release file can be past its date.
  unshare --mount --fork -- bash -euc '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    apt="apt-get -o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 -qq"
    chroot "$root" $apt update
    DEBIAN_FRONTEND=noninteractive chroot "$root" $apt install -y --no-install-recommends "$@"
    chroot "$root" apt-get clean
  ' _ "$tmp" $packages >"$cache/apt.log" 2>&1 || die "apt-get install failed, see $cache/apt.log"
  # Mount points for the instance directory and the per-run hosts/resolv.conf.
  mkdir -p "$tmp/stadtruf"
  touch "$tmp/etc/hosts" "$tmp/etc/resolv.conf"
  touch "$tmp/.stadtruf-complete"
  mv "$tmp" "$root"
  trap - EXIT
  # Older builds (other package lists) are no longer used.
  for old in "$cache"/rootfs-sid-*; do
    [ "$old" = "$root" ] || safe_rmtree "$old"
  done
  echo "rootfs.sh: ready: $root ($("$root/usr/sbin/asterisk" -V 2>/dev/null || chroot "$root" asterisk -V))" >&2
}

run() {
  local instance
  instance=$(realpath "${1:?usage: rootfs.sh run INSTANCE_DIR}")
  [ -f "$instance/etc/asterisk.conf" ] || die "$instance/etc/asterisk.conf is missing (render the config first)"
  build
  # spool/recording: where ARI's record puts voicemails (it answers 500 if missing).
  mkdir -p "$instance"/{db,spool/recording,run,log}
  # Asterisk looks up its own host name on start and per call: answer it locally, and send
  # any other DNS query to a closed loopback port so that it fails at once, on this machine.
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost\n' "$(hostname)" >"$instance/hosts"
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$instance/resolv.conf"
  # unshare --fork blocks SIGINT and SIGTERM in itself (they are for its child), so a
  # SIGTERM on our parent's death would never end it: setpriv makes that signal SIGKILL,
  # and --kill-child then sends Asterisk a SIGTERM. A runner that is SIGKILLed leaves no
  # Asterisk behind. (A normal stop signals the process group: Asterisk gets it directly.)
  exec setpriv --pdeathsig KILL unshare --mount --fork --kill-child=SIGTERM -- bash -euc '
    root=$1 instance=$2
    mount --make-rprivate /
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --bind "$instance" "$root/stadtruf"
    mount --bind "$instance/hosts" "$root/etc/hosts"
    mount --bind "$instance/resolv.conf" "$root/etc/resolv.conf"
    exec chroot "$root" /usr/sbin/asterisk -f -C /stadtruf/etc/asterisk.conf
  ' _ "$root" "$instance"
}

case "${1:-}" in
  build) build ;;
  path) build; echo "$root" ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 build | path | run INSTANCE_DIR" >&2; exit 2 ;;
esac
