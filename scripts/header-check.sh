#!/bin/sh
# header-check.sh CC CXX: every public header compiles on its own, as C11 and
# as C++ (what a user gets from including only that header).
set -eu
cc=$1 cxx=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 rc=0
for h in include/awaitkit.h include/awaitkit/*.h; do
	name=${h#include/}
	printf '#include <%s>\nint main(void) { return 0; }\n' "$name" > "$tmp/t.c"
	printf '#include <%s>\nint main() { return 0; }\n' "$name" > "$tmp/t.cc"
	if ! $cc -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude -fsyntax-only "$tmp/t.c"; then
		echo "header-check: $name does not compile alone as C11"; rc=1
	fi
	if ! $cxx -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -fsyntax-only -x c++ "$tmp/t.cc"; then
		echo "header-check: $name does not compile alone as C++"; rc=1
	fi
	n=$((n + 1))
done
[ $rc -eq 0 ] && echo "header-check: $n headers compile alone as C11 and as C++"
exit $rc
