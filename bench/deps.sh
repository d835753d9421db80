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

exec sh "$(dirname "$0")/../scripts/apt-need.sh" bench/deps.sh $pkgs
