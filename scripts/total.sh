#!/bin/sh
# total.sh COUNTS...: adds up the "passed failed" lines the test runners
# wrote and prints the closing line of make check.
set -eu
passed=0 failed=0
for f in "$@"; do
	if [ ! -r "$f" ]; then
		echo "total: $f missing (a test runner did not finish)"; failed=$((failed + 1)); continue
	fi
	read -r p fl < "$f"
	passed=$((passed + p)); failed=$((failed + fl))
done
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
