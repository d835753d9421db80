#!/bin/sh
# stage.sh LOG NAME COMMAND...: runs one stage of make check, prints its
# wall time, and appends "NAME SECONDS ok|FAILED" to LOG for the closing
# table (stage.sh LOG --summary prints it).  Exits with COMMAND's status.
set -u
log=$1 name=$2
shift 2
now() { date +%s.%N; }
if [ "$name" = --summary ]; then
	[ -r "$log" ] || exit 0
	echo "== make check stages (wall seconds) =="
	awk '{ printf "  %-18s %7.1f  %s\n", $1, $2, $3; t += $2 }
	     END { printf "  %-18s %7.1f\n", "all", t }' "$log"
	exit 0
fi
start=$(now)
"$@"
rc=$?
secs=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
if [ "$rc" -eq 0 ]; then result=ok; else result=FAILED; fi
echo "== stage $name: $secs s, $result =="
echo "$name $secs $result" >> "$log"
exit "$rc"
