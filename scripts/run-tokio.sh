#!/bin/sh
# run-tokio.sh LABEL BINDIR PROG...: runs each examples/tokio program built
# in BINDIR (each checks its own output and exits 0 when its checks held
# and the library's debug counters came back to zero), 60 s at most each,
# with the environment it was given (the sanitizers' options).  Prints one
# line per failure with the program's output, and a summary line.
set -u
label=$1 dir=$2
shift 2
rc=0 n=0
for p in "$@"; do
	n=$((n + 1))
	if ! out=$(timeout 60 "$dir/$p" 2>&1); then
		echo "tokio ($label): $p FAILED:"
		echo "$out" | tail -n 30 | sed 's/^/  | /'
		rc=1
	fi
done
[ $rc -eq 0 ] && echo "tokio ($label): $n programs ran and checked their output"
exit $rc
