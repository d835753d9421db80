# awaitkit: a single, non-recursive GNU Makefile.
#
#   make            the libraries (build/libawaitkit.a, build/libawaitkit.so.0)
#   make demo       build and run examples/tokio/b_fetch_all (tokio's
#                   fetch_all), examples/demo and examples/await_example
#   make tokio|tokio-tsan|tokio-asan  (part of make check) the programs of
#                   examples/tokio, natively, under TSan, under ASan + UBSan
#   V=1             print every command in full (by default, one short line
#                   per file)
#   make check      lint, a short stress run, the unit tests, all of it
#                   natively and under ThreadSanitizer
#                   (each stage timed; see scripts/stage.sh); its first
#                   stage builds every program the others run, CHECK_JOBS
#                   (one per CPU) at a time; the tests then run one stage
#                   after another (5.5 min on an idle 2-core machine)
#   make unit       only the native unit tests
#   make tsan       only the ThreadSanitizer pass
#   make asan       the unit tests under AddressSanitizer + UBSan (+ LeakSanitizer)
#   make unit|tsan|asan SUITE=notify   one Check suite alone (CASE=: one tcase)
#   make unit|tsan|asan TEST=name [REPEAT=n]   one test by name (a,b: several),
#                   n times; the runner alone: AK_TEST=name build/tests/runner unit
#   make stress     ak-stress(1): its programs STRESS_SECS (10) seconds each,
#                   its workloads on every executor STRESS_WORK_SECS (2) each,
#                   natively and under TSan; STRESS_SEED=... replays a seed
#   make lint       man pages, header self-containment, exported symbols,
#                   the shim lint (scripts/lint-shim.sh), the layer lint
#                   (scripts/lint-layers.sh)
#   make bench      the benchmark against tokio and Go (bench/README.md);
#                   never part of make check
#   make install    headers, both libraries with their SONAME links,
#                   awaitkit.pc, the ThreadSanitizer build (libawaitkit-tsan.a
#                   with awaitkit-tsan.pc), ak-stress and the man pages;
#                   honours PREFIX (/usr/local), DESTDIR, BINDIR, LIBDIR,
#                   INCLUDEDIR, MANDIR and PKGCONFIGDIR
#   make uninstall  removes exactly what make install put there (same
#                   variables)
#   make check-examples  (part of make check) build and run every complete
#                   program in the man pages' EXAMPLES, and check that every
#                   fragment there is verbatim in the examples/ file it names
#                   (scripts/man-examples.sh), which is built and run too
#   make sim        the deterministic scheduler's scenarios (sim/,
#                   awaitkit-sim(7)); SIM_SCHEDULES=N of each, SCENARIO=names
#   make check-install  (part of make check) install into a temporary
#                   prefix, build and run tests/install/hello.c against it
#                   with pkg-config alone, uninstall
#   make clean
#
# CC, CFLAGS and LTO (empty: none) may be overridden; the warnings and the
# standard are not.

CC ?= cc
CXX ?= c++
TSAN_CC ?= clang-16
CFLAGS ?= -O2 -g
BUILD ?= build

VERSION := 0.1.0
SONAME := libawaitkit.so.0

# A quiet build by default: one short line per file ("  CC      core/sem.c");
# V=1 prints every command in full instead.  $(call say,WHAT,FILE) is the
# short line, $(Q) silences the command beside it.
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-7s %s\n' '$(1)' '$(2)'
endif

# Operation structs carry opaque storage that the library reads through its
# own views of it (a union with max_align_t in the public header, a private
# struct in the .c): -fno-strict-aliasing makes that well defined.
AK_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE \
	-fvisibility=hidden -fPIC -fno-strict-aliasing -pthread -Iinclude
# Link-time optimisation (issue 13; figures in bench/README.md): with gcc,
# the library's objects carry GCC's IR beside their machine code (fat), so
# the shared library and a program linked with gcc -flto (the bench) are
# optimised across the library's files, while every other link of
# libawaitkit.a (clang, TSan, gcc without -flto: the tests) uses the
# machine code as before.  Only the native objects: the TSan and ASan
# builds keep their own flags.  Another compiler gets none; LTO= disables.
ifeq ($(origin LTO),undefined)
LTO := $(if $(shell $(CC) -v 2>&1 | grep '^gcc version'),-flto=auto -ffat-lto-objects)
endif

# liburcu-common: the pool's injection queue (wfcqueue lives there in 0.13,
# not in liburcu-cds; the liburcu-cds.pc says -lurcu-common -lurcu-cds),
# the only part of liburcu the library uses (watch stopped using
# liburcu-bp in issue 17).  Linked shared, never _LGPL_SOURCE.
LDLIBS := -pthread -lurcu-common

# The coroutine switch (runtime/co.c): assembly on x86-64; CO_SWITCH=ucontext
# builds the portable ucontext switch instead (what other architectures
# use), so that it is tested here too.
ifeq ($(CO_SWITCH),ucontext)
AK_CFLAGS += -DAK_CO_UCONTEXT
endif

