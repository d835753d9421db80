#!/bin/sh
# shellcheck disable=SC2015 # "A && B || die" is meant: die when either fails
# check-install.sh MAKE CC BUILD VERSION: make install into a temporary
# prefix, check what landed there, build tests/install/hello.c against it
# with `pkg-config --cflags --libs awaitkit` alone (no path into the source
# tree) and run it, dynamically linked and statically linked, check the man
# pages with man -M, make uninstall and check nothing of awaitkit is left.
# The ThreadSanitizer build (libawaitkit-tsan.a, awaitkit-tsan.pc) runs
# tests/install/tsan_hello.c clean, built with clang-16 and pkg-config alone.
# Then the same with DESTDIR and every directory variable set apart.
# Prints "check-install: ok ..." or "check-install: FAILED: ..." (exit 1).
set -u
make=$1 cc=$2 build=$3 version=$4
src=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
: > "$log"

die() {
	echo "check-install: FAILED: $*"
	if [ -s "$log" ]; then tail -n 25 "$log" | sed 's/^/  | /'; fi
	exit 1
}

# make install/uninstall with every directory variable given, so that none
# comes from the environment or from an outer make's command line.
# mk TARGET DESTDIR PREFIX LIBDIR INCLUDEDIR MANDIR PKGCONFIGDIR BINDIR
mk() {
	$make --no-print-directory "$1" BUILD="$build" DESTDIR="$2" PREFIX="$3" \
		LIBDIR="$4" INCLUDEDIR="$5" MANDIR="$6" PKGCONFIGDIR="$7" BINDIR="$8" >> "$log" 2>&1
}

# check_tree ROOT LIBDIR INCLUDEDIR MANDIR PKGCONFIGDIR BINDIR (the last
# five absolute, under ROOT): every file install should have put there.
check_tree() {
	lib=$1$2 inc=$1$3 man=$1$4 pc=$1$5 bin=$1$6
	for h in include/awaitkit.h include/awaitkit/*.h; do
		cmp -s "$h" "$inc/${h#include/}" || die "header ${h#include/} not installed in $inc"
	done
	[ -f "$lib/libawaitkit.a" ] && [ ! -L "$lib/libawaitkit.a" ] ||
		die "$lib/libawaitkit.a missing"
	[ -f "$lib/libawaitkit.so.$version" ] && [ ! -L "$lib/libawaitkit.so.$version" ] ||
		die "$lib/libawaitkit.so.$version missing"
	[ "$(readlink "$lib/libawaitkit.so.0")" = "libawaitkit.so.$version" ] ||
		die "$lib/libawaitkit.so.0 is not a link to libawaitkit.so.$version"
	[ "$(readlink "$lib/libawaitkit.so")" = "libawaitkit.so.0" ] ||
		die "$lib/libawaitkit.so is not a link to libawaitkit.so.0"
	readelf -d "$lib/libawaitkit.so.$version" | grep -q 'SONAME.*\[libawaitkit\.so\.0\]' ||
		die "installed library's SONAME is not libawaitkit.so.0"
	[ -f "$pc/awaitkit.pc" ] || die "$pc/awaitkit.pc missing"
	for a in uv event; do
		[ -f "$lib/libawaitkit-$a.a" ] && [ -f "$lib/libawaitkit-$a.so.0" ] &&
			[ "$(readlink "$lib/libawaitkit-$a.so")" = "libawaitkit-$a.so.0" ] ||
			die "the $a adapter's libraries are not all in $lib"
		[ -f "$pc/awaitkit-$a.pc" ] || die "$pc/awaitkit-$a.pc missing"
	done
	[ -f "$lib/libawaitkit-epoll.a" ] && [ -f "$pc/awaitkit-epoll.pc" ] ||
		die "libawaitkit-epoll.a or awaitkit-epoll.pc missing under $lib, $pc"
	[ -f "$lib/libawaitkit-tsan.a" ] && [ ! -L "$lib/libawaitkit-tsan.a" ] ||
		die "$lib/libawaitkit-tsan.a missing"
	[ -f "$pc/awaitkit-tsan.pc" ] || die "$pc/awaitkit-tsan.pc missing"
	[ -f "$bin/ak-stress" ] && [ -x "$bin/ak-stress" ] || die "$bin/ak-stress missing"
	"$bin/ak-stress" -l 2>>"$log" | grep -q '^mpsc ' || die "$bin/ak-stress -l lists no mpsc"
	nman=0
	for f in man/man1/*.1 man/man3/*.3 man/man7/*.7; do
		[ -L "$f" ] && continue
		d=${f%/*}
		d=$man/${d##*/}/${f##*/}
		[ ! -L "$d" ] && cmp -s "$f" "$d" || die "man page $d missing"
		nman=$((nman + 1))
	done
	# The links, each "PAGE -> TARGET", all at once (a few processes
	# where a loop took a thousand): every one installed as it is.
	(cd man && find man1 man3 man7 -type l -printf '%p -> %l\n') | sort > "$tmp/links"
	(cd "$man" && find man1 man3 man7 -type l -printf '%p -> %l\n' 2>/dev/null) |
		sort > "$tmp/links-installed"
	missing=$(comm -23 "$tmp/links" "$tmp/links-installed" | head -n 1)
	[ -z "$missing" ] || die "man link $man/$missing: missing or not so"
	dangling=$(cd "$man" && find -L man1 man3 man7 -type l 2>/dev/null | head -n 1)
	[ -z "$dangling" ] || die "man link $man/$dangling dangles"
	nlink=$(wc -l < "$tmp/links")
}

