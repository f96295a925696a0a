#!/usr/bin/env bash
# Proves `make test` on a clean Debian 12 (issue 13): a `debootstrap --variant=minbase bookworm`
# root that has only what a stock Debian 12 with Swift on the PATH has (Swift's documented Debian
# 12 dependencies, make, ca-certificates), the Swift toolchain bound in read-only, and a clean
# clone of this repository's committed state; inside it, as root, with Debian's own python3:
#   env -i HOME=/root PATH=/opt/swift/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin CI=true make test
# Everything else the project needs must come from `make test` itself (apt, the venv).
#
# Layout under DIR (default /var/tmp/chassis-bookworm, never in the repository):
#   base/  debootstrap + the packages above, made once and reused (--recreate makes it anew)
#   run/   a fresh copy of base/ for each proof, left in place for a look until the next proof
#   logs/  base-*.log (debootstrap, apt) and proof-*.log (make test, each line with its time)
#
# The proof runs in a mount and PID namespace of its own (unshare): its mounts (/proc, /sys,
# /dev, /dev/pts, a tmpfs on /dev/shm and /run, the toolchain, the SwiftPM cache) are unmounted
# on exit by a trap and cannot outlive it, and every process it started ends with it. It shares
# this machine's network namespace: the tests bind their loopback ports here, and the partition
# tests add their nftables tables here (they remove them). Nothing else is started: apt's
# policy-rc.d in the root keeps the daemons it installs (nginx, alertmanager) from starting.
#
# What stands in for this workplace's network (not the project's needs, and not installed by
# hand into the project's view): /etc/resolv.conf, the egress proxy's CA certificates of
# /usr/local/share/ca-certificates (PyPI over HTTPS goes through it), and git's redirection of
# https://github.com/ to the local package copies (/opt/swift-packages, bound read-only).
#
# Usage: scripts/debian12-proof.sh [--recreate] [--dir DIR] [--minutes N] [--uncommitted] [--patch FILE]
#   --recreate     make base/ anew (debootstrap and apt again)
#   --dir DIR      the work folder (default /var/tmp/chassis-bookworm)
#   --minutes N    wall-clock limit of make test (default 80)
#   --uncommitted  also apply the working tree's changes to tracked files (git diff HEAD)
#   --patch FILE   also apply FILE (git apply) to the clone
# Exit status: that of make test (124 when it ran out of time), 2 for a usage or set-up error.
set -euo pipefail

# Swift's documented dependencies on Debian 12, libncurses6 (this toolchain's swift-driver and
# swift-build link libncurses.so.6; swiftlang's own Debian 12 image installs libncurses-dev), and
# what the README assumes besides (make, ca-certificates).
BASE_PACKAGES=(binutils git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev libpython3-dev
  libsqlite3-0 libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata unzip zlib1g-dev libncurses6
  make ca-certificates)
TOOLCHAIN=/opt/swift
PACKAGE_COPIES=/opt/swift-packages
SWIFTPM_CACHE=/root/.cache/org.swift.swiftpm
CHROOT_PATH=/opt/swift/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$SOURCE/scripts/$(basename "${BASH_SOURCE[0]}")"

say() { printf '[debian12-proof %s] %s\n' "$(date +%T)" "$*"; }
die() { say "error: $*" >&2; exit 2; }

# --- inside the private mount and PID namespaces ---------------------------------------------

# The mount points under $1, deepest first, from this namespace's mount table.
mounts_under() {
  awk -v root="$1" '$5 == root || index($5, root "/") == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2-
}

unmount_all() {
  local root="$1" point
  for point in $(mounts_under "$root"); do
    umount "$point" 2>/dev/null || umount -l "$point" 2>/dev/null || say "could not unmount $point" >&2
  done
}

# Ends the processes left in this PID namespace (every one was started by this proof), each by
# its id: TERM, then KILL after 5 s. This shell is the namespace's process 1.
end_processes() {
  local proc="$1" pids pid tries
  for signal in TERM KILL; do
    pids=()
    for entry in "$proc"/[0-9]*; do
      pid="${entry##*/}"
      [ "$pid" != 1 ] && [ "$pid" != "$BASHPID" ] && pids+=("$pid")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    [ "$signal" = TERM ] || say "killing what is left: ${pids[*]}"
    kill -s "$signal" "${pids[@]}" 2>/dev/null || true
    for tries in $(seq 50); do
      local alive=0
      for pid in "${pids[@]}"; do [ -e "$proc/$pid" ] && alive=1; done
      [ $alive = 1 ] || return 0
      sleep 0.1
    done
  done
}

