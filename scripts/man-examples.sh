#!/bin/sh
# man-examples.sh CC BUILD: every EXAMPLES section of man/man3/*.3 and
# man/man7/*.7 is checked as a user would use it.
#
# Each ".Bd -literal" block of an EXAMPLES section is either
#  - a complete program (it defines main): it is extracted (mdoc escapes
#    such as \e and \(aq undone), compiled with -Wall -Wextra -Werror
#    against the library in BUILD and run; it must exit 0 within 10 s; or
#  - a fragment of a file under examples/, named by the last ".Pa
#    examples/NAME.c" before it in the section: the fragment must appear
#    there verbatim (line for line, its lines all indented by the same
#    number of extra tabs, so that a fragment may come from a function
#    body), and that file is compiled and run the same way.
# A fragment that names no file, or a named file that lacks it, fails.
#
#   CC=cc BUILD=build sh scripts/man-examples.sh "$CC" "$BUILD"
#   sh scripts/man-examples.sh cc build man/man3/ak_mpsc.3   one page only
set -u
cc=${1:-cc} build=${2:-build}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
pages=${*:-$(ls man/man3/*.3 man/man7/*.7)}

[ -f "$build/libawaitkit.so" ] || { echo "man-examples: no $build/libawaitkit.so (make BUILD=$build first)"; exit 1; }
libdir=$(cd "$build" && pwd)
out=$build/man-examples
rm -rf "$out"
mkdir -p "$out"
CFLAGS_EX="-std=c11 -Wall -Wextra -Wpedantic -Werror -g -Iinclude"
LIBS_EX="-L$libdir -lawaitkit -Wl,-rpath,$libdir -pthread"

# extract PAGE DIR: writes DIR/N.c for block N of the EXAMPLES section and
# DIR/N.file with the examples/ file named before it (empty when none).
extract() {
	awk -v dir="$2" '
	function unescape(s,    t) {
		gsub(/\\e/, "\001", s)          # \e first: \e(aq is a backslash, then (aq
		gsub(/\\\(aq/, "\047", s)
		gsub(/\\\(dq/, "\"", s)
		gsub(/\\\(ga/, "`", s)
		gsub(/\\\(ti/, "~", s)
		gsub(/\\\(ha/, "^", s)
		gsub(/\\\(rs/, "\001", s)
		gsub(/\\-/, "-", s)
		gsub(/\\&/, "", s)
		gsub(/\\\(em/, "--", s)
		gsub(/\001/, "\\", s)
		return s
	}
	/^\.Sh / { insec = ($2 == "EXAMPLES"); next }
	!insec { next }
	inblock && /^\.Ed/ { inblock = 0; close(f); next }
	inblock { print unescape($0) > f; next }
	/^\.Bd -literal/ {
		n++; inblock = 1; f = dir "/" n ".c"
		printf "" > f
		print named > (dir "/" n ".file"); close(dir "/" n ".file")
		next
	}
	/^\.Pa examples\// { named = $2 }
	' "$1"
}

# contains FILE FRAGMENT: the fragment appears in the file, verbatim up to
# a uniform indentation by tabs.
contains() {
	awk '
	NR == FNR { frag[++nf] = $0; next }
	{ line[++nl] = $0 }
	END {
		for (i = 1; i + nf - 1 <= nl; i++) {
			l = line[i]; k = length(l) - length(frag[1])
			if (k < 0 || substr(l, k + 1) != frag[1]) continue
			pre = substr(l, 1, k)
			if (pre !~ /^\t*$/) continue
			ok = 1
			for (j = 2; j <= nf && ok; j++) {
				want = frag[j] == "" ? "" : pre frag[j]
				if (line[i + j - 1] != want) ok = 0
			}
			if (ok) exit 0
		}
		exit 1
	}' "$2" "$1"
}

# build_run SRC BIN LABEL: in the background, at most $jobs at a time;
# a failure leaves BIN.failed, with what to print.
jobs=${MAN_EXAMPLES_JOBS:-4} running=0
build_run() {
	if [ "$running" -ge "$jobs" ]; then wait; running=0; fi
	running=$((running + 1))
	build_run_one "$@" > "$2.report" 2>&1 || touch "$2.failed" &
}

# adapter_libs SRC: an adapter's library and its loop's, for a program
# that includes the adapter's header (the adapters are built in BUILD too).
adapter_libs() {
	for a in uv event; do
		grep -q "#include <awaitkit/$a.h>" "$1" || continue
		case $a in
		uv) echo "-lawaitkit-uv $(pkg-config --libs libuv)" ;;
		event) echo "-lawaitkit-event $(pkg-config --libs libevent_core libevent_pthreads)" ;;
		esac
	done
}

# libs_for SRC: how a program links.  One that includes "ak_sim.h" runs
# under the deterministic scheduler: it links the sim build of the library
# ($build/sim/libawaitkit-sim.a, awaitkit-sim(7)).  One that includes an adapter's
# header (<awaitkit/NAME.h> with a $build/libawaitkit-NAME.a beside the
# core) links that static library and the static core it stands on, plus
# what adapters/NAME/ldlibs lists (its loop library); others link the
# shared core.
libs_for() {
	if grep -q '#include "ak_sim.h"' "$1"; then
		echo "-Isim $libdir/sim/libawaitkit-sim.a -pthread"
		return
	fi
	adapters=""
	for h in $(sed -n 's|^#include <awaitkit/\([a-z0-9_]*\)\.h>.*|\1|p' "$1"); do
		# uv and event link their shared libraries (adapter_libs).
		case $h in uv|event) continue ;; esac
		[ -f "$libdir/libawaitkit-$h.a" ] || continue
		adapters="$adapters $libdir/libawaitkit-$h.a"
		[ -f "adapters/$h/ldlibs" ] && adapters="$adapters $(cat "adapters/$h/ldlibs")"
	done
	if [ -n "$adapters" ]; then
		echo "$adapters $libdir/libawaitkit.a -pthread -lurcu-common"
	else
		echo "$LIBS_EX"
	fi
}

build_run_one() {
	# shellcheck disable=SC2086 # the flag lists are meant to split
	if ! $cc $CFLAGS_EX -o "$2" "$1" $(adapter_libs "$1") $(libs_for "$1") > "$2.log" 2>&1; then
		echo "man-examples: $3: does not compile:"; sed 's/^/  | /' "$2.log"
		return 1
	fi
	if ! timeout 10 "$2" > "$2.out" 2>&1; then
		echo "man-examples: $3: exits non-zero:"; tail -n 20 "$2.out" | sed 's/^/  | /'
		return 1
	fi
}

rc=0 nprog=0 nfrag=0 files=""
for page in $pages; do
	# A symlink is another name of a family page, checked under its own.
	if [ ! -f "$page" ] || [ -L "$page" ]; then continue; fi
	base=$(basename "$page")
	d=$out/$base
	mkdir -p "$d"
	extract "$page" "$d"
	for blk in "$d"/*.c; do
		[ -f "$blk" ] || continue
		n=$(basename "$blk" .c)
		named=$(cat "$d/$n.file")
		if grep -q '^main(' "$blk" || grep -q '^int main(' "$blk"; then
			nprog=$((nprog + 1))
			build_run "$blk" "$d/$n" "$page EXAMPLES program $n"
		elif [ -z "$named" ]; then
			echo "man-examples: $page: EXAMPLES block $n is neither a program (no main) nor a fragment of a named examples/ file (.Pa examples/NAME.c before it)"
			rc=1
		elif [ ! -f "$named" ]; then
			echo "man-examples: $page: EXAMPLES block $n names $named, which does not exist"; rc=1
		elif ! contains "$named" "$blk"; then
			echo "man-examples: $page: EXAMPLES block $n is not verbatim in $named:"
			sed 's/^/  | /' "$blk"; rc=1
		else
			nfrag=$((nfrag + 1))
			case " $files " in *" $named "*) ;; *) files="$files $named" ;; esac
		fi
	done
done
for f in $files; do
	bin=$out/$(basename "$f" .c)
	build_run "$f" "$bin" "$f"
done
wait
for f in $(find "$out" -name '*.failed' | sort); do
	cat "${f%.failed}.report"; rc=1
done
nfiles=$(echo "$files" | wc -w)
[ $rc -eq 0 ] && echo "man-examples: $nprog complete programs built and run," \
	"$nfrag fragments found verbatim in $nfiles examples/ files, built and run"
exit $rc