# leftovers ROOT: awaitkit files (anything but directories) left under ROOT.
leftovers() {
	find "$1" ! -type d -print | sed "s|^$1||"
}

# ---- 1. PREFIX=<tmp>/prefix, defaults for the rest -----------------------
p=$tmp/prefix
mk install "" "$p" "$p/lib" "$p/include" "$p/share/man" "$p/lib/pkgconfig" "$p/bin" ||
	die "make install PREFIX=$p"
check_tree "" "$p/lib" "$p/include" "$p/share/man" "$p/lib/pkgconfig" "$p/bin"
grep -q "^prefix=$p\$" "$p/lib/pkgconfig/awaitkit.pc" || die "awaitkit.pc: prefix is not $p"

PKG_CONFIG_PATH=$p/lib/pkgconfig
export PKG_CONFIG_PATH
[ "$(pkg-config --modversion awaitkit 2>>"$log")" = "$version" ] ||
	die "pkg-config --modversion awaitkit is not $version"
cflags=$(pkg-config --cflags awaitkit 2>>"$log") || die "pkg-config --cflags awaitkit"
libs=$(pkg-config --libs awaitkit 2>>"$log") || die "pkg-config --libs awaitkit"
slibs=$(pkg-config --static --libs awaitkit 2>>"$log") || die "pkg-config --static --libs awaitkit"
case " $cflags $libs $slibs " in
*"$src"*) die "pkg-config flags name the source tree: $cflags $libs" ;;
esac

# The outside program is built in the temporary directory, from a copy, so
# that nothing of the source tree (include/, build/) can be found.
mkdir "$tmp/outside" && cp tests/install/hello.c "$tmp/outside/hello.c" || die "copy hello.c"
cd "$tmp/outside" || die "cd $tmp/outside"
# shellcheck disable=SC2086 # word splitting of the pkg-config flags is meant
$cc -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -o hello-dyn hello.c $libs >> "$log" 2>&1 ||
	die "cc hello.c \$(pkg-config --cflags --libs awaitkit): $cflags $libs"
readelf -d hello-dyn | grep -q 'NEEDED.*\[libawaitkit\.so\.0\]' ||
	die "hello-dyn does not need libawaitkit.so.0"
LD_LIBRARY_PATH=$p/lib ldd ./hello-dyn | grep -q "libawaitkit\.so\.0 => $p/lib/libawaitkit\.so\.0" ||
	die "hello-dyn does not load the installed libawaitkit.so.0"
out=$(LD_LIBRARY_PATH=$p/lib ./hello-dyn "$version" 2>&1) || { echo "$out" >> "$log"; die "hello (dynamic) failed"; }
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -static -o hello-static hello.c $slibs >> "$log" 2>&1 ||
	die "cc -static hello.c \$(pkg-config --static --libs awaitkit): $slibs"
