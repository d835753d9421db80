#!/bin/sh
# bench/rust/build.sh: build the Rust peers (tokio, crossbeam-channel) into
# bench/out/bin/peer-tokio and bench/out/bin/peer-crossbeam.
#
# The build is offline, against the crate sources Debian's librust-*-dev
# packages install under /usr/share/cargo/registry (the directory source in
# bench/rust/.cargo/config.toml, as debcargo itself builds), with Debian's own
# cargo and rustc (/usr/bin): Debian's crates (tokio 1.24.2) match Debian's
# rustc (1.63), and a rustup toolchain elsewhere on PATH is not used.
# Cargo's home, the lock file and the target folder all live under bench/out/.
#
# Run from anywhere; `make bench` calls it.  Environment: BENCH_OUT overrides
# the output folder (default <repo>/bench/out).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${BENCH_OUT:-$root/bench/out}
registry=/usr/share/cargo/registry

need() {
	echo "bench/rust/build.sh: $1" >&2
	echo "bench/rust/build.sh: install Debian's packages: apt-get install -y cargo rustc librust-tokio-dev librust-crossbeam-channel-dev" >&2
	echo "bench/rust/build.sh: (or run: sh bench/deps.sh, as root)" >&2
	exit 1
}

missing() {
	[ ! -x /usr/bin/cargo ] || [ ! -x /usr/bin/rustc ] ||
		! ls -d "$registry"/tokio-1.* >/dev/null 2>&1 ||
		! ls -d "$registry"/crossbeam-channel-0.5.* >/dev/null 2>&1
}

if missing && [ -f "$root/bench/deps.sh" ] && [ "$(id -u)" -eq 0 ]; then
	sh "$root/bench/deps.sh" || true
fi
[ -x /usr/bin/cargo ] || need "/usr/bin/cargo not found (Debian package cargo)"
[ -x /usr/bin/rustc ] || need "/usr/bin/rustc not found (Debian package rustc)"
ls -d "$registry"/tokio-1.* >/dev/null 2>&1 ||
	need "no tokio sources in $registry (Debian package librust-tokio-dev)"
ls -d "$registry"/crossbeam-channel-0.5.* >/dev/null 2>&1 ||
	need "no crossbeam-channel sources in $registry (Debian package librust-crossbeam-channel-dev)"

mkdir -p "$out/bin" "$out/rust/cargo-home"
# The lock file is made at build time against the crate versions this machine
# has: build in a copy of the project under bench/out so the tree stays clean.
# cp -p keeps the files' times, so an unchanged project is not rebuilt.
src="$out/rust/src-copy"
rm -rf "$src/src" "$src/.cargo" "$src/Cargo.toml" "$src/Cargo.lock"
mkdir -p "$src"
cp -Rp "$here/Cargo.toml" "$here/src" "$here/.cargo" "$src/"

# A CARGO_HOME of our own: no user config (~/.cargo) takes part; the source
# replacement also goes there, in case the copy's .cargo is not read.
cat >"$out/rust/cargo-home/config.toml" <<EOF
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "$registry"

[net]
offline = true
EOF

echo "bench/rust/build.sh: $(/usr/bin/cargo --version), $(/usr/bin/rustc --version)"
(
	cd "$src"
	env CARGO_HOME="$out/rust/cargo-home" \
		CARGO_TARGET_DIR="$out/rust/target" \
		RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
		PATH=/usr/bin:/bin \
		/usr/bin/cargo build --release --offline
)
bin="$out/rust/target/release/peer"
[ -x "$bin" ] || { echo "bench/rust/build.sh: cargo produced no $bin" >&2; exit 1; }
# One program; it picks its implementation from the name it is run under.
cp -f "$bin" "$out/bin/peer-tokio.tmp" && mv -f "$out/bin/peer-tokio.tmp" "$out/bin/peer-tokio"
cp -f "$bin" "$out/bin/peer-crossbeam.tmp" && mv -f "$out/bin/peer-crossbeam.tmp" "$out/bin/peer-crossbeam"
echo "bench/rust/build.sh: built $out/bin/peer-tokio and $out/bin/peer-crossbeam"
