#!/bin/sh
# fuzz-check.sh BIN DIR SEED RUNS: make check's fuzz stage (awaitkit-fuzz(7)).
# Replays fuzz/corpus, then runs RUNS inputs from -seed=SEED, the corpus
# as the starting point and DIR/work (emptied first) for what it adds:
# the same inputs in every run on the same binary.  Prints the figures;
# on a failure, the disagreement and how to replay it.
set -u
bin=$1 dir=$2 seed=$3 runs=$4
log=$dir/fuzz-check.log
rm -rf "$dir/work" "$dir"/crash-* && mkdir -p "$dir/work"
fail() {
	grep -E 'MISMATCH|ERROR|SUMMARY|Test unit written' "$log" | head -n 8
	echo "fuzz: FAILED; replay: FUZZ_TRACE=1 $bin $dir/crash-*  (log: $log)"
	exit 1
}
# The library's coverage depends on addresses here and there (ASLR), which
# makes a seeded run take other paths: run it with address randomization
# off when the system lets us (setarch is in util-linux, always there).
norand=
if setarch -R true 2>/dev/null; then norand="setarch -R"; fi
n=$(ls fuzz/corpus | wc -l)
t0=$(date +%s)
"$bin" -runs=0 -artifact_prefix="$dir/" fuzz/corpus >"$log" 2>&1 || fail
echo "fuzz: replayed $n corpus inputs"
$norand "$bin" -seed="$seed" -runs="$runs" -max_len=512 -reload=0 -print_final_stats=1 \
	-artifact_prefix="$dir/" "$dir/work" fuzz/corpus >"$log" 2>&1 || fail
t1=$(date +%s)
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | sed 's/.*cov: \([0-9]*\).*corp: \([0-9]*\).*/cov \1, corpus \2/')
[ -n "$norand" ] || echo "fuzz: setarch -R refused: address randomization on, the run may differ"
echo "fuzz: $runs inputs from -seed=$seed in $((t1 - t0)) s ($eps exec/s; $cov), no disagreement"