if readelf -d hello-static 2>/dev/null | grep -q NEEDED; then
	die "hello-static is not statically linked"
fi
outs=$(./hello-static "$version" 2>&1) || { echo "$outs" >> "$log"; die "hello (static) failed"; }
# An adapter, through its own pkg-config file: awaitkit-uv brings
# awaitkit and libuv with it.
cp "$src/tests/install/uv_hello.c" uv_hello.c || die "copy uv_hello.c"
uvflags=$(pkg-config --cflags --libs awaitkit-uv 2>>"$log") || die "pkg-config awaitkit-uv"
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o uv-hello uv_hello.c $uvflags >> "$log" 2>&1 ||
	die "cc uv_hello.c \$(pkg-config --cflags --libs awaitkit-uv): $uvflags"
readelf -d uv-hello | grep -q 'NEEDED.*\[libawaitkit-uv\.so\.0\]' ||
	die "uv-hello does not need libawaitkit-uv.so.0"
outuv=$(LD_LIBRARY_PATH=$p/lib ./uv-hello 2>&1) || { echo "$outuv" >> "$log"; die "uv_hello failed"; }
clang_ok=""
# gcc builds libawaitkit.a with LTO and fat objects: a program built by
# another compiler, or instrumented by ThreadSanitizer, must still link it
# (the ordinary code is in every object beside the LTO bytecode).
if command -v clang-16 > /dev/null 2>&1; then
	rest=$(echo " $slibs " | sed 's/ -lawaitkit / /')
	# shellcheck disable=SC2086
	clang-16 -std=c11 -Wall -Werror $cflags -o hello-clang hello.c "$p/lib/libawaitkit.a" $rest >> "$log" 2>&1 ||
		die "clang-16 hello.c libawaitkit.a"
	outc=$(./hello-clang "$version" 2>&1) || { echo "$outc" >> "$log"; die "hello (clang) failed"; }
	# shellcheck disable=SC2086
	clang-16 -std=c11 -fsanitize=thread -Wall -Werror $cflags -o hello-tsan hello.c "$p/lib/libawaitkit.a" $rest >> "$log" 2>&1 ||
		die "clang-16 -fsanitize=thread hello.c libawaitkit.a"
	outt=$(./hello-tsan "$version" 2>&1) || { echo "$outt" >> "$log"; die "hello (clang, TSan) failed"; }
	clang_ok="; clang-16 and clang-16 TSan link libawaitkit.a: ok"
fi
# The epoll adapter: its static library and .pc, and a program built with
# `pkg-config --cflags --libs awaitkit-epoll` alone.
ecflags=$(pkg-config --cflags awaitkit-epoll 2>>"$log") || die "pkg-config --cflags awaitkit-epoll"
elibs=$(pkg-config --libs awaitkit-epoll 2>>"$log") || die "pkg-config --libs awaitkit-epoll"
cp "$src/tests/install/hello_epoll.c" . || die "copy hello_epoll.c"
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Wpedantic -Werror $ecflags -o hello-epoll hello_epoll.c $elibs >> "$log" 2>&1 ||
	die "cc hello_epoll.c \$(pkg-config --cflags --libs awaitkit-epoll): $ecflags $elibs"
oute=$(./hello-epoll 2>&1) || { echo "$oute" >> "$log"; die "hello_epoll failed"; }
# The ThreadSanitizer build: tests/install/tsan_hello.c, whose tasks hand
# data from worker to worker only through the library, built with clang-16
# and `pkg-config --cflags --libs awaitkit-tsan` alone, runs clean.
tcflags=$(pkg-config --cflags awaitkit-tsan 2>>"$log") || die "pkg-config --cflags awaitkit-tsan"
tlibs=$(pkg-config --libs awaitkit-tsan 2>>"$log") || die "pkg-config --libs awaitkit-tsan"
case " $tcflags $tlibs " in
*"$src"*) die "pkg-config awaitkit-tsan names the source tree: $tcflags $tlibs" ;;
esac
cp "$src/tests/install/tsan_hello.c" . || die "copy tsan_hello.c"
# shellcheck disable=SC2086
clang-16 -std=c11 -Wall -Wextra -Wpedantic -Werror -g $tcflags -o tsan-hello tsan_hello.c $tlibs >> "$log" 2>&1 ||
	die "clang-16 tsan_hello.c \$(pkg-config --cflags --libs awaitkit-tsan): $tcflags $tlibs"