LIB_SRC := $(sort $(wildcard core/*.c runtime/*.c chan/*.c sync/*.c select/*.c))
LIB_ASM := $(sort $(wildcard runtime/*.S))
LIB_HDR := $(wildcard include/*.h include/awaitkit/*.h)
INT_HDR := $(wildcard core/*.h runtime/*.h chan/*.h sync/*.h select/*.h)

# conform/drivers.c: the executors that tk_exec (tests/tk_exec.c) runs a
# test's tasks on, picked by AK_TEST_EXECUTOR (the executor matrix).
TEST_SRC := $(wildcard tests/*.c) conform/drivers.c
TEST_HDR := $(wildcard tests/*.h) conform/drivers.h
# The adapters' libraries (and what they need) that the unit tests link,
# before the core: each adapter's block below adds its own.
TEST_ADAPTERS :=
TSAN_TEST_ADAPTERS :=
ASAN_TEST_ADAPTERS :=
TEST_ADAPTER_LDLIBS :=

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LIB_ASM:%.S=$(BUILD)/obj/%.o)
TSAN_OBJ := $(LIB_SRC:%.c=$(BUILD)/tsan/obj/%.o) $(LIB_ASM:%.S=$(BUILD)/tsan/obj/%.o)

STATIC := $(BUILD)/libawaitkit.a
SHARED := $(BUILD)/libawaitkit.so.$(VERSION)

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

TSAN_FLAGS := -fsanitize=thread -g -O1 -fno-omit-frame-pointer
# Check forks each test; under TSan tests run several times slower.
# die_after_fork=0: the timer's fork test starts a thread in the child of a
# multi-threaded process (the new timer thread), which TSan refuses by default.
# atexit_sleep_ms=0: TSan otherwise sleeps 1 s at the exit of every process
# that still has a thread (the timer thread, started by any sleep test).
TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 die_after_fork=0 atexit_sleep_ms=0" \
	CK_TIMEOUT_MULTIPLIER=4

# ASan + UBSan (+ LSan at each test process's exit) over the library and
# the unit tests, built apart in $(BUILD)/asan.
ASAN_CC ?= $(CC)
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -g -O1
ASAN_OBJ := $(LIB_SRC:%.c=$(BUILD)/asan/obj/%.o) $(LIB_ASM:%.S=$(BUILD)/asan/obj/%.o)
ASAN_ENV := ASAN_OPTIONS="detect_leaks=1 detect_stack_use_after_return=1" \
	UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1" CK_TIMEOUT_MULTIPLIER=2

.PHONY: all deps deps-check check unit tsan lint lint-man lint-headers \
	lint-symbols demo clean asan stress stress-check lint-shim lint-layers \
	stress-check-native stress-check-tsan
.DELETE_ON_ERROR:

all: $(STATIC) $(BUILD)/$(SONAME)

deps:
	@sh scripts/deps.sh build

deps-check:
	@sh scripts/deps.sh check

# Each object depends on the headers it includes (-MMD: the .d files beside
# the objects), not on every header; an object without its .d is rebuilt.
$(BUILD)/obj/%.o: %.c $(BUILD)/obj/%.d | deps
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(LTO) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S | deps
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(AK_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(SHARED): $(LIB_OBJ) awaitkit.map
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=awaitkit.map \
		-Wl,--no-undefined $(CFLAGS) $(LTO) -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/$(SONAME): $(SHARED)
	$(Q)ln -sf $(notdir $<) $@
	$(Q)ln -sf $(SONAME) $(BUILD)/libawaitkit.so

# ---- adapters: libuv and libevent (issue 15) ---------------------------------
#
# Each adapter is a library of its own, over the public task API only:
# $(BUILD)/libawaitkit-uv.a and .so.0 (libuv), $(BUILD)/libawaitkit-event.a
# and .so.0 (libevent), each with its pkg-config file (adapters/*/*.pc.in)
# and man page (ak_uv(3), ak_event(3)).  Their shared run queue and gate is
# adapters/uv/loopq.c, linked into both.  libawaitkit itself never links
# libuv or libevent (scripts/symbol-check.sh, scripts/lint-layers.sh).
# `all` builds them and the test runners link them, so make check fails,
# never skips, when one cannot be built.  Other adapters add themselves to
# the ADAPTER_* lists the same way.
UV_CFLAGS = $(shell pkg-config --cflags libuv 2>/dev/null)
UV_LIBS = $(shell pkg-config --libs libuv 2>/dev/null || echo -luv)
EVENT_CFLAGS = $(shell pkg-config --cflags libevent_core 2>/dev/null)
EVENT_LIBS = $(shell pkg-config --libs libevent_core libevent_pthreads 2>/dev/null || \
	echo -levent_core -levent_pthreads)

ADAPTER_UV_SRC := adapters/uv/loopq.c adapters/uv/uv.c
ADAPTER_EVENT_SRC := adapters/uv/loopq.c adapters/event/event.c
ADAPTER_HDR := $(wildcard adapters/*/*.h)
ADAPTER_SRC := $(sort $(ADAPTER_UV_SRC) $(ADAPTER_EVENT_SRC))

# name -> its static library, shared library, link flags
ADAPTER_NAMES += uv event
ADAPTER_A += $(BUILD)/libawaitkit-uv.a $(BUILD)/libawaitkit-event.a
ADAPTER_SO += $(BUILD)/libawaitkit-uv.so.0 $(BUILD)/libawaitkit-event.so.0
ADAPTER_LIBS += $(UV_LIBS) $(EVENT_LIBS)
ADAPTER_TSAN_A += $(BUILD)/tsan/libawaitkit-uv.a $(BUILD)/tsan/libawaitkit-event.a
ADAPTER_ASAN_A += $(BUILD)/asan/libawaitkit-uv.a $(BUILD)/asan/libawaitkit-event.a

.PHONY: adapters
all: adapters
adapters: $(ADAPTER_A) $(ADAPTER_SO)

$(BUILD)/obj/adapters/%.o: adapters/%.c $(LIB_HDR) $(INT_HDR) $(ADAPTER_HDR) | deps
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -c $< -o $@
$(BUILD)/tsan/obj/adapters/%.o: adapters/%.c $(LIB_HDR) $(INT_HDR) $(ADAPTER_HDR) | deps-check
	@mkdir -p $(dir $@)
	$(call say,TSAN-CC,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -c $< -o $@
$(BUILD)/asan/obj/adapters/%.o: adapters/%.c $(LIB_HDR) $(INT_HDR) $(ADAPTER_HDR) | deps-check
	@mkdir -p $(dir $@)
	$(call say,ASAN-CC,$<)
	$(Q)$(ASAN_CC) $(AK_CFLAGS) $(ASAN_FLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -c $< -o $@

# $(call adapter_a,DIR,SOURCES): the archive rule's prerequisites.
adapter_objs = $(patsubst %.c,$(1)/obj/%.o,$(2))
$(BUILD)/libawaitkit-uv.a: $(call adapter_objs,$(BUILD),$(ADAPTER_UV_SRC))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libawaitkit-event.a: $(call adapter_objs,$(BUILD),$(ADAPTER_EVENT_SRC))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/tsan/libawaitkit-uv.a: $(call adapter_objs,$(BUILD)/tsan,$(ADAPTER_UV_SRC))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/tsan/libawaitkit-event.a: $(call adapter_objs,$(BUILD)/tsan,$(ADAPTER_EVENT_SRC))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/asan/libawaitkit-uv.a: $(call adapter_objs,$(BUILD)/asan,$(ADAPTER_UV_SRC))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/asan/libawaitkit-event.a: $(call adapter_objs,$(BUILD)/asan,$(ADAPTER_EVENT_SRC))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The shared adapters link libawaitkit.so with --no-undefined: proof that
# they use its exported symbols only.
$(BUILD)/libawaitkit-uv.so.0: $(call adapter_objs,$(BUILD),$(ADAPTER_UV_SRC)) $(BUILD)/$(SONAME)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libawaitkit-uv.so.0 -Wl,--no-undefined $(CFLAGS) -o $@ \
		$(filter %.o,$^) -L$(BUILD) -lawaitkit $(UV_LIBS) -pthread
	$(Q)ln -sf libawaitkit-uv.so.0 $(BUILD)/libawaitkit-uv.so
$(BUILD)/libawaitkit-event.so.0: $(call adapter_objs,$(BUILD),$(ADAPTER_EVENT_SRC)) $(BUILD)/$(SONAME)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libawaitkit-event.so.0 -Wl,--no-undefined $(CFLAGS) -o $@ \
		$(filter %.o,$^) -L$(BUILD) -lawaitkit $(EVENT_LIBS) -pthread
	$(Q)ln -sf libawaitkit-event.so.0 $(BUILD)/libawaitkit-event.so

# The figures for the note (bench/adapters.c; never part of make check):
# a ping-pong and a wake from another thread on each loop, as ratios to
# the single-thread executor, in one run.
.PHONY: bench-adapters
$(BUILD)/bench/adapters: bench/adapters.c $(ADAPTER_A) $(STATIC)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -o $@ $< \
		$(ADAPTER_A) $(STATIC) $(ADAPTER_LIBS) $(LDLIBS)
bench-adapters: $(BUILD)/bench/adapters
	$(BUILD)/bench/adapters

.PHONY: install-adapters uninstall-adapters
install: install-adapters
uninstall: uninstall-adapters
install-adapters: adapters
	$(INSTALL) -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	@set -e; for a in $(ADAPTER_NAMES); do \
		$(INSTALL) -m 644 $(BUILD)/libawaitkit-$$a.a "$(DESTDIR)$(LIBDIR)/"; \
		$(INSTALL) -m 755 $(BUILD)/libawaitkit-$$a.so.0 "$(DESTDIR)$(LIBDIR)/"; \
		ln -sfn libawaitkit-$$a.so.0 "$(DESTDIR)$(LIBDIR)/libawaitkit-$$a.so"; \
		sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
			-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
			adapters/$$a/awaitkit-$$a.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-$$a.pc"; \
		chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-$$a.pc"; \
	done; echo "install: adapters $(ADAPTER_NAMES)"
uninstall-adapters:
	@for a in $(ADAPTER_NAMES); do \
		rm -f "$(DESTDIR)$(LIBDIR)/libawaitkit-$$a.a" \
			"$(DESTDIR)$(LIBDIR)/libawaitkit-$$a.so.0" \
			"$(DESTDIR)$(LIBDIR)/libawaitkit-$$a.so" \
			"$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-$$a.pc"; \
	done; echo "uninstall: adapters $(ADAPTER_NAMES)"

# ---- tests -------------------------------------------------------------------

$(BUILD)/tests/runner: $(TEST_SRC) $(TEST_HDR) $(STATIC) $(ADAPTER_A) | deps-check
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(CHECK_CFLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -Icore -o $@ $(TEST_SRC) \
		$(ADAPTER_A) $(TEST_ADAPTERS) $(STATIC) $(CHECK_LIBS) $(ADAPTER_LIBS) $(LDLIBS) $(TEST_ADAPTER_LDLIBS)

$(BUILD)/tsan/obj/%.o: %.c $(BUILD)/tsan/obj/%.d | deps-check
	@mkdir -p $(dir $@)
	$(call say,TSAN-CC,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) -MMD -MP -c $< -o $@
	@touch $@     # clang writes the .d after the .o: else always stale

$(BUILD)/tsan/obj/%.o: %.S | deps-check
	@mkdir -p $(dir $@)
	$(call say,TSAN-AS,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) -c $< -o $@

$(BUILD)/tsan/libawaitkit.a: $(TSAN_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/tsan/runner: $(TEST_SRC) $(TEST_HDR) $(BUILD)/tsan/libawaitkit.a $(ADAPTER_TSAN_A) | deps-check
	@mkdir -p $(dir $@)
	$(call say,TSAN-LD,$@)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) $(CHECK_CFLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -Icore -o $@ \
		$(TEST_SRC) $(ADAPTER_TSAN_A) $(TSAN_TEST_ADAPTERS) $(BUILD)/tsan/libawaitkit.a $(CHECK_LIBS) \
		$(ADAPTER_LIBS) $(LDLIBS) $(TEST_ADAPTER_LDLIBS)

# make unit|tsan|asan SUITE=notify CASE=... TEST=name[,name] REPEAT=N: only
# that suite (Check's CK_RUN_SUITE), tcase (CK_RUN_CASE) or test by name
# (AK_TEST, N times with AK_TEST_REPEAT; tests/testkit.h).  Taken from the
# command line only, never from the environment.
cmdline = $(if $(filter command line,$(origin $(1))),$(2)=$($(1)))
RUN_FILTER = $(call cmdline,SUITE,CK_RUN_SUITE) $(call cmdline,CASE,CK_RUN_CASE) \
	$(call cmdline,TEST,AK_TEST) $(call cmdline,REPEAT,AK_TEST_REPEAT)

unit: $(BUILD)/tests/runner
	@rm -f $(BUILD)/tests/counts
	@$(RUN_FILTER) $(BUILD)/tests/runner unit $(BUILD)/tests/counts

tsan: $(BUILD)/tsan/runner
	@rm -f $(BUILD)/tsan/counts
	@$(TSAN_ENV) $(RUN_FILTER) $(BUILD)/tsan/runner tsan $(BUILD)/tsan/counts

# ---- ASan + UBSan ------------------------------------------------------------

$(BUILD)/asan/obj/%.o: %.c $(BUILD)/asan/obj/%.d | deps-check
	@mkdir -p $(dir $@)
	$(call say,ASAN-CC,$<)
	$(Q)$(ASAN_CC) $(AK_CFLAGS) $(ASAN_FLAGS) -MMD -MP -c $< -o $@
	@touch $@     # a .d written after the .o would leave it stale

DEP_FILES := $(LIB_OBJ:.o=.d) $(TSAN_OBJ:.o=.d) $(ASAN_OBJ:.o=.d)
$(DEP_FILES): ;
-include $(DEP_FILES)

$(BUILD)/asan/obj/%.o: %.S | deps-check
	@mkdir -p $(dir $@)
	$(call say,ASAN-AS,$<)
	$(Q)$(ASAN_CC) $(AK_CFLAGS) -c $< -o $@

$(BUILD)/asan/libawaitkit.a: $(ASAN_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/asan/runner: $(TEST_SRC) $(TEST_HDR) $(BUILD)/asan/libawaitkit.a $(ADAPTER_ASAN_A) | deps-check
	@mkdir -p $(dir $@)
	$(call say,ASAN-LD,$@)
	$(Q)$(ASAN_CC) $(AK_CFLAGS) $(ASAN_FLAGS) $(CHECK_CFLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -Icore -o $@ \
		$(TEST_SRC) $(ADAPTER_ASAN_A) $(ASAN_TEST_ADAPTERS) $(BUILD)/asan/libawaitkit.a $(CHECK_LIBS) \
		$(ADAPTER_LIBS) $(LDLIBS) $(TEST_ADAPTER_LDLIBS)

asan: $(BUILD)/asan/runner
	@rm -f $(BUILD)/asan/counts
	@$(ASAN_ENV) $(RUN_FILTER) $(BUILD)/asan/runner asan $(BUILD)/asan/counts

# Every pass runs even when an earlier one fails, so the summary is whole;
# the target fails if any did.  The stress runs come first so that make
# check still ends with the unit tests' summaries and the total (which
# adds the stress programs' checks).
# Each pass is a timed stage (scripts/stage.sh): make check prints its wall
# seconds as it ends, a table of them all at the close, and how to rerun
# one suite or one test alone.
STAGE_LOG := $(BUILD)/check-stages
STAGE = sh scripts/stage.sh $(STAGE_LOG)
# Every program the stages below run, built first with one job per CPU
# (the stages themselves run one at a time: their output stays in order
# and no two tests share the machine).  A stage still builds what it needs
# when run alone.
CHECK_BUILD = $(BUILD)/ak-stress $(BUILD)/tsan/ak-stress \
	$(TOKIO_PROGS:%=$(BUILD)/tokio/%) $(TOKIO_PROGS:%=$(BUILD)/tsan/tokio/%) \
	$(TOKIO_PROGS:%=$(BUILD)/asan/tokio/%) $(BUILD)/tests/runner \
	$(BUILD)/tsan/runner $(BUILD)/alloc/sweep $(BUILD)/ak-conform \
	$(BUILD)/tsan/ak-conform $(BUILD)/examples/cross_runtime $(FUZZ_BIN) \
	$(SIM_BIN) $(BUILD)/sim/litmus $(SIM_TSAN_BIN) $(BUILD)/sim/libawaitkit-sim.a
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
.PHONY: check-build
check-build: deps-check
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) all $(CHECK_BUILD)

check: deps-check
	@rm -f $(STAGE_LOG); rc=0; \
	$(STAGE) build $(MAKE) --no-print-directory check-build || rc=1; \
	$(STAGE) lint $(MAKE) --no-print-directory lint || rc=1; \
	$(STAGE) stress $(MAKE) --no-print-directory stress-check-native || rc=1; \
	$(STAGE) stress-tsan $(MAKE) --no-print-directory stress-check-tsan || rc=1; \
	$(STAGE) check-install $(MAKE) --no-print-directory check-install || rc=1; \
	$(STAGE) examples $(MAKE) --no-print-directory check-examples || rc=1; \
	$(STAGE) tokio $(MAKE) --no-print-directory tokio || rc=1; \
	$(STAGE) tokio-tsan $(MAKE) --no-print-directory tokio-tsan || rc=1; \
	$(STAGE) tokio-asan $(MAKE) --no-print-directory tokio-asan || rc=1; \
	$(STAGE) unit $(MAKE) --no-print-directory unit || rc=1; \
	$(STAGE) tsan $(MAKE) --no-print-directory tsan || rc=1; \
	$(STAGE) alloc-sweep $(MAKE) --no-print-directory alloc-sweep || rc=1; \
	$(STAGE) matrix $(MAKE) --no-print-directory check-matrix || rc=1; \
	$(STAGE) fuzz $(MAKE) --no-print-directory fuzz-check || rc=1; \
	$(STAGE) sim $(MAKE) --no-print-directory sim-check || rc=1; \
	$(STAGE) sim-tsan $(MAKE) --no-print-directory sim-tsan-check || rc=1; \
	$(STAGE) --summary; \
	echo "rerun one suite: make unit SUITE=notify (or tsan, asan);" \
		"the executor matrix: make matrix EXECUTORS=uv,epoll;" \
		"one test: make unit TEST=name [REPEAT=n]"; \
	sh scripts/total.sh $(BUILD)/tests/counts $(BUILD)/tsan/counts \
		$(STRESS_COUNTS) $(MATRIX_COUNTS) $(BUILD)/sim/counts \
		$(BUILD)/sim-tsan/counts || rc=1; \
	exit $$rc

# ---- allocation-failure sweep (tests/alloc) ----------------------------------
#
# Every scenario of tests/alloc/sweep_*.c with the n-th allocation of the
# process failing, for every n (tests/alloc/sweep.c): no abort, no hang, no
# leak, AK_ENOMEM or completion.  The interposer (failmalloc.c) lives in the
# executable, exported (-rdynamic), so liburcu's and glibc's mallocs reach it.
# alloc-sweep-asan: the same under ASan + UBSan + LeakSanitizer.
ALLOC_SRC := $(wildcard tests/alloc/*.c)
ALLOC_HDR := $(wildcard tests/alloc/*.h)
.PHONY: alloc-sweep alloc-sweep-asan

$(BUILD)/alloc/sweep: $(ALLOC_SRC) $(ALLOC_HDR) $(STATIC) | deps
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) -rdynamic -o $@ $(ALLOC_SRC) $(STATIC) $(LDLIBS) -ldl

$(BUILD)/asan/alloc-sweep: $(ALLOC_SRC) $(ALLOC_HDR) $(BUILD)/asan/libawaitkit.a | deps-check
	@mkdir -p $(dir $@)
	$(call say,ASAN-LD,$@)
	$(Q)$(ASAN_CC) $(AK_CFLAGS) $(ASAN_FLAGS) -rdynamic -o $@ $(ALLOC_SRC) \
		$(BUILD)/asan/libawaitkit.a $(LDLIBS) -ldl

alloc-sweep: $(BUILD)/alloc/sweep
	@$(BUILD)/alloc/sweep

alloc-sweep-asan: $(BUILD)/asan/alloc-sweep
	@$(ASAN_ENV) $(BUILD)/asan/alloc-sweep

# ---- lint --------------------------------------------------------------------

lint: lint-man lint-headers lint-symbols lint-shim lint-layers

lint-man: | deps-check
	@sh scripts/man-check.sh
	@if [ -x ../shared/tools/man-coverage ]; then ../shared/tools/man-coverage . | tail -n 1; fi

lint-headers: | deps-check
	@sh scripts/header-check.sh "$(CC)" "$(CXX)"

lint-symbols: $(BUILD)/$(SONAME)
	@sh scripts/symbol-check.sh $(SHARED) awaitkit.map

# Atomics, futexes, locks and allocation only through core/shim.h.
lint-shim: | deps
	@CC="$(CC)" sh scripts/lint-shim.sh

# The include rules between core/, runtime/ and the primitives (DESIGN.md 9).
lint-layers:
	@sh scripts/lint-layers.sh

# ---- demo --------------------------------------------------------------------

# The demo: demo.c plus one scene file per primitive (examples/scene_*.c).
DEMO_SRC := examples/demo.c $(wildcard examples/scene_*.c)
$(BUILD)/examples/demo: $(DEMO_SRC) examples/demo.h $(LIB_HDR) $(BUILD)/$(SONAME)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) -o $@ $(DEMO_SRC) -L$(BUILD) -lawaitkit \
		-Wl,-rpath,'$$ORIGIN/..' $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(LIB_HDR) $(BUILD)/$(SONAME)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) -o $@ $< -L$(BUILD) -lawaitkit \
		-Wl,-rpath,'$$ORIGIN/..' $(LDLIBS)

# Every EXAMPLES section of the man pages: each complete program is
# extracted, built with -Wall -Wextra -Werror and run; each fragment must
# appear verbatim in the examples/ file it names, which is built and run.
.PHONY: check-examples
check-examples: all $(BUILD)/sim/libawaitkit-sim.a
	@sh scripts/man-examples.sh "$(CC)" "$(BUILD)"

# make demo opens with tokio's fetch_all in C (examples/tokio/b_fetch_all.c),
# what a newcomer recognises, then the scenes of every primitive.
demo: $(BUILD)/tokio/b_fetch_all $(BUILD)/examples/demo $(BUILD)/examples/await_example
	@echo "== examples/tokio/b_fetch_all.c: tokio's fetch_all (try_join! in a timeout) =="
	@$(BUILD)/tokio/b_fetch_all
	@echo
	@$(BUILD)/examples/demo
	@$(BUILD)/examples/await_example

# ---- examples/tokio (issue 19) ----------------------------------------------
#
# The eight programs tokio tutorials start with, as coroutine tasks: each
# checks its own output and the debug counters.  make tokio runs them built
# natively, tokio-tsan under ThreadSanitizer, tokio-asan under ASan + UBSan
# (all three in make check); scripts/count-lines.sh checks that each stays
# within twice the lines of its Rust original.
TOKIO_PROGS := $(notdir $(basename $(wildcard examples/tokio/[a-z]_*.c)))
TOKIO_DEPS := $(wildcard examples/tokio/*.h) $(LIB_HDR)
.PHONY: tokio tokio-tsan tokio-asan

$(BUILD)/tokio/%: examples/tokio/%.c $(TOKIO_DEPS) $(STATIC)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

$(BUILD)/tsan/tokio/%: examples/tokio/%.c $(TOKIO_DEPS) $(BUILD)/tsan/libawaitkit.a | deps-check
	@mkdir -p $(dir $@)
	$(call say,TSAN-CC,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) -o $@ $< $(BUILD)/tsan/libawaitkit.a $(LDLIBS)

$(BUILD)/asan/tokio/%: examples/tokio/%.c $(TOKIO_DEPS) $(BUILD)/asan/libawaitkit.a | deps-check
	@mkdir -p $(dir $@)
	$(call say,ASAN-CC,$<)
	$(Q)$(ASAN_CC) $(AK_CFLAGS) $(ASAN_FLAGS) -o $@ $< $(BUILD)/asan/libawaitkit.a $(LDLIBS)

tokio: $(TOKIO_PROGS:%=$(BUILD)/tokio/%)
	@if [ -d ../shared/reference/tokio-programs ]; then \
		sh scripts/count-lines.sh > $(BUILD)/tokio/lines.md || \
		{ cat $(BUILD)/tokio/lines.md; exit 1; }; fi
	@sh scripts/run-tokio.sh native $(BUILD)/tokio $(TOKIO_PROGS)

tokio-tsan: $(TOKIO_PROGS:%=$(BUILD)/tsan/tokio/%)
	@$(TSAN_STRESS_ENV) sh scripts/run-tokio.sh TSan $(BUILD)/tsan/tokio $(TOKIO_PROGS)

tokio-asan: $(TOKIO_PROGS:%=$(BUILD)/asan/tokio/%)
	@$(ASAN_ENV) sh scripts/run-tokio.sh ASan $(BUILD)/asan/tokio $(TOKIO_PROGS)

# ---- bench (issue 4; never part of check) ------------------------------------
#
# make bench: installs the peers' toolchains (bench/deps.sh), builds the
# library, the reference ring, the Go, awaitkit and Rust peers under
# bench/out/, then runs bench/run.py (BENCH=name, BENCH_RUNS=N, BENCH_CPUS=
# list, BENCH_ONE_CPU=n|all, BENCH_WORKERS=N; see bench/README.md).
# Nothing here asserts on time.

BENCH_OUT := bench/out
BENCH_BIN := $(BENCH_OUT)/bin
BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread
BENCH_GO ?= go
BENCH_PYTHON ?= python3
BENCH_AK_SRC := $(sort $(wildcard bench/awaitkit/*.c))
# Go builds offline: its caches live under bench/out, modules are off-line.
BENCH_GO_ENV := GOCACHE=$(CURDIR)/$(BENCH_OUT)/go/cache \
	GOPATH=$(CURDIR)/$(BENCH_OUT)/go/path GOPROXY=off GOFLAGS= \
	GO111MODULE=on GOENV=off GOTOOLCHAIN=local

.PHONY: bench bench-deps bench-rust

bench-deps:
	@sh bench/deps.sh

$(BENCH_BIN)/peer-ring: bench/ring/ring.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -pthread

$(BENCH_BIN)/bench-launch: bench/launch/launch.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_BIN)/peer-awaitkit: $(BENCH_AK_SRC) $(wildcard bench/awaitkit/*.h) \
		$(LIB_HDR) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(LTO) -Iinclude -o $@ $(BENCH_AK_SRC) $(STATIC) $(LDLIBS)

$(BENCH_BIN)/peer-go: $(wildcard bench/go/*.go) bench/go/go.mod | bench-deps
	@mkdir -p $(dir $@)
	cd bench/go && $(BENCH_GO_ENV) $(BENCH_GO) build -o $(CURDIR)/$@ .

# The Rust peers (peer-tokio, peer-crossbeam) come from bench/rust/build.sh.
# A failed Rust build leaves their rows as dashes rather than stopping the
# other figures; the warning says so.
bench-rust: | bench-deps
	@if [ -f bench/rust/build.sh ]; then \
		sh bench/rust/build.sh || echo "bench: WARNING: bench/rust/build.sh" \
			"failed: no tokio/crossbeam figures" >&2; \
	else \
		echo "bench: no bench/rust/build.sh: no tokio/crossbeam figures" >&2; \
	fi

bench: bench-deps $(BENCH_BIN)/peer-ring $(BENCH_BIN)/bench-launch \
		$(BENCH_BIN)/peer-go $(BENCH_BIN)/peer-awaitkit bench-rust
	BENCH="$(BENCH)" BENCH_RUNS="$(BENCH_RUNS)" BENCH_CPUS="$(BENCH_CPUS)" \
		BENCH_ONE_CPU="$(BENCH_ONE_CPU)" BENCH_WORKERS="$(BENCH_WORKERS)" \
		$(BENCH_PYTHON) bench/run.py

# ---- adapters/epoll (issue 15) ------------------------------------------------
#
# libawaitkit-epoll.a: the epoll executor (ak_epoll(3)), a static library
# that stands on the core's internals (core/shim.h, runtime/task.h), so a
# program links it with the static core: awaitkit-epoll.pc says so.  The
# core library does not depend on it.  Its tests (tests/check_epoll.c) are
# in the unit runner, natively, under TSan and under ASan; make check fails
# when it cannot be built.  examples/echo_epoll.c is built and run by
# check-examples (it is named in ak_epoll(3)); bench/epoll/ is not.

EPOLL_SRC := $(sort $(wildcard adapters/epoll/*.c))
EPOLL_HDR := include/awaitkit/epoll.h $(wildcard adapters/epoll/*.h)
EPOLL_LIB := $(BUILD)/libawaitkit-epoll.a
EPOLL_TSAN_LIB := $(BUILD)/tsan/libawaitkit-epoll.a
EPOLL_ASAN_LIB := $(BUILD)/asan/libawaitkit-epoll.a

TEST_ADAPTERS += $(EPOLL_LIB)
TSAN_TEST_ADAPTERS += $(EPOLL_TSAN_LIB)
ASAN_TEST_ADAPTERS += $(EPOLL_ASAN_LIB)

all: $(EPOLL_LIB)

$(EPOLL_SRC:%.c=$(BUILD)/obj/%.o) $(EPOLL_SRC:%.c=$(BUILD)/tsan/obj/%.o) \
	$(EPOLL_SRC:%.c=$(BUILD)/asan/obj/%.o): $(EPOLL_HDR)

$(EPOLL_LIB): $(EPOLL_SRC:%.c=$(BUILD)/obj/%.o)
	$(Q)rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(EPOLL_TSAN_LIB): $(EPOLL_SRC:%.c=$(BUILD)/tsan/obj/%.o)
	$(Q)rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(EPOLL_ASAN_LIB): $(EPOLL_SRC:%.c=$(BUILD)/asan/obj/%.o)
	$(Q)rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/tests/runner: $(EPOLL_LIB)
$(BUILD)/tsan/runner: $(EPOLL_TSAN_LIB)
$(BUILD)/asan/runner: $(EPOLL_ASAN_LIB)

$(BUILD)/examples/echo_epoll: examples/echo_epoll.c $(LIB_HDR) $(EPOLL_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) -o $@ $< $(EPOLL_LIB) $(STATIC) $(LDLIBS)

# The figures for the note (never part of check): ping-pong and a wake from
# another thread, the epoll executor against the single-thread executor.
$(BUILD)/bench/epoll_bench: bench/epoll/epoll_bench.c $(LIB_HDR) $(EPOLL_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(LTO) -o $@ $< $(EPOLL_LIB) $(STATIC) $(LDLIBS)

.PHONY: install-epoll uninstall-epoll bench-epoll
bench-epoll: $(BUILD)/bench/epoll_bench
	@$(BUILD)/bench/epoll_bench

install: install-epoll
install-epoll: $(EPOLL_LIB) adapters/epoll/awaitkit-epoll.pc.in
	$(INSTALL) -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	$(INSTALL) -m 644 $(EPOLL_LIB) "$(DESTDIR)$(LIBDIR)/libawaitkit-epoll.a"
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		adapters/epoll/awaitkit-epoll.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-epoll.pc"
	chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-epoll.pc"

uninstall: uninstall-epoll
uninstall-epoll:
	rm -f "$(DESTDIR)$(LIBDIR)/libawaitkit-epoll.a" \
		"$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-epoll.pc"

# ---- end of adapters/epoll ----------------------------------------------------

# ---- conform: the executor conformance kit and the executor matrix (issue 15) ----
#
# libawaitkit-conform.a: the kit (conform/conform.c, ak_conform(3)), over the
# public API alone and no loop library; make install puts it beside
# <awaitkit/conform.h>, ak_conform(3) and ak-conform(1).  $(BUILD)/ak-conform
# runs it on every shipped executor (conform/drivers.c: the single-thread
# executor, the pool, block_on threads, libuv, libevent, epoll).
# tests/check_conform.c, in the unit runner, shows it failing the broken
# executors of tests/conform_broken.c.  check-matrix, a make check stage:
# ak-conform on every executor, then the executor matrix (the unit
# runner's --executors mode: the "as_tasks" tcase of the channel, sync and
# select suites, whose tests run their futures as tasks through the
# testkit's tk_exec, once per executor) natively on all six, and both
# under TSan on the pool and libuv.

CONFORM_LIB := $(BUILD)/libawaitkit-conform.a
CONFORM_TSAN_LIB := $(BUILD)/tsan/libawaitkit-conform.a
CONFORM_ASAN_LIB := $(BUILD)/asan/libawaitkit-conform.a
CONFORM_DRIVERS := conform/drivers.c conform/drivers.h
CONFORM_HDR := include/awaitkit/conform.h $(LIB_HDR)

TEST_ADAPTERS += $(CONFORM_LIB)
TSAN_TEST_ADAPTERS += $(CONFORM_TSAN_LIB)
ASAN_TEST_ADAPTERS += $(CONFORM_ASAN_LIB)
$(BUILD)/tests/runner: $(CONFORM_LIB)
$(BUILD)/tsan/runner: $(CONFORM_TSAN_LIB)
$(BUILD)/asan/runner: $(CONFORM_ASAN_LIB)

all: $(CONFORM_LIB) $(BUILD)/ak-conform

$(BUILD)/obj/conform/conform.o: conform/conform.c $(CONFORM_HDR) | deps
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/tsan/obj/conform/conform.o: conform/conform.c $(CONFORM_HDR) | deps-check
	@mkdir -p $(dir $@)
	$(call say,TSAN-CC,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) -c $< -o $@
$(BUILD)/asan/obj/conform/conform.o: conform/conform.c $(CONFORM_HDR) | deps-check
	@mkdir -p $(dir $@)
	$(call say,ASAN-CC,$<)
	$(Q)$(ASAN_CC) $(AK_CFLAGS) $(ASAN_FLAGS) -c $< -o $@
$(CONFORM_LIB): $(BUILD)/obj/conform/conform.o
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(CONFORM_TSAN_LIB): $(BUILD)/tsan/obj/conform/conform.o
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(CONFORM_ASAN_LIB): $(BUILD)/asan/obj/conform/conform.o
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The program, natively and under TSan.
CONFORM_LINK = $(CONFORM_LIB) $(ADAPTER_A) $(EPOLL_LIB) $(STATIC) $(ADAPTER_LIBS) $(LDLIBS)
CONFORM_TSAN_LINK = $(CONFORM_TSAN_LIB) $(ADAPTER_TSAN_A) $(EPOLL_TSAN_LIB) \
	$(BUILD)/tsan/libawaitkit.a $(ADAPTER_LIBS) $(LDLIBS)
$(BUILD)/ak-conform: conform/main.c $(CONFORM_DRIVERS) $(CONFORM_HDR) $(CONFORM_LIB) \
		$(ADAPTER_A) $(EPOLL_LIB) $(STATIC)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -o $@ conform/main.c \
		conform/drivers.c $(CONFORM_LINK)
$(BUILD)/tsan/ak-conform: conform/main.c $(CONFORM_DRIVERS) $(CONFORM_HDR) \
		$(CONFORM_TSAN_LIB) $(ADAPTER_TSAN_A) $(EPOLL_TSAN_LIB) $(BUILD)/tsan/libawaitkit.a
	@mkdir -p $(dir $@)
	$(call say,TSAN-LD,$@)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -o $@ \
		conform/main.c conform/drivers.c $(CONFORM_TSAN_LINK)

.PHONY: check-matrix conform lint-conform install-conform uninstall-conform
conform: $(BUILD)/ak-conform
	@$(BUILD)/ak-conform

# The executor matrix: the unit runner in --executors mode.
# make matrix [EXECUTORS=pool,uv] [TEST=name]: the same by hand.
comma := ,
MATRIX_EXECUTORS := executor,pool,block_on,uv,event,epoll
MATRIX_TSAN_EXECUTORS := pool,uv
EXECUTORS ?= $(MATRIX_EXECUTORS)
.PHONY: matrix
matrix: $(BUILD)/tests/runner
	@$(RUN_FILTER) $(BUILD)/tests/runner --executors $(EXECUTORS) matrix

# Across runtimes (tests/check_cross.c is its test, in the unit runner).
$(BUILD)/examples/cross_runtime: examples/cross_runtime.c $(LIB_HDR) $(ADAPTER_A) $(STATIC)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(UV_CFLAGS) -o $@ $< $(BUILD)/libawaitkit-uv.a \
		$(STATIC) $(UV_LIBS) $(LDLIBS)

# The make check stage (scripts/stage.sh prints its time): the kit on every
# executor, the matrix on every executor, then both under TSan on the pool
# and libuv; and examples/cross_runtime.  Every part runs even when one
# fails.
MATRIX_COUNTS := $(BUILD)/tests/matrix.counts $(BUILD)/tsan/matrix.counts
check-matrix: $(BUILD)/ak-conform $(BUILD)/tsan/ak-conform $(BUILD)/tests/runner \
		$(BUILD)/tsan/runner $(BUILD)/examples/cross_runtime
	@rc=0; rm -f $(MATRIX_COUNTS); \
	$(BUILD)/examples/cross_runtime || rc=1; \
	$(BUILD)/ak-conform | grep -v ': ok$$' || rc=1; \
	$(TSAN_ENV) $(BUILD)/tsan/ak-conform $(subst $(comma), ,$(MATRIX_TSAN_EXECUTORS)) \
		| grep -v ': ok$$' || rc=1; \
	$(BUILD)/tests/runner --executors $(MATRIX_EXECUTORS) matrix \
		$(BUILD)/tests/matrix.counts || rc=1; \
	$(TSAN_ENV) $(BUILD)/tsan/runner --executors $(MATRIX_TSAN_EXECUTORS) tsan-matrix \
		$(BUILD)/tsan/matrix.counts || rc=1; \
	exit $$rc

# ak-conform(1): make lint's man check covers man3 and man7.
lint: lint-conform
lint-conform: | deps-check
	@mandoc -Tlint -Wwarning man/man1/ak-conform.1 && echo "lint-conform: man/man1 mandoc -Tlint clean"

install: install-conform
install-conform: $(CONFORM_LIB)
	$(INSTALL) -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(MANDIR)/man1"
	$(INSTALL) -m 644 $(CONFORM_LIB) "$(DESTDIR)$(LIBDIR)/libawaitkit-conform.a"
	$(INSTALL) -m 644 man/man1/ak-conform.1 "$(DESTDIR)$(MANDIR)/man1/ak-conform.1"
uninstall: uninstall-conform
uninstall-conform:
	rm -f "$(DESTDIR)$(LIBDIR)/libawaitkit-conform.a" "$(DESTDIR)$(MANDIR)/man1/ak-conform.1"

# ---- end of conform ---------------------------------------------------------

# ---- ak-stress: the stress tool (issue 16; ak-stress(1)) -----------------------
#
# One program over the public API and the core's internals (-Icore):
# stress/work*.c, the primitive workloads, whose producers and consumers
# are tasks on any executor of conform/drivers.c; stress/stress_*.c, the
# stress programs, each a scenario of its own threads and executors;
# stress/harness.c (options, checks, the per-kind watchdog, progress);
# stress/ak_stress.c (main, the scenario table).  $(BUILD)/ak-stress natively,
# $(BUILD)/tsan/ak-stress under TSan.  make check's stress and stress-tsan
# stages run the programs STRESS_CHECK_SECS seconds each and every workload
# on every executor (under TSan: STRESS_TSAN_EXECUTORS) for
# STRESS_CHECK_COUNT operations per task; each writes
# its "passed failed" counts to $(BUILD)/stress or $(BUILD)/tsan-stress.
# make install puts ak-stress in $(BINDIR), ak-stress(1) in man1.
STRESS_SECS ?= 10
STRESS_WORK_SECS ?= 2
STRESS_CHECK_SECS ?= 2
STRESS_CHECK_COUNT ?= 300
STRESS_SRC := $(sort $(wildcard stress/*.c)) conform/drivers.c
STRESS_DEPS := $(STRESS_SRC) $(wildcard stress/*.h) conform/drivers.h $(INT_HDR) $(LIB_HDR)
STRESS_COUNTS := $(BUILD)/stress/programs.counts $(BUILD)/stress/workloads.counts \
	$(BUILD)/tsan-stress/programs.counts $(BUILD)/tsan-stress/workloads.counts
TSAN_SYMBOLIZER := $(firstword $(wildcard /usr/lib/llvm-16/bin/llvm-symbolizer \
	/usr/bin/llvm-symbolizer-16 /usr/bin/llvm-symbolizer-14))
TSAN_STRESS_ENV := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 \
	atexit_sleep_ms=0 die_after_fork=0 \
	$(if $(TSAN_SYMBOLIZER),external_symbolizer_path=$(TSAN_SYMBOLIZER))"
STRESS_LINK = $(ADAPTER_A) $(EPOLL_LIB) $(STATIC) $(ADAPTER_LIBS) $(LDLIBS)
STRESS_TSAN_LINK = $(ADAPTER_TSAN_A) $(EPOLL_TSAN_LIB) $(BUILD)/tsan/libawaitkit.a \
	$(ADAPTER_LIBS) $(LDLIBS)

$(BUILD)/ak-stress: $(STRESS_DEPS) $(ADAPTER_A) $(EPOLL_LIB) $(STATIC) | deps
	$(call say,LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -Icore -o $@ \
		$(STRESS_SRC) $(STRESS_LINK)

$(BUILD)/tsan/ak-stress: $(STRESS_DEPS) $(ADAPTER_TSAN_A) $(EPOLL_TSAN_LIB) \
		$(BUILD)/tsan/libawaitkit.a | deps-check
	@mkdir -p $(dir $@)
	$(call say,TSAN-LD,$@)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) $(UV_CFLAGS) $(EVENT_CFLAGS) -Icore -o $@ \
		$(STRESS_SRC) $(STRESS_TSAN_LINK)

all: $(BUILD)/ak-stress

# $(call stress_run,BIN,DIR,ENV,PROGRAM-OPTIONS,WORKLOAD-OPTIONS,EXECUTORS):
# the programs, then every workload on the executors (all, or a list); both
# run even when the first fails.  Under TSan the workloads run on the pool
# and libuv, as the executor matrix does (each run is a process, and a
# TSan process costs 0.2 s to start).
stress_run = rc=0; mkdir -p $(2); rm -f $(2)/programs.counts $(2)/workloads.counts; \
	echo "== ak-stress programs ($(4))$(if $(3), under TSan) =="; \
	$(3) $(1) -q $(4) -o $(2)/programs.counts programs || rc=1; \
	echo "== ak-stress workloads on $(6) ($(5))$(if $(3), under TSan) =="; \
	$(3) $(1) -q $(5) -e $(6) -o $(2)/workloads.counts workloads || rc=1; \
	exit $$rc
STRESS_TSAN_EXECUTORS := pool,uv

.PHONY: stress stress-check stress-check-native stress-check-tsan install-stress \
	uninstall-stress lint-stress
stress: $(BUILD)/ak-stress $(BUILD)/tsan/ak-stress
	@rc=0; ($(call stress_run,$(BUILD)/ak-stress,$(BUILD)/stress,,-d $(STRESS_SECS),-d $(STRESS_WORK_SECS),all)) || rc=1; \
	($(call stress_run,$(BUILD)/tsan/ak-stress,$(BUILD)/tsan-stress,$(TSAN_STRESS_ENV),-d $(STRESS_SECS),-d $(STRESS_WORK_SECS),all)) || rc=1; \
	exit $$rc

stress-check: stress-check-native stress-check-tsan

stress-check-native: $(BUILD)/ak-stress
	@$(call stress_run,$(BUILD)/ak-stress,$(BUILD)/stress,,-d $(STRESS_CHECK_SECS),-n $(STRESS_CHECK_COUNT),all)

stress-check-tsan: $(BUILD)/tsan/ak-stress
	@$(call stress_run,$(BUILD)/tsan/ak-stress,$(BUILD)/tsan-stress,$(TSAN_STRESS_ENV),-d $(STRESS_CHECK_SECS),-n $(STRESS_CHECK_COUNT),$(STRESS_TSAN_EXECUTORS))

lint: lint-stress
lint-stress: | deps-check
	@mandoc -Tlint -Wwarning man/man1/ak-stress.1 && echo "lint-stress: ak-stress(1) mandoc -Tlint clean"

install: install-stress
install-stress: $(BUILD)/ak-stress
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1"
	$(INSTALL) -m 755 $(BUILD)/ak-stress "$(DESTDIR)$(BINDIR)/ak-stress"
	$(INSTALL) -m 644 man/man1/ak-stress.1 "$(DESTDIR)$(MANDIR)/man1/ak-stress.1"
uninstall: uninstall-stress
uninstall-stress:
	rm -f "$(DESTDIR)$(BINDIR)/ak-stress" "$(DESTDIR)$(MANDIR)/man1/ak-stress.1"

# ---- end of ak-stress -----------------------------------------------------------

# ---- install -----------------------------------------------------------------
#
# make install [PREFIX=/usr/local] [DESTDIR=] [BINDIR=$(PREFIX)/bin]
#   [LIBDIR=$(PREFIX)/lib]
#   [INCLUDEDIR=$(PREFIX)/include] [MANDIR=$(PREFIX)/share/man]
#   [PKGCONFIGDIR=$(LIBDIR)/pkgconfig]
# DESTDIR stages the files only; awaitkit.pc names the final paths.  Man
# page symlinks are installed as the same relative symlinks.  make uninstall
# with the same variables removes those files (by the source tree's lists)
# and the awaitkit/ header directory if it is left empty, nothing else.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install

PUB_HDR := $(wildcard include/awaitkit/*.h)
MAN_PAGES := $(wildcard man/man3/*.3 man/man7/*.7)
# A page per family, a symbolic link per other function it documents:
# installed as they are, a few processes for them all.
MAN_LINKS := $(shell find man/man3 man/man7 -type l)
MAN_FILES := $(filter-out $(MAN_LINKS),$(MAN_PAGES))
# man_install SECTION: the pages and links of man/SECTION into MANDIR.
man_install = $(if $(filter man/$(1)/%,$(MAN_FILES)),$(INSTALL) -m 644 \
	$(filter man/$(1)/%,$(MAN_FILES)) "$(DESTDIR)$(MANDIR)/$(1)/";) \
	$(if $(filter man/$(1)/%,$(MAN_LINKS)),cp -P --remove-destination \
	$(filter man/$(1)/%,$(MAN_LINKS)) "$(DESTDIR)$(MANDIR)/$(1)/";)

.PHONY: install uninstall check-install

install: all $(BUILD)/tsan/libawaitkit.a awaitkit.pc.in awaitkit-tsan.pc.in
	$(INSTALL) -d "$(DESTDIR)$(INCLUDEDIR)/awaitkit" "$(DESTDIR)$(LIBDIR)" \
		"$(DESTDIR)$(PKGCONFIGDIR)" "$(DESTDIR)$(MANDIR)/man3" \
		"$(DESTDIR)$(MANDIR)/man7"
	$(INSTALL) -m 644 include/awaitkit.h "$(DESTDIR)$(INCLUDEDIR)/awaitkit.h"
	$(INSTALL) -m 644 $(PUB_HDR) "$(DESTDIR)$(INCLUDEDIR)/awaitkit/"
	$(INSTALL) -m 644 $(STATIC) "$(DESTDIR)$(LIBDIR)/libawaitkit.a"
	$(INSTALL) -m 644 $(BUILD)/tsan/libawaitkit.a "$(DESTDIR)$(LIBDIR)/libawaitkit-tsan.a"
	$(INSTALL) -m 755 $(SHARED) "$(DESTDIR)$(LIBDIR)/libawaitkit.so.$(VERSION)"
	ln -sfn libawaitkit.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sfn $(SONAME) "$(DESTDIR)$(LIBDIR)/libawaitkit.so"
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		awaitkit.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit.pc"
	chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit.pc"
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		-e 's|@TSAN_CC@|$(TSAN_CC)|g' \
		awaitkit-tsan.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-tsan.pc"
	chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-tsan.pc"
	@set -e; $(call man_install,man3) $(call man_install,man7) \
	echo "install: $(words $(MAN_PAGES)) man pages into $(DESTDIR)$(MANDIR)"

uninstall:
	rm -f "$(DESTDIR)$(INCLUDEDIR)/awaitkit.h"
	@for h in $(notdir $(PUB_HDR)); do \
		rm -f "$(DESTDIR)$(INCLUDEDIR)/awaitkit/$$h"; done
	@if [ -d "$(DESTDIR)$(INCLUDEDIR)/awaitkit" ]; then \
		rmdir "$(DESTDIR)$(INCLUDEDIR)/awaitkit" 2>/dev/null || \
		echo "uninstall: $(DESTDIR)$(INCLUDEDIR)/awaitkit not empty, kept"; fi
	rm -f "$(DESTDIR)$(LIBDIR)/libawaitkit.a" \
		"$(DESTDIR)$(LIBDIR)/libawaitkit.so.$(VERSION)" \
		"$(DESTDIR)$(LIBDIR)/$(SONAME)" "$(DESTDIR)$(LIBDIR)/libawaitkit.so" \
		"$(DESTDIR)$(PKGCONFIGDIR)/awaitkit.pc" \
		"$(DESTDIR)$(LIBDIR)/libawaitkit-tsan.a" \
		"$(DESTDIR)$(PKGCONFIGDIR)/awaitkit-tsan.pc"
	@if [ -d "$(DESTDIR)$(MANDIR)" ]; then cd "$(DESTDIR)$(MANDIR)" && \
		rm -f $(MAN_PAGES:man/%=%); fi; \
	echo "uninstall: man pages removed from $(DESTDIR)$(MANDIR)"

# Install into a temporary prefix, build tests/install/hello.c against it
# with pkg-config alone (dynamic and static), check the man pages, uninstall.
check-install: all
	@sh scripts/check-install.sh "$(MAKE)" "$(CC)" "$(BUILD)" "$(VERSION)"

clean:
	rm -rf $(BUILD)

# ---- fuzz: the model-based fuzzer (issue 16; awaitkit-fuzz(7)) ----------------
#
# fuzz/*.c is one libFuzzer target: programs of operations on the channels
# and locks, from simulated tasks, applied to the library and to a
# sequential model, every result compared.  Built with clang-16 and
# libFuzzer, ASan and UBSan (libclang-rt-16-dev has all three), over its own
# copy of the library's objects in $(BUILD)/fuzz (instrumented for coverage).
#   make fuzz-check   (part of make check) replay fuzz/corpus, then fuzz
#                     FUZZ_CHECK_RUNS inputs from -seed=$(FUZZ_SEED): the same
#                     inputs in every run, so an unrelated change never turns
#                     it red by chance
#   make fuzz [FUZZ_SECS=N] [FUZZ_JOBS=N]   fuzz N seconds (600) unseeded;
#                     new inputs go to $(BUILD)/fuzz/corpus, crashes to
#                     $(BUILD)/fuzz/crash-* (with FUZZ_JOBS > 1, logs to
#                     $(BUILD)/fuzz/fuzz-N.log)
#   make fuzz-corpus  regenerate fuzz/corpus (scripts/fuzz-corpus.py)
FUZZ_CC ?= clang-16
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -g -O1
# -Wno-unused-function: under ASan core/shim.c bypasses its block cache and
# clang (not gcc) warns about the cache's unused static inline helpers.
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(LIB_ASM:%.S=$(BUILD)/fuzz/obj/%.o)
FUZZ_SRC := $(sort $(wildcard fuzz/*.c))
FUZZ_BIN := $(BUILD)/fuzz/fuzz_sync
FUZZ_SECS ?= 600
FUZZ_JOBS ?= 1
FUZZ_SEED ?= 1
# About 60 s on an idle 2-core machine (awaitkit-fuzz(7) has the figures).
FUZZ_CHECK_RUNS ?= 900000
FUZZ_ENV := ASAN_OPTIONS="detect_leaks=1 abort_on_error=1 \
	$(if $(TSAN_SYMBOLIZER),external_symbolizer_path=$(TSAN_SYMBOLIZER))" \
	UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
.PHONY: fuzz fuzz-check fuzz-corpus

# The .d files (-MMD) name the headers; clang writes them after the object,
# so they are not prerequisites here (they would always look newer).
$(BUILD)/fuzz/obj/%.o: %.c | deps-check
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(AK_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wno-unused-function \
		-MMD -MP -c $< -o $@
$(BUILD)/fuzz/obj/%.o: %.S | deps-check
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(AK_CFLAGS) -c $< -o $@
-include $(FUZZ_OBJ:.o=.d)

$(BUILD)/fuzz/libawaitkit.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BIN): $(FUZZ_SRC) fuzz/fuzz.h $(BUILD)/fuzz/libawaitkit.a | deps-check
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(AK_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $(FUZZ_SRC) \
		$(BUILD)/fuzz/libawaitkit.a $(LDLIBS)

fuzz-check: $(FUZZ_BIN)
	@$(FUZZ_ENV) sh scripts/fuzz-check.sh $(FUZZ_BIN) $(BUILD)/fuzz $(FUZZ_SEED) \
		$(FUZZ_CHECK_RUNS)

# From $(BUILD)/fuzz: with -jobs, libFuzzer writes fuzz-N.log in its
# working directory.
fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus
	cd $(BUILD)/fuzz && $(FUZZ_ENV) ./fuzz_sync -max_total_time=$(FUZZ_SECS) \
		$(if $(filter-out 1,$(FUZZ_JOBS)),-jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS)) \
		-max_len=512 -print_final_stats=1 corpus $(CURDIR)/fuzz/corpus

fuzz-corpus:
	python3 scripts/fuzz-corpus.py fuzz/corpus

# ---- end of fuzz ----------------------------------------------------------------

# ---- sim: the deterministic scheduler (issue 16; awaitkit-sim(7)) ----------------
#
# The library and its scenario programs built with the shim in simulation
# mode (-DAK_SIM, core/shim_sim.h) in $(BUILD)/sim: every atomic access,
# futex wait and wake, internal lock, allocation and thread start or join of
# the library is a scheduling point of sim/'s deterministic scheduler, which
# runs one thread at a time.  -Isim/shadow puts the scheduler's stand-ins
# for liburcu's RCU and wfcqueue before the system's headers.
#   make sim [SIM_SCHEDULES=N] [SCENARIO="name..."]   N schedules (1000) of
#                     every scenario (or those named) under each strategy
#                     (random, PCT, bounded-preemption DFS); AK_SIM_* in the
#                     environment as awaitkit-sim(7) says
#   make sim-check    (part of make check) SIM_CHECK_SCHEDULES of each, from
#                     the same seeds in every run
#   make sim-tsan     the scenarios with the library under ThreadSanitizer
#                     (below); make sim-tsan-check, part of make check, runs
#                     SIM_TSAN_CHECK_SCHEDULES of each
SIM_SRC := $(sort $(wildcard sim/*.c))
SIM_OBJ := $(LIB_SRC:%.c=$(BUILD)/sim/obj/%.o) $(LIB_ASM:%.S=$(BUILD)/sim/obj/%.o) \
	$(SIM_SRC:%.c=$(BUILD)/sim/obj/%.o)
SIM_LIB := $(BUILD)/sim/libawaitkit-sim.a
SIM_SCEN := $(sort $(wildcard sim/scenarios/*.c))
SIM_BIN := $(BUILD)/sim/scenarios
SIM_SCHEDULES ?= 1000
SIM_CHECK_SCHEDULES ?= 500
SIM_FLAGS := -DAK_SIM -Isim/shadow
.PHONY: sim sim-check

$(BUILD)/sim/obj/%.o: %.c $(BUILD)/sim/obj/%.d | deps
	@mkdir -p $(dir $@)
	$(call say,SIM-CC,$<)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(SIM_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/sim/obj/%.o: %.S | deps
	@mkdir -p $(dir $@)
	$(call say,SIM-AS,$<)
	$(Q)$(CC) $(AK_CFLAGS) -c $< -o $@
SIM_DEP := $(filter %.d,$(SIM_OBJ:.o=.d))
$(SIM_DEP): ;
-include $(SIM_DEP)

$(SIM_LIB): $(SIM_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SIM_BIN): $(SIM_SCEN) sim/scenarios/scen.h sim/ak_sim.h $(LIB_HDR) $(SIM_LIB) | deps
	$(call say,SIM-LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) -Isim -rdynamic -o $@ $(SIM_SCEN) $(SIM_LIB) -pthread

sim: $(SIM_BIN)
	@AK_SIM_SCHEDULES=$(SIM_SCHEDULES) $(SIM_BIN) $(SCENARIO)

# The scheduler's own test: the litmus tests of its weak memory model.
$(BUILD)/sim/litmus: sim/selftest/litmus.c sim/ak_sim.h core/shim.h core/shim_sim.h $(SIM_LIB)
	$(call say,SIM-LD,$@)
	$(Q)$(CC) $(AK_CFLAGS) $(CFLAGS) $(SIM_FLAGS) -Isim -o $@ $< $(SIM_LIB) -pthread

SIM_COUNTS := $(BUILD)/sim/counts
sim-check: $(SIM_BIN) $(BUILD)/sim/litmus
	@rm -f $(SIM_COUNTS)
	@$(BUILD)/sim/litmus | grep '^litmus:'
	@AK_SIM_SCHEDULES=$(SIM_CHECK_SCHEDULES) AK_SIM_COUNTS=$(SIM_COUNTS) $(SIM_BIN)

# make sim-tsan: the same scenarios with the library under ThreadSanitizer
# (clang), the scheduler (sim/*.c) and the scenarios left uninstrumented, so
# that the baton is invisible to it and the happens-before it checks is the
# program's own (sim/sched.c): a plain access published by a store that
# should be a release is a race it reports, under every schedule sim makes.
# Sequentially consistent (the store buffers' values would contradict it).
SIM_TSAN_OBJ := $(LIB_SRC:%.c=$(BUILD)/sim-tsan/obj/%.o) $(LIB_ASM:%.S=$(BUILD)/sim-tsan/obj/%.o) \
	$(SIM_SRC:%.c=$(BUILD)/sim-tsan/obj/%.o)
SIM_TSAN_LIB := $(BUILD)/sim-tsan/libawaitkit-sim.a
SIM_TSAN_BIN := $(BUILD)/sim-tsan/scenarios
SIM_TSAN_SCHEDULES ?= 200
# 50 a strategy: planted bug (i) of awaitkit-sim(7), a grant's release
# weakened to relaxed, needs 7 to 27 of the random walk and 1 to 5 of PCT.
SIM_TSAN_CHECK_SCHEDULES ?= 50
SIM_TSAN_COUNTS := $(BUILD)/sim-tsan/counts
SIM_TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 abort_on_error=1 history_size=4 atexit_sleep_ms=0 \
	$(if $(TSAN_SYMBOLIZER),external_symbolizer_path=$(TSAN_SYMBOLIZER))" AK_SIM_WEAK=0
.PHONY: sim-tsan sim-tsan-check

$(BUILD)/sim-tsan/obj/sim/%.o: sim/%.c $(wildcard sim/*.h) core/shim.h core/shim_sim.h | deps-check
	@mkdir -p $(dir $@)
	$(call say,SIM-CC,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) -g -O1 $(SIM_FLAGS) -DAK_SIM_TSAN -c $< -o $@
$(BUILD)/sim-tsan/obj/%.o: %.c $(BUILD)/sim-tsan/obj/%.d | deps-check
	@mkdir -p $(dir $@)
	$(call say,SIM-TSAN,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) $(SIM_FLAGS) -MMD -MP -c $< -o $@
	@touch $@     # clang writes the .d after the .o
$(BUILD)/sim-tsan/obj/%.o: %.S | deps-check
	@mkdir -p $(dir $@)
	$(call say,SIM-AS,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) -c $< -o $@
SIM_TSAN_DEP := $(filter-out $(BUILD)/sim-tsan/obj/sim/%,$(filter %.d,$(SIM_TSAN_OBJ:.o=.d)))
$(SIM_TSAN_DEP): ;
-include $(SIM_TSAN_DEP)

$(SIM_TSAN_LIB): $(SIM_TSAN_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The scenarios' own bookkeeping is serialized by the scheduler, not
# synchronized: they are not instrumented either.
SIM_TSAN_SCEN_OBJ := $(SIM_SCEN:%.c=$(BUILD)/sim-tsan/obj/%.o)
$(BUILD)/sim-tsan/obj/sim/scenarios/%.o: sim/scenarios/%.c sim/scenarios/scen.h sim/ak_sim.h \
		$(LIB_HDR) | deps-check
	@mkdir -p $(dir $@)
	$(call say,SIM-CC,$<)
	$(Q)$(TSAN_CC) $(AK_CFLAGS) -g -O1 -Isim -c $< -o $@
$(SIM_TSAN_BIN): $(SIM_TSAN_SCEN_OBJ) $(SIM_TSAN_LIB) | deps-check
	$(call say,SIM-LD,$@)
	$(Q)$(TSAN_CC) -rdynamic -fsanitize=thread -o $@ $(SIM_TSAN_SCEN_OBJ) $(SIM_TSAN_LIB) -pthread

sim-tsan: $(SIM_TSAN_BIN)
	@$(SIM_TSAN_ENV) AK_SIM_SCHEDULES=$(SIM_TSAN_SCHEDULES) $(SIM_TSAN_BIN) $(SCENARIO)

sim-tsan-check: $(SIM_TSAN_BIN)
	@rm -f $(SIM_TSAN_COUNTS)
	@$(SIM_TSAN_ENV) AK_SIM_SCHEDULES=$(SIM_TSAN_CHECK_SCHEDULES) \
		AK_SIM_COUNTS=$(SIM_TSAN_COUNTS) $(SIM_TSAN_BIN)

# ---- end of sim -------------------------------------------------------------------