mount_root() {
  local root="$1" with_swift="$2"
  # The root a mount point of its own, as / is on any machine: the mount table inside then has
  # a "/" (the filesystem collector's test reads / from /proc/self/mounts).
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"   # this PID namespace's processes only
  mount --rbind /sys "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  mount -t tmpfs -o mode=1777,size=4g shm "$root/dev/shm"
  mount -t tmpfs -o mode=755,size=1g run "$root/run"
  mkdir -p "$root/run/lock" && chmod 1777 "$root/run/lock"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  if [ "$with_swift" = 1 ]; then
    local target
    for target in "$TOOLCHAIN" "$PACKAGE_COPIES"; do
      mkdir -p "$root$target"
      mount --bind "$target" "$root$target"
      mount -o remount,bind,ro "$root$target"
    done
    mkdir -p "$SWIFTPM_CACHE" "$root$SWIFTPM_CACHE"
    mount --bind "$SWIFTPM_CACHE" "$root$SWIFTPM_CACHE"
  fi
}

# Timestamps each line (elapsed seconds since the start and the clock), appends it to the log,
# and shows the lines that start a phase of make test.
stamp() {
  local log="$1" start now line
  start="$(date +%s)"
  while IFS= read -r line; do
    printf -v now '%(%s)T' -1
    printf '%5d %(%T)T %s\n' $((now - start)) "$now" "$line" >>"$log"
    case "$line" in
      "installing Debian packages:"*|"creating the test tools'"*|"installing the test tools"*|"swift build"|\
      "./scripts/check-unwraps.sh"|"swift test"|"./scripts/fuzz.sh 10"|"swift build -c release --product chassis-sim"|\
      "./scripts/check-nginx-tls.sh"|*"-m pytest -q Tests/integration"|"make test: all suites passed"|"make: ***"*|\
      *[0-9]" passed"*|*[0-9]" failed"*|"Executed "*|*"Test run with"*|"✘ Test "*" recorded an issue"*|"FAILED "*|"ERROR "*)
        say "+$((now - start)) s: ${line:0:160}" ;;
    esac
  done
}

inner_setup() {  # inner setup ROOT LOG: the base packages into a fresh debootstrap root
  local root="$1" log="$2"
  inner_root="$root"
  trap 'end_processes "$inner_root/proc"; unmount_all "$inner_root"' EXIT
  mount_root "$root" 0
  chroot "$root" env -i DEBIAN_FRONTEND=noninteractive PATH="$CHROOT_PATH" \
    sh -c "apt-get update && apt-get upgrade -y && apt-get install -y --no-install-recommends ${BASE_PACKAGES[*]} && apt-get clean && update-ca-certificates" \
    >>"$log" 2>&1
}

inner_test() {  # inner test ROOT LOG MINUTES: make test in the clone
  local root="$1" log="$2" minutes="$3" status_file
  status_file="$(mktemp)"
  inner_root="$root" inner_status_file="$status_file"
  trap 'end_processes "$inner_root/proc"; unmount_all "$inner_root"; rm -f "$inner_status_file"' EXIT
  trap 'say "stopped"; exit 130' INT TERM
  mount_root "$root" 1
  {
    echo "== the root: $(cat "$root/etc/debian_version"), toolchain: $(chroot "$root" "$TOOLCHAIN/usr/bin/swift" --version 2>&1 | head -1)"
    echo "== before make test: python3 is $(chroot "$root" env -i PATH="$CHROOT_PATH" sh -c 'command -v python3 || echo absent')"
  } >>"$log"
  (
    set +e
    nice -n 10 timeout --kill-after=120 "$((minutes * 60))" \
      chroot "$root" env -i HOME=/root PATH="$CHROOT_PATH" CI=true bash -lc 'cd /root/chassis && make test' 2>&1 |
      stamp "$log"
    echo "${PIPESTATUS[0]}" >"$status_file"
  ) &
  wait $! || true
  local status
  status="$(cat "$status_file")"
  {
    echo "== make test exit status: $status"
    echo "== after make test:"
    chroot "$root" env -i PATH="$CHROOT_PATH" sh -c '
      p="$(command -v python3)"; echo "python3 on the PATH: $p -> $(readlink -f "$p")"
      echo "its package: $(dpkg -S "$(readlink -f "$p")" 2>&1)"
      v=/root/chassis/.build/venv/bin/python
      [ -x "$v" ] && echo "the venv: $("$v" -c "import sys; print(sys.version.split()[0], sys.base_prefix, sys.executable)")"
      [ -x "$v" ] && echo "the venv python resolves to: $(readlink -f "$v")"' 2>&1
  } >>"$log"
  return "$status"
}