outts=$(TSAN_OPTIONS="halt_on_error=1 atexit_sleep_ms=0" ./tsan-hello 2>&1) ||
	{ echo "$outts" >> "$log"; die "tsan_hello against libawaitkit-tsan.a failed"; }
case "$outts" in
*ThreadSanitizer*) echo "$outts" >> "$log"; die "tsan_hello: ThreadSanitizer reported" ;;
esac
cd "$src" || die "cd $src"

# man finds the pages, and a function's symlink, under the installed MANDIR.
if command -v man > /dev/null 2>&1; then
	for page in awaitkit.7 ak_mpsc.3 ak_mpsc_send_init.3 ak-stress.1; do
		d=$p/share/man/man${page##*.}
		w=$(man -M "$p/share/man" -w "${page##*.}" "${page%.*}" 2>>"$log")
		# man-db answers a symlinked name with the page it points to.
		t=$d/$page
		[ -L "$t" ] && t=$d/$(readlink "$t")
		[ "$w" = "$d/$page" ] || [ "$w" = "$t" ] || die "man -M $p/share/man -w $page gave '$w'"
	done
fi

# A file of someone else's next to ours survives the uninstall.
touch "$p/include/other.h" "$p/lib/libother.so" "$p/share/man/man3/other.3"
mk uninstall "" "$p" "$p/lib" "$p/include" "$p/share/man" "$p/lib/pkgconfig" "$p/bin" ||
	die "make uninstall PREFIX=$p"
for f in include/other.h lib/libother.so share/man/man3/other.3; do
	[ -f "$p/$f" ] || die "make uninstall removed $f, not installed by awaitkit"
	rm -f "$p/$f"
done
left=$(leftovers "$p")
[ -z "$left" ] || die "left after make uninstall: $(echo "$left" | tr "\n" " ")"
[ ! -d "$p/include/awaitkit" ] || die "make uninstall left include/awaitkit/"

# ---- 2. DESTDIR staging, every directory variable apart ------------------
# The final prefix does not exist: if DESTDIR were ignored, it would appear.
s=$tmp/stage fp=/nonexistent-awaitkit-check-$$
mk install "$s" "$fp" "$fp/lib64" "$fp/inc" "$fp/man" "$fp/pc" "$fp/sbin" ||
	die "make install DESTDIR=$s PREFIX=$fp"
[ ! -e "$fp" ] || die "make install wrote outside DESTDIR ($fp)"
check_tree "$s" "$fp/lib64" "$fp/inc" "$fp/man" "$fp/pc" "$fp/sbin"
grep -q "^prefix=$fp\$" "$s$fp/pc/awaitkit.pc" && grep -q "^libdir=$fp/lib64\$" "$s$fp/pc/awaitkit.pc" &&
	grep -q "^includedir=$fp/inc\$" "$s$fp/pc/awaitkit.pc" ||
	die "awaitkit.pc under DESTDIR does not name the final directories"
mk uninstall "$s" "$fp" "$fp/lib64" "$fp/inc" "$fp/man" "$fp/pc" "$fp/sbin" ||
	die "make uninstall DESTDIR=$s"
left=$(leftovers "$s")
[ -z "$left" ] || die "left after make uninstall DESTDIR=$s: $(echo "$left" | tr "\n" " ")"

echo "check-install: ok (headers, libawaitkit.a, libawaitkit.so.$version + 2 links," \
	"the uv and event adapters with their .pc files ($outuv)," \
	"awaitkit.pc, ak-stress, $nman man pages + $nlink links; $out; static: ok$clang_ok;" \
	"libawaitkit-epoll.a + awaitkit-epoll.pc: $oute;" \
	"libawaitkit-tsan.a + awaitkit-tsan.pc: $outts, TSan clean; DESTDIR: ok; uninstall: clean)"
