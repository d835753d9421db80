#!/bin/sh
# count-lines.sh [RUST_DIR]: the lines of each examples/tokio/ program
# against its Rust original in RUST_DIR (../shared/reference/tokio-programs),
# as issue 19 counts them: code lines only, blank lines and comments not
# counted; a C program counts with every helper it includes from
# examples/tokio/ ('#include "name.h"').  Prints a markdown table (C lines,
# Rust lines, ratio) and exits 1 when a program passes twice its original.
set -u
rust_dir=${1:-../shared/reference/tokio-programs}
dir=examples/tokio

# code_lines FILE...: non-blank lines left once /* */ and // comments are gone.
code_lines() {
	cat "$@" | awk '
	{
		line = $0; out = ""
		while (line != "") {
			if (incomment) {
				e = index(line, "*/")
				if (e == 0) { line = ""; break }
				line = substr(line, e + 2); incomment = 0
				continue
			}
			s = index(line, "/*"); d = index(line, "//")
			if (d > 0 && (s == 0 || d < s)) { out = out substr(line, 1, d - 1); break }
			if (s == 0) { out = out line; break }
			out = out substr(line, 1, s - 1); line = substr(line, s + 2); incomment = 1
		}
		if (out ~ /[^ \t]/) n++
	}
	END { print n + 0 }'
}

rc=0 tc=0 tr=0
echo "| program | C lines | Rust lines | ratio |"
echo "|---|---:|---:|---:|"
for c in "$dir"/[a-z]_*.c; do
	name=$(basename "$c" .c)
	rs=$rust_dir/$name.rs
	[ -f "$rs" ] || { echo "count-lines: no $rs" >&2; rc=1; continue; }
	helpers=$(sed -n 's/^#include "\(.*\)"/\1/p' "$c" | sed "s|^|$dir/|")
	# shellcheck disable=SC2086 # helpers: one word per file
	nc=$(code_lines "$c" $helpers)
	nr=$(code_lines "$rs")
	ratio=$(awk -v c="$nc" -v r="$nr" 'BEGIN { printf "%.2f", c / r }')
	echo "| $name | $nc | $nr | $ratio |"
	tc=$((tc + nc)) tr=$((tr + nr))
	[ "$nc" -le $((2 * nr)) ] || { echo "count-lines: $name: $nc lines, over twice $nr" >&2; rc=1; }
done
echo "| total | $tc | $tr | $(awk -v c="$tc" -v r="$tr" 'BEGIN { printf "%.2f", c / r }') |"
exit $rc