if [ "${1:-}" = "--inner" ]; then
  shift
  mode="$1"; shift
  case "$mode" in
    setup) inner_setup "$@" ;;
    test) inner_test "$@" ;;
    *) die "unknown inner mode $mode" ;;
  esac
  exit $?
fi

# --- outside ------------------------------------------------------------------------------------

dir=/var/tmp/chassis-bookworm
recreate=0
minutes=80
uncommitted=0
patch=""
while [ $# -gt 0 ]; do
  case "$1" in
    --recreate) recreate=1; shift ;;
    --dir) dir="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --uncommitted) uncommitted=1; shift ;;
    --patch) patch="$(realpath "$2")"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mounts need it)"
[ -x "$TOOLCHAIN/usr/bin/swift" ] || die "no Swift toolchain at $TOOLCHAIN"
case "$dir" in "$SOURCE"|"$SOURCE"/*) die "the root must not be inside the repository" ;; esac
[ -z "$patch" ] || [ -f "$patch" ] || die "no patch file $patch"

mkdir -p "$dir/logs"
exec 9>"$dir/.lock"
flock -n 9 || die "another proof is running in $dir"
base="$dir/base"
run="$dir/run"
stamp_name="$(date +%Y%m%d-%H%M%S)"

# The host's own mount table must hold nothing under $dir before and after (the namespaces
# make that so; this says it if it ever was not).
host_mounts() { awk -v root="$dir" 'index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo; }
leftover="$(host_mounts)"
[ -z "$leftover" ] || die "mounts are left under $dir (unmount them first): $leftover"
check_host_mounts() {
  local left
  left="$(host_mounts)"
  if [ -n "$left" ]; then
    say "mounts left under $dir, unmounting: $left" >&2
    for point in $(echo "$left" | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-); do
      umount "$point" 2>/dev/null || umount -l "$point" || true
    done
  fi
}
trap check_host_mounts EXIT

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# The Debian mirror this machine's apt sources name (one-line or deb822 form), and its security
# archive.
apt_uris() {
  {
    cat /etc/apt/sources.list 2>/dev/null | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i, $(i + 1); break } }'
    for file in /etc/apt/sources.list.d/*.sources; do
      [ -e "$file" ] || continue
      awk 'BEGIN { RS = ""; FS = "\n" }
           { uris = ""; suites = ""
             for (i = 1; i <= NF; i++) { if ($i ~ /^URIs:/) uris = $i; if ($i ~ /^Suites:/) suites = $i }
             sub(/^URIs:[ \t]*/, "", uris); sub(/^Suites:[ \t]*/, "", suites)
             n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
             for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print u[a], s[b] }' "$file"
    done
  } 2>/dev/null
}
mirror="$(apt_uris | awk '$2 == "bookworm" { print $1; exit }')"
security="$(apt_uris | awk '$2 == "bookworm-security" { print $1; exit }')"
mirror="${mirror:-http://deb.debian.org/debian}"
security="${security:-http://deb.debian.org/debian-security}"

# What base/ was made from: a change makes it anew.
base_recipe="$(printf '%s\n' "recipe 2" "mirror $mirror" "security $security" "${BASE_PACKAGES[@]}")"
if [ "$recreate" = 1 ] || [ "$(cat "$base/.chassis-base-ready" 2>/dev/null)" != "$base_recipe" ]; then
  rm -rf "$base" "$base.partial"
  log="$dir/logs/base-$stamp_name.log"
  say "debootstrap --variant=minbase bookworm from $mirror (log: $log)"
  started=$(date +%s)
  # In a mount namespace of its own: debootstrap's own /proc and /sys mounts cannot stay behind.
  unshare --mount --propagation private -- debootstrap --variant=minbase bookworm "$base.partial" "$mirror" >>"$log" 2>&1 ||
    die "debootstrap failed (see $log)"
  debootstrap_seconds=$(($(date +%s) - started))
  say "debootstrap: $debootstrap_seconds s"
  # What a Debian 12 installation's sources hold, and a chroot's rule that apt starts no daemon.
  cat >"$base.partial/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  printf '#!/bin/sh\n# A chroot: apt starts no daemon (they would bind this machine'"'"'s ports).\nexit 101\n' \
    >"$base.partial/usr/sbin/policy-rc.d"
  chmod 755 "$base.partial/usr/sbin/policy-rc.d"
  # Swift on the PATH of login shells too (Debian's /etc/profile sets PATH anew).
  printf 'PATH="%s/usr/bin:$PATH"\n' "$TOOLCHAIN" >"$base.partial/etc/profile.d/swift.sh"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$(hostname)" >"$base.partial/etc/hosts"
  # This workplace's network: its egress proxy's CA, and GitHub read from the local copies.
  mkdir -p "$base.partial/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$base.partial/usr/local/share/ca-certificates/" 2>/dev/null || true
  if [ -d "$PACKAGE_COPIES" ]; then
    printf '[url "%s/"]\n\tinsteadOf = https://github.com/\n' "$PACKAGE_COPIES" >"$base.partial/etc/gitconfig"
  fi
  say "apt inside: ${BASE_PACKAGES[*]}"
  started=$(date +%s)
  unshare --mount --propagation private --pid --fork --kill-child -- "$SELF" --inner setup "$base.partial" "$log" ||
    die "installing the base packages failed (see $log)"
  say "apt inside: $(($(date +%s) - started)) s"
  printf '%s\n' "$base_recipe" >"$base.partial/.chassis-base-ready"
  mv "$base.partial" "$base"
