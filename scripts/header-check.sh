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
	# libuv's own header needs POSIX's types (pthread_rwlock_t), which a
	# strict -std=c11 hides: every libuv program asks for them.
	posix=""
	[ "$name" = awaitkit/uv.h ] && posix=-D_POSIX_C_SOURCE=200809L
	printf '#include <%s>\nint main(void) { return 0; }\n' "$name" > "$tmp/t.c"
	printf '#include <%s>\nint main() { return 0; }\n' "$name" > "$tmp/t.cc"
	if ! $cc -std=c11 $posix -Wall -Wextra -Wpedantic -Werror -Iinclude -fsyntax-only "$tmp/t.c"; then
		echo "header-check: $name does not compile alone as C11"; rc=1
	fi
	if ! $cxx -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -fsyntax-only -x c++ "$tmp/t.cc"; then
		echo "header-check: $name does not compile alone as C++"; rc=1
	fi
	n=$((n + 1))
done
# In C++ a function hides a struct of the same name (ak_debug_counters()
# once hid struct ak_debug_counters): every public struct must be usable
# without "struct".  One pointer per struct defined under include/, and a
# real use of the counters.
tags=$(sed -n 's/^struct \(ak_[a-z0-9_]*\) *[{;].*/\1/p' include/awaitkit/*.h | sort -u)
{
	echo '#include <awaitkit.h>'
	# The adapters' headers are not in the umbrella: named one by one.
	for h in include/awaitkit/*.h; do echo "#include <${h#include/}>"; done
	echo 'int main()'
	echo '{'
	echo '	ak_debug_counts c;'
	for t in $tags; do
		echo "	$t *p_$t = 0;"
		echo "	(void)p_$t;"
	done
	echo '	return ak_debug_counters(&c);'
	echo '}'
} > "$tmp/names.cc"
if ! $cxx -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -fsyntax-only "$tmp/names.cc"; then
	echo "header-check: a public struct cannot be named without \"struct\" in C++"; rc=1
fi
ntags=$(echo "$tags" | wc -w)
[ $rc -eq 0 ] && echo "header-check: $n headers compile alone as C11 and as C++;" \
	"$ntags structs are named without \"struct\" in C++"
exit $rc
