#!/bin/sh
# deps.sh: make sure the Debian packages awaitkit needs are installed.
# As root it installs what is missing; otherwise it prints the exact
# apt-get line and fails.  Usage: scripts/deps.sh [build|check|all]
#
#   build  the compiler side: liburcu, pkg-config, and the host loops the
#          adapters are built for (libuv1-dev for adapters/uv, libevent-dev
#          for adapters/event): make check builds and tests every adapter
#   check  build + Check, clang-16 with its ThreadSanitizer runtime and the
#          fuzzer's libFuzzer, ASan and UBSan runtimes (all in
#          libclang-rt-16-dev, only a Recommends of clang-16), a C++
#          compiler for the header check, mandoc for the man pages
set -eu
what=${1:-all}
pkgs="liburcu-dev pkg-config gcc make libuv1-dev libevent-dev"
case $what in
build) ;;
check|all) pkgs="$pkgs check clang-16 libclang-rt-16-dev g++ mandoc" ;;
*) echo "deps.sh: unknown set '$what' (build, check or all)" >&2; exit 2 ;;
esac

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
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: run as root:  apt-get update && $line" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# An empty or stale package list finds nothing: refresh it once first.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps.sh: installed$missing"
