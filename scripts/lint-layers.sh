#!/bin/sh
# lint-layers.sh: the include rules of DESIGN.md section 9.
#   core/                 includes only core/ and public headers
#   runtime/              includes core/, runtime/ and public headers
#   chan/ sync/ select/   include core/, their own folder and public
#                         headers; never runtime/ nor one another
# (core/future.c includes the primitives' public headers for ak_op_size:
# public headers are always allowed, so that known exception passes.)
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
out=$( { check core; check runtime core; check chan core; check sync core
	check select core; } )
if [ -n "$out" ]; then
	printf '%s\n' "$out" | grep -v '^x$'
	bad=$(printf '%s\n' "$out" | grep -c '^x$')
fi
if [ "$bad" -ne 0 ]; then
	echo "lint-layers: $bad include(s) across layers (DESIGN.md section 9)"
	exit 1
fi
echo "lint-layers: core/ runtime/ chan/ sync/ select/ keep their layers"
