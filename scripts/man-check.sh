#!/bin/sh
# man-check.sh: every public function declared under include/ has a page in
# man/man3 that names it (.Nm/.Fn/.Fo), reachable as man/man3/<name>.3 (the
# family page or a symlink to it, never a .so stub), and every page passes
# mandoc -Tlint -Wwarning.
set -eu
command -v mandoc >/dev/null 2>&1 || { echo "man-check: mandoc is not installed"; exit 1; }
funcs=$(sh scripts/public-functions.sh)
rc=0 n=0
for f in $funcs; do
	n=$((n + 1))
	page=man/man3/$f.3
	if [ ! -e "$page" ]; then
		echo "man-check: $f: no man/man3/$f.3"; rc=1; continue
	fi
	if grep -q '^\.so ' "$page"; then
		echo "man-check: $page is a .so stub; use a symlink"; rc=1
	fi
	if ! grep -qE "^\.(Nm|Fn|Fo)[[:space:]]+$f([[:space:]]|\$)" "$page"; then
		echo "man-check: $page does not name $f"; rc=1
	fi
done
out=$(mandoc -Tlint -Wwarning man/man3/*.3 man/man7/*.7 2>&1) || true
if [ -n "$out" ]; then
	printf '%s\n' "$out"; rc=1
fi
pages=$(find man -type f -name '*.[37]' | wc -l)
[ $rc -eq 0 ] && echo "man-check: $n public functions documented in $pages pages, mandoc -Tlint clean"
exit $rc
