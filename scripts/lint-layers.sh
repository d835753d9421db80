#!/bin/sh
# lint-layers.sh: the include rules of DESIGN.md section 9.
#   core/                 includes only core/ and public headers
#   runtime/              includes core/, runtime/ and public headers
#   conform/              includes its own folder and public headers
#   sim/                  includes core/ (it is the shim's other half in the
#                         sim build), its own folder and public headers;
#                         sim/scenarios/ its own folder, sim/ and public
#                         headers
#   chan/ sync/ select/   include core/, their own folder and public
#                         headers; never runtime/ nor one another
#   adapters/NAME/        include core/, runtime/, their own folder and
#                         public headers; never chan/ sync/ select/ nor
#                         another adapter, except adapters/uv/loopq.h, the
#                         run queue the libuv and libevent adapters share
#                         (until an adapters/common exists)
# and of the public headers, core/ includes only the kernel's own (CORE_PUB
# below): never a primitive's nor the runtime's, nor the umbrella header
# (ak_op_size's table is gathered by the linker from the primitives' own
# files: AK__OP_KIND in core/core.h).
set -eu
cd "$(dirname "$0")/.."
bad=0
check() { # check DIR ALLOWED-FOLDERS...
	dir=$1; shift
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
			case $inc in
			../*/*) folder=$(printf '%s\n' "$inc" | cut -d/ -f2) ;;
			*/*) folder=$(printf '%s\n' "$inc" | cut -d/ -f1) ;;
			*) folder=$dir ;;
			esac
			ok=0
			for a in "$dir" "$@"; do [ "$folder" = "$a" ] && ok=1; done
			if [ $ok -eq 0 ]; then
				echo "lint-layers: $f:${line%%:*}: $dir/ may not include $inc"
				echo x
			fi
		done
	done
}
# adapter DIR: the adapters' rule; relative paths go up to the root.
adapter() {
	dir=$1 own=$(basename "$1")
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
			case $inc in
			../../*) to=${inc#../../} ;;
			../*) to=adapters/${inc#../} ;;
			*) to=$dir/$inc ;;
			esac
			case $to in
			core/*|runtime/*|"$dir"/*|adapters/uv/loopq.h) ;;
			*) echo "lint-layers: $f:${line%%:*}: adapters/$own/ may not include $inc"
			   echo x ;;
			esac
		done
	done
}
CORE_PUB="waker.h future.h error.h version.h block_on.h alloc.h debug.h"
# core_public: core/ files that include another public header.
core_public() {
	for f in core/*.c core/*.h; do
		[ -e "$f" ] || continue
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*<awaitkit' "$f" |
		while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*<\([^>]*\)>.*/\1/')
			ok=0
			for a in $CORE_PUB; do [ "$inc" = "awaitkit/$a" ] && ok=1; done
			if [ $ok -eq 0 ]; then
				echo "lint-layers: $f:${line%%:*}: core/ may not include <$inc> (a primitive's or the runtime's)"
				echo x
			fi
		done
	done
}
out=$( { check core; core_public; check runtime core; check chan core; check sync core
	check select core
	check conform     # the conformance kit: public headers only
	check sim core    # the deterministic scheduler: the shim's other half
	check sim/scenarios sim
	for a in adapters/*/; do [ -d "$a" ] && adapter "${a%/}"; done; } )
if [ -n "$out" ]; then
	printf '%s\n' "$out" | grep -v '^x$'
	bad=$(printf '%s\n' "$out" | grep -c '^x$')
fi
if [ "$bad" -ne 0 ]; then
	echo "lint-layers: $bad include(s) across layers (DESIGN.md section 9)"
	exit 1
fi
echo "lint-layers: core/ runtime/ chan/ sync/ select/ adapters/ keep their layers; core/ includes no primitive's header"
