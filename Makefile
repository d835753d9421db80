# awaitkit: a single, non-recursive GNU Makefile.
#
#   make            the libraries (build/libawaitkit.a, build/libawaitkit.so.0)
#   make demo       build and run examples/demo
#   make check      unit tests, the same tests under ThreadSanitizer, lint
#   make tsan       only the ThreadSanitizer pass
#   make lint       man pages, header self-containment, exported symbols
#   make clean
#
# CC and CFLAGS may be overridden; the warnings and the standard are not.

CC ?= cc
CXX ?= c++
TSAN_CC ?= clang-16
CFLAGS ?= -O2 -g
BUILD ?= build

VERSION := 0.1.0
SONAME := libawaitkit.so.0

# Operation structs carry opaque storage that the library reads through its
# own views of it (a union with max_align_t in the public header, a private
# struct in the .c): -fno-strict-aliasing makes that well defined.
AK_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE \
	-fvisibility=hidden -fPIC -fno-strict-aliasing -pthread -Iinclude
LDLIBS := -pthread

LIB_SRC := $(sort $(wildcard core/*.c chan/*.c sync/*.c select/*.c))
LIB_HDR := $(wildcard include/*.h include/awaitkit/*.h)
INT_HDR := $(wildcard core/*.h chan/*.h sync/*.h select/*.h)

TEST_SRC := $(wildcard tests/*.c)
TEST_HDR := $(wildcard tests/*.h)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TSAN_OBJ := $(LIB_SRC:%.c=$(BUILD)/tsan/obj/%.o)

STATIC := $(BUILD)/libawaitkit.a
SHARED := $(BUILD)/libawaitkit.so.$(VERSION)

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

TSAN_FLAGS := -fsanitize=thread -g -O1 -fno-omit-frame-pointer
# Check forks each test; under TSan tests run several times slower.
TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4" \
	CK_TIMEOUT_MULTIPLIER=4

.PHONY: all deps deps-check check unit tsan lint lint-man lint-headers \
	lint-symbols demo clean
.DELETE_ON_ERROR:

all: $(STATIC) $(BUILD)/$(SONAME)

deps:
	@sh scripts/deps.sh build

deps-check:
	@sh scripts/deps.sh check

$(BUILD)/obj/%.o: %.c $(LIB_HDR) $(INT_HDR) | deps
	@mkdir -p $(dir $@)
	$(CC) $(AK_CFLAGS) $(CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ) awaitkit.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=awaitkit.map \
		-Wl,--no-undefined $(CFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/$(SONAME): $(SHARED)
	ln -sf $(notdir $<) $@
	ln -sf $(SONAME) $(BUILD)/libawaitkit.so

# ---- tests -------------------------------------------------------------------

$(BUILD)/tests/runner: $(TEST_SRC) $(TEST_HDR) $(STATIC) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(AK_CFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -Icore -o $@ $(TEST_SRC) \
		$(STATIC) $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tsan/obj/%.o: %.c $(LIB_HDR) $(INT_HDR) | deps-check
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) -c $< -o $@

$(BUILD)/tsan/libawaitkit.a: $(TSAN_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tsan/runner: $(TEST_SRC) $(TEST_HDR) $(BUILD)/tsan/libawaitkit.a | deps-check
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(AK_CFLAGS) $(TSAN_FLAGS) $(CHECK_CFLAGS) -Icore -o $@ \
		$(TEST_SRC) $(BUILD)/tsan/libawaitkit.a $(CHECK_LIBS) $(LDLIBS)

unit: $(BUILD)/tests/runner
	@rm -f $(BUILD)/tests/counts
	@$(BUILD)/tests/runner unit $(BUILD)/tests/counts

tsan: $(BUILD)/tsan/runner
	@rm -f $(BUILD)/tsan/counts
	@$(TSAN_ENV) $(BUILD)/tsan/runner tsan $(BUILD)/tsan/counts

# The tests run in both passes even when the first fails, so the summary
# is whole; the target fails if either did.
check: all deps-check lint
	@rc=0; \
	$(MAKE) --no-print-directory unit || rc=1; \
	$(MAKE) --no-print-directory tsan || rc=1; \
	sh scripts/total.sh $(BUILD)/tests/counts $(BUILD)/tsan/counts || rc=1; \
	exit $$rc

# ---- lint --------------------------------------------------------------------

lint: lint-man lint-headers lint-symbols

lint-man: | deps-check
	@sh scripts/man-check.sh
	@if [ -x ../shared/tools/man-coverage ]; then ../shared/tools/man-coverage . | tail -n 1; fi

lint-headers: | deps-check
	@sh scripts/header-check.sh "$(CC)" "$(CXX)"

lint-symbols: $(BUILD)/$(SONAME)
	@sh scripts/symbol-check.sh $(SHARED) awaitkit.map

# ---- demo --------------------------------------------------------------------

$(BUILD)/examples/demo: examples/demo.c $(LIB_HDR) $(BUILD)/$(SONAME)
	@mkdir -p $(dir $@)
	$(CC) $(AK_CFLAGS) $(CFLAGS) -o $@ $< -L$(BUILD) -lawaitkit \
		-Wl,-rpath,'$$ORIGIN/..' $(LDLIBS)

demo: $(BUILD)/examples/demo
	@$(BUILD)/examples/demo

clean:
	rm -rf $(BUILD)