else
  say "reusing $base (made $(date -r "$base/.chassis-base-ready" '+%F %T'); --recreate makes it anew)"
fi

say "a fresh copy of the base in $run"
started=$(date +%s)
rm -rf "$run"
cp -a "$base" "$run"
say "copy: $(($(date +%s) - started)) s, $(du -sh "$run" | cut -f1)"

commit="$(git -C "$SOURCE" rev-parse --short HEAD)"
git clone -q --no-hardlinks "$SOURCE" "$run/root/chassis"
say "a clean clone of $commit in $run/root/chassis"
if [ "$uncommitted" = 1 ]; then
  git -C "$SOURCE" diff HEAD --binary >"$dir/logs/uncommitted-$stamp_name.patch"
  if [ -s "$dir/logs/uncommitted-$stamp_name.patch" ]; then
    git -C "$run/root/chassis" apply "$dir/logs/uncommitted-$stamp_name.patch"
    say "applied the working tree's changes: $(git -C "$run/root/chassis" diff --stat | tail -1)"
  fi
fi
if [ -n "$patch" ]; then
  git -C "$run/root/chassis" apply "$patch"
  say "applied $patch"
fi

log="$dir/logs/proof-$stamp_name.log"
say "make test in the root, at most $minutes min (log: $log)"
started=$(date +%s)
set +e
unshare --mount --propagation private --pid --fork --kill-child -- "$SELF" --inner test "$run" "$log" "$minutes"
status=$?
set -e
elapsed=$(($(date +%s) - started))

# The phases, from the times of the lines that start them.
say "phases of make test (seconds):"
awk '
  function mark(name) { if (!(name in seen)) { seen[name] = 1; names[++n] = name; at[n] = $1 } }
  /^ *[0-9]+ [0-9:]+ installing Debian packages:/ { mark("apt (make deps)") }
  /^ *[0-9]+ [0-9:]+ creating the test tools/ { mark("venv + pip (make deps)") }
  /^ *[0-9]+ [0-9:]+ swift build$/ { mark("swift build (debug)") }
  /^ *[0-9]+ [0-9:]+ \.\/scripts\/check-unwraps\.sh$/ { mark("unit tests (swift test)") }
  /^ *[0-9]+ [0-9:]+ \.\/scripts\/fuzz\.sh 10$/ { mark("fuzz") }
  /^ *[0-9]+ [0-9:]+ swift build -c release --product chassis-sim$/ { mark("sim") }
  /^ *[0-9]+ [0-9:]+ \.\/scripts\/check-nginx-tls\.sh$/ { mark("integration: nginx TLS check") }
  /-m pytest -q Tests\/integration$/ { mark("integration: pytest") }
  $1 ~ /^[0-9]+$/ { last = $1 }
  END { for (i = 1; i <= n; i++) printf "  %-30s %6d\n", names[i], (i < n ? at[i + 1] : last) - at[i] }
' "$log"
say "the tests' counts:"
{
  grep -A1 "Test Suite 'All tests' \(passed\|failed\)" "$log" | grep "Executed" | sed 's/$/ (XCTest)/'
  grep -E "Test run with [0-9]+ tests" "$log"
  grep -E "^ *[0-9]+ [0-9:]+ (=+ )?[0-9]+ (passed|failed)" "$log"
  grep -E "make test: all suites passed|make: \*\*\*" "$log"
} | tail -n 12 | sed 's/^/  /'
sed -n '/^== /p; /^python3 on the PATH/,$p' "$log" | sed 's/^/  /'
if [ "$status" = 0 ]; then
  say "PASSED: make test on Debian 12 in $elapsed s (log: $log)"
else
  [ "$status" = 124 ] && say "make test ran out of its $minutes minutes"
  say "FAILED (status $status) after $elapsed s; the last lines of $log:"
  tail -n 40 "$log"
fi
exit "$status"
