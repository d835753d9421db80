#!/bin/sh
# bench/tools/cg.sh: instructions and locked instructions per op of one
# workload, from callgrind.
#
#	sh bench/tools/cg.sh PROGRAM WORKLOAD [SIZE]
#
# Runs PROGRAM WORKLOAD --size N under valgrind --tool=callgrind
# --collect-bus=yes (Ge, the bus-locked instructions: every atomic
# read-modify-write) for N = SIZE and N = 2*SIZE (default 100000), and
# prints the difference per op: start-up and the in-process warm-up cancel
# out.  Each run also does an untimed twentieth of N (bench/README.md, "The
# warm-up"), hence the 1.05.  Works for the Rust and Go peers too.  The
# counts are deterministic for one thread; a threaded workload's schedule
# under valgrind (one thread at a time) varies run to run.
set -eu
prog=$1
workload=$2
size=${3:-100000}

totals() {
	out=$(mktemp "${TMPDIR:-/tmp}/cg.XXXXXX")
	valgrind --tool=callgrind --collect-bus=yes --callgrind-out-file="$out" \
		"$prog" "$workload" --size "$1" >/dev/null 2>&1
	callgrind_annotate "$out" 2>/dev/null | grep 'PROGRAM TOTALS' |
		awk '{ gsub(",", "", $1); gsub(",", "", $3); print $1, $3 }'
	rm -f "$out"
}

a=$(totals "$size")
b=$(totals $((2 * size)))
echo "$a $b" | awk -v s="$size" -v w="$workload" -v p="$prog" \
	'{ printf "%s %s: Ir/op %.1f locked/op %.3f\n", w, p, ($3 - $1) / (s * 1.05), ($4 - $2) / (s * 1.05) }'
