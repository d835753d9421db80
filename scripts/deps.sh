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

exec sh "$(dirname "$0")/apt-need.sh" deps.sh $pkgs
