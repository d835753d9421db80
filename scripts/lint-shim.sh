#!/bin/sh
# lint-shim.sh: library code touches atomics, futexes, internal locks and the
# allocator only through core/shim.h (DESIGN.md section 12): a later
# deterministic-scheduler build turns every shim call into a yield point, so
# anything that goes around the shim is invisible to it, and to the
# allocation counters behind ak_debug_counters().
#
# Checked: every .c and .h under core/ runtime/ chan/ sync/ select/ adapters/, except
# core/shim.h, core/shim_sim.h, core/shim.c and core/shim_futex.c (the shim itself).  Comments and string
# literals are stripped first (cc -fpreprocessed), so prose may name anything.
#
# Refused:
#   raw atomics   #include <stdatomic.h>, atomic_* (calls and types),
#                 _Atomic, __atomic_* and __sync_* builtins, liburcu's own
#                 atomic layer (uatomic_*, cmm_* barriers), inline asm,
#                 raw __tsan_* annotations (use AK__HB_RELEASE/ACQUIRE)
#   futexes       SYS_futex, __NR_futex, FUTEX_*, <linux/futex.h>, syscall()
#   allocation    malloc, calloc, realloc, reallocarray, free, aligned_alloc,
#                 posix_memalign, memalign, valloc, strdup, strndup
#                 (use ak__alloc / ak__free: they are counted)
#   locks, parks  pthread_mutex_*, pthread_cond_*, pthread_rwlock_*,
#                 pthread_spin_*, pthread_barrier_*, POSIX sem_* calls
#                 (use struct ak__lock, ak__futex_wait/wake, the parker)
#
# Allowed, with the reason:
#   pthread_create, pthread_join, pthread_detach, pthread_self,
#   pthread_once, pthread_atfork, pthread_sigmask, pthread_setname_np,
#   pthread_key_*: a timer thread or pool workers must be started, joined
#   and named somewhere, and none of these is a lock, an atomic or an
#   allocation the shim accounts for.  In the sim build (make sim) core/shim.h
#   renames pthread_create, pthread_join and pthread_detach to the
#   scheduler's, so that these threads are simulated too.
#   liburcu's data-structure API (cds_wfcq_*): DESIGN.md section 13 puts
#   liburcu exactly there (the pool's injection queue; watch stopped using
#   RCU in issue 17); its internal atomics live in liburcu, not in our
#   text, and the place that uses it carries AK__HB_* annotations for TSan.
#   The sim build replaces the calls the library makes with shim-visible
#   stand-ins (sim/shadow/: the wfcqueue written with the shim's atomics).
#   Member calls through a pointer or a struct (ops->free(...)) are not the
#   allocator and are not flagged.
#
#   adapters/uv/loopq.[ch] may take pthread mutexes and call malloc/free (its
#   atomics are still checked): an adapter is a library of its own, linked
#   against libawaitkit.so, where the shim's out-of-line half (ak__alloc,
#   ak__lock_slow) is hidden.  It is the one file of the adapters that
#   allocates and locks; the others go through its ak__lq_alloc/ak__lq_free
#   (counted for the tests, like the shim's).
#
# There is no per-line escape.  An exception belongs in this header with its
# reason, and in the EXEMPT list below ("path" for a whole file).
#
# Usage: sh scripts/lint-shim.sh [DIR...]   (default: the library dirs)
# Exit status 1 when anything is refused.
set -eu

CPP=${CC:-cc}
EXEMPT="core/shim.h core/shim_sim.h core/shim.c core/shim_futex.c"
ALLOC_LOCK_OK="adapters/uv/loopq.c adapters/uv/loopq.h"
dirs=${*:-core runtime chan sync select adapters}

files=""
for d in $dirs; do
	[ -d "$d" ] || continue
	files="$files $(find "$d" -type f \( -name '*.c' -o -name '*.h' \) | sort)"
done

n=0 bad=0
for f in $files; do
	skip=0
	for e in $EXEMPT; do
		[ "$f" = "$e" ] && skip=1
	done
	[ $skip -eq 1 ] && continue
	relax=0
	for e in $ALLOC_LOCK_OK; do
		[ "$f" = "$e" ] && relax=1
	done
	n=$((n + 1))
	# Comments go (line structure kept; line markers followed), then strings.
	if ! out=$("$CPP" -fpreprocessed -dD -E -x c "$f" 2>&1); then
		echo "lint-shim: $f: cannot strip comments: $out"
		bad=$((bad + 1))
		continue
	fi
	hits=$(printf '%s\n' "$out" | awk -v file="$f" -v relax="$relax" '
	BEGIN { W = "(^|[^A-Za-z0-9_])"; WM = "(^|[^A-Za-z0-9_.>])"; E = "([^A-Za-z0-9_]|$)" }
	/^# [0-9]+ "/ { line = $2 - 1; next }
	{
		line++
		s = $0
		gsub(/"([^"\\]|\\.)*"/, "\"\"", s)
		gsub(/\047([^\047\\]|\\.)*\047/, "\047\047", s)
		why = ""
		if (s ~ /^[ \t]*#[ \t]*include[ \t]*<stdatomic\.h>/) why = "<stdatomic.h>: include core/shim.h instead"
		else if (s ~ (W "atomic_[A-Za-z0-9_]+")) why = "raw atomic_*: use ak__load/ak__store/ak__cas... from core/shim.h"
		else if (s ~ (W "_Atomic" E)) why = "_Atomic: use ak__atomic(T) from core/shim.h"
		else if (s ~ (W "__(atomic|sync)_[A-Za-z0-9_]+")) why = "__atomic_/__sync_ builtin: use the shim"
		else if (s ~ (W "(uatomic|cmm)_[A-Za-z0-9_]+")) why = "liburcu atomic or barrier: use the shim"
		else if (s ~ (W "__tsan_")) why = "raw TSan annotation: use AK__HB_RELEASE/AK__HB_ACQUIRE"
		else if (s ~ (W "(__asm__|__asm|asm)" E)) why = "inline asm: belongs in core/shim.h"
		else if (s ~ /SYS_futex|__NR_futex|<linux\/futex\.h>/ || s ~ (W "FUTEX_[A-Z_]+")) why = "futex: use ak__futex_wait/ak__futex_wake"
		else if (s ~ (WM "syscall[ \t]*\\(")) why = "syscall(): belongs in core/shim_futex.c"
		else if (relax) why = ""
		else if (s ~ (WM "(malloc|calloc|realloc|reallocarray|free|aligned_alloc|posix_memalign|memalign|valloc|strdup|strndup)[ \t]*\\(")) why = "allocator: use ak__alloc/ak__free (counted)"
		else if (s ~ (W "pthread_(mutex|cond|rwlock|spin|barrier)[A-Za-z0-9_]*")) why = "pthread lock or condvar: use struct ak__lock / the parker"
		else if (s ~ (WM "sem_(init|destroy|wait|trywait|timedwait|clockwait|post|getvalue|open|close|unlink)[ \t]*\\(")) why = "POSIX semaphore: use the parker"
		if (why != "") {
			t = $0; sub(/^[ \t]+/, "", t)
			printf "lint-shim: %s:%d: %s\n    %s\n", file, line, why, t
		}
	}')
	if [ -n "$hits" ]; then
		printf '%s\n' "$hits"
		bad=$((bad + $(printf '%s\n' "$hits" | grep -c '^lint-shim:')))
	fi
done

if [ $bad -ne 0 ]; then
	echo "lint-shim: $bad use(s) outside core/shim.[ch] in $n files"
	exit 1
fi
echo "lint-shim: $n library files go through core/shim.h"
