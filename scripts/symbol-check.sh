#!/bin/sh
# symbol-check.sh LIB MAP: the shared library exports exactly the symbols the
# version script lists, every one an ak_ name, and no ak__ internal.
set -eu
lib=$1 map=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' \
	| sed 's/@.*//' | grep -v '^AWAITKIT_' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(ak_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u > "$tmp/listed"
rc=0
if grep -q '^ak__' "$tmp/exported"; then
	echo "symbol-check: internal symbols exported:"; grep '^ak__' "$tmp/exported"; rc=1
fi
if grep -v '^ak_' "$tmp/exported" | grep -q .; then
	echo "symbol-check: non-ak_ symbols exported:"; grep -v '^ak_' "$tmp/exported"; rc=1
fi
if ! cmp -s "$tmp/exported" "$tmp/listed"; then
	echo "symbol-check: exported (<) and listed in $map (>) differ:"
	diff "$tmp/exported" "$tmp/listed" | grep '^[<>]' || true
	rc=1
fi
# Every public function declared in the headers is exported, but those
# the headers define static inline (ak_co(3)'s wrappers over the API).
grep -ohE 'static inline [^(]*\bak_[a-z0-9_]+\(' include/awaitkit/*.h \
	| grep -oE 'ak_[a-z0-9_]+\($' | tr -d '(' | sort -u > "$tmp/inline"
sh scripts/public-functions.sh | comm -23 - "$tmp/inline" > "$tmp/declared"
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$missing" ]; then
	echo "symbol-check: declared but not exported: $missing"; rc=1
fi
[ $rc -eq 0 ] && echo "symbol-check: $(wc -l < "$tmp/exported") ak_ symbols exported, as listed; no ak__"
exit $rc
