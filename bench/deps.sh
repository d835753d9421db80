#!/bin/sh
# bench/deps.sh: make sure the Debian packages `make bench` needs are installed.
# As root it installs what is missing; otherwise it prints the exact apt-get
# line and fails.  Only Debian's packages are used: the Go peer needs nothing
# but the standard library, and the Rust peers build offline against the
# crate sources that librust-*-dev install under /usr/share/cargo/registry.
#
#   golang-go                       the Go peer (bench/go)
#   cargo rustc                     Debian's Rust toolchain (matches its crates)
#   librust-tokio-dev               tokio, sources for the offline build
#   librust-crossbeam-channel-dev   crossbeam-channel, likewise
#   python3                         the driver, bench/run.py
#   util-linux                      taskset, to pin every run to the same CPUs
#   gcc make                        the ring and the awaitkit peer
set -eu
pkgs="golang-go cargo rustc librust-tokio-dev librust-crossbeam-channel-dev python3 util-linux gcc make"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "bench/deps.sh: missing Debian packages:$missing" >&2
	echo "bench/deps.sh: run as root:  apt-get update && $line" >&2
	exit 1
fi
echo "bench/deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# An empty or stale package list finds nothing: refresh it once first.
# Another apt run (a second make) may hold the lock: wait for it.
apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
	$missing >/dev/null
echo "bench/deps.sh: installed$missing"
