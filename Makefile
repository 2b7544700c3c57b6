# ft_malloc: `make` builds libft_malloc.a (link with -lft_malloc) and libft_malloc_$(HOSTTYPE).so
# (for LD_PRELOAD). No file named libft_malloc.so is ever left here: the linker would prefer it to
# the archive and the program would then need LD_LIBRARY_PATH.

ifeq ($(HOSTTYPE),)
HOSTTYPE := $(shell uname -m)_$(shell uname -s)
endif

.DEFAULT_GOAL := all

NAME_A   := libft_malloc.a
NAME_SO  := libft_malloc_$(HOSTTYPE).so
FT_HEAP  := ft_heap
BUILD    := build

CXX      ?= g++
CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=

# No C++ runtime: the archive must link into C programs with the C driver.
CXXFLAGS_BASE := -std=c++20 -fPIC -fno-exceptions -fno-rtti -fno-threadsafe-statics \
                 -fvisibility=hidden -fvisibility-inlines-hidden \
                 -fno-semantic-interposition -fno-plt \
                 -Wall -Wextra -Wshadow -Iinc -Isrc -I.
OPT      ?= -O2 -g
CXXFLAGS += $(CXXFLAGS_BASE) $(OPT) $(EXTRA_FLAGS)

# make VALGRIND=1: announce blocks to memcheck (valgrind/memcheck.h, Debian's valgrind package).
ifeq ($(VALGRIND),1)
CXXFLAGS += -DFT_VALGRIND=1
endif

# Objects depend on the flags too: `make VALGRIND=1` after `make` rebuilds everything.
FLAGS_STAMP := $(BUILD)/.flags
$(shell mkdir -p $(BUILD); echo '$(CXX) $(CXXFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(CXX) $(CXXFLAGS)' > $(FLAGS_STAMP))

# The allocator: one folder per layer under src/ (src/README.md), and the dumps in show_alloc_mem/.
# Every include names its folder ("zone/zone.h", "show_alloc_mem/dump.h"): -Isrc -I.
# In the order of the code's heat: the fast paths' and the slow paths' files first, the reports
# last. What programs run after start-up is marked FT_HOT_TEXT and linked ahead of it all
# (src/api/hot_text.ld).
HOT_LAYERS := api tcache zone heap large os base
LIB_SRCS := $(foreach l,$(HOT_LAYERS),$(wildcard src/$(l)/*.cpp)) \
            $(filter-out $(foreach l,$(HOT_LAYERS),src/$(l)/%),$(wildcard src/*/*.cpp)) \
            $(wildcard show_alloc_mem/*.cpp)
SRCS := $(LIB_SRCS)
OBJS := $(SRCS:%.cpp=$(BUILD)/%.o)
DEPS := $(OBJS:.o=.d)

.PHONY: all clean fclean re install demo test test-deps test-long check-symbols check-layers inject debug lockhold

# The test build with fault injection (ft_malloc_fail_maps(), see src/os/mapping.h): never installed.
inject:
	$(MAKE) BUILD=build/inject EXTRA_FLAGS=-DFT_FAULT_INJECTION NAME_A=build/inject/libft_malloc.a \
	  NAME_SO=build/inject/libft_malloc_inject.so build/inject/libft_malloc.a

# The build that tells callgrind to count only while the heap lock is held (make bench-ir reads
# how long each acquisition holds it): build/lockhold/libft_malloc_lockhold.so, never installed.
lockhold:
	$(MAKE) BUILD=build/lockhold EXTRA_FLAGS=-DFT_MEASURE_LOCK_HOLD NAME_A=build/lockhold/libft_malloc.a \
	  NAME_SO=build/lockhold/libft_malloc_lockhold.so build/lockhold/libft_malloc_lockhold.so

# The debug build: the zone invariants asserted (FT_ASSERT, src/base/debug_assert.h) on the paths
# that change chunk state. build/debug/libft_malloc.a; make test runs the test programs against it.
debug:
	$(MAKE) BUILD=build/debug EXTRA_FLAGS=-DFT_DEBUG=1 NAME_A=build/debug/libft_malloc.a \
	  NAME_SO=build/debug/libft_malloc_debug.so build/debug/libft_malloc.a build/debug/libft_malloc_debug.so

all: $(NAME_A) $(NAME_SO) $(FT_HEAP)

$(BUILD)/%.o: %.cpp Makefile $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

# One relocatable object holds the whole allocator: references between our files are resolved
# inside it and our internal symbols made local, so `nm -u` on the archive names only libc, no
# internal name can clash with the program's, and linking malloc brings every entry point.
$(BUILD)/ft_malloc.o: $(BUILD)/ft_malloc_internal.o
	objcopy --localize-hidden $< $@

# The same object before its internal names are made local: the component tests
# (test/component/) link it to reach the structures under test.
$(BUILD)/ft_malloc_internal.o: $(OBJS)
	$(LD) -r -o $@ $^

$(NAME_A): $(BUILD)/ft_malloc.o
	rm -f $@
	ar rcs $@ $^

# Linked by the C driver so that nothing from libstdc++ is pulled in; libgcc's unwinder (the leak
# reports') is linked in statically, so preloading adds no library to the process. The library
# declares it weak (src/debug/leaks.cpp: a C program linked with the archive does not load it at
# start-up), and a weak reference pulls nothing from an archive: -u asks for it here. -fini: the
# C runtime's empty _fini lies past the end of our text, and calling it at exit faulted in a 64
# KiB window of cold code (src/api/startup.cpp: ft_library_fini). max-page-size: each segment
# starts on a 64 KiB boundary, and ld.so loads the library 64 KiB-aligned, so that the hot text
# (44 KiB) lies in one 64 KiB block of the file: the kernel maps a whole large folio of the page
# cache when a fault's window touches one that lies wholly inside the mapping, and when .text grew
# past a 64 KiB boundary of the file (0x1c000 bytes from 0x3000), every preloaded program had all
# of it resident, 29 pages for 16. hot_text.ld: the core text first, then the warm, each part
# after the core a mapping apart once started (src/os/fault_around.h): 5 pages of code resident
# in a program that only mallocs, callocs and frees, 11 in one that runs the warm text too.
# pack-relative-relocs (DT_RELR, glibc 2.36 and binutils 2.38 on): the 181 relative relocations
# take 56 bytes instead of 4.3 KiB, and the headers ld.so reads (symbols, relocations) 2 pages
# instead of 3 (the pairs program's peak 1540 -> 1536 KiB). Only where the toolchain makes a
# library that loads: where the flag is unknown, or the libc lacks it, the link goes without
# (probed when the library is linked, not at every make).
RELR_LDFLAGS = $(shell d=$$(mktemp -d) && printf 'int x, *p = &x;\n' > $$d/r.c && \
	$(CC) -shared -fPIC -Wl,-z,pack-relative-relocs -o $$d/r.so $$d/r.c >/dev/null 2>&1 && \
	printf '\043include <dlfcn.h>\nint main(void) { return !dlopen("%s/r.so", RTLD_NOW); }\n' "$$d" > $$d/m.c && \
	$(CC) -o $$d/m $$d/m.c -ldl >/dev/null 2>&1 && $$d/m && echo -Wl,-z,pack-relative-relocs; rm -rf $$d)
$(NAME_SO): $(BUILD)/ft_malloc.o src/api/hot_text.ld
	$(CC) -shared -static-libgcc -o $@ $(BUILD)/ft_malloc.o -Wl,-z,now -Wl,--no-undefined \
	  -Wl,-u,_Unwind_Backtrace -Wl,-u,_Unwind_GetIP -Wl,-fini=ft_library_fini -Wl,-z,max-page-size=0x10000 \
	  -Wl,-T,src/api/hot_text.ld $(RELR_LDFLAGS) -lpthread
	@rm -f libft_malloc.so

-include $(DEPS)

# ft_heap (tools/ft_heap/): runs a program with the library preloaded and its reports on, prints,
# replays and charts call logs, compares JSON snapshots, writes the --html page. A program of its
# own (stdio allowed), C-style C++ linked with the C driver like the library; it shares the call
# log's format with the library (src/debug/call_log_format.h).
FT_HEAP_SRCS := $(wildcard tools/ft_heap/*.cpp)
FT_HEAP_OBJS := $(FT_HEAP_SRCS:%.cpp=$(BUILD)/%.o)
FT_HEAP_CXXFLAGS := -std=c++20 -fno-exceptions -fno-rtti -Wall -Wextra -Wshadow -Iinc -Isrc -I. $(OPT) \
                    -DFT_HOSTTYPE='"$(HOSTTYPE)"'

$(BUILD)/tools/%.o: tools/%.cpp Makefile
	@mkdir -p $(dir $@)
	$(CXX) $(FT_HEAP_CXXFLAGS) -MMD -MP -c $< -o $@

$(FT_HEAP): $(FT_HEAP_OBJS)
	$(CC) -o $@ $^ -pthread

-include $(FT_HEAP_OBJS:.o=.d)

# The main job: a sample program linked exactly as users link it, showing its heap.
demo: all
	$(CC) -Iinc test/demo.c -L. -lft_malloc -o $(BUILD)/demo
	./$(BUILD)/demo

test: all check-layers test-deps
	python3 test/run_tests.py

# What the tests read the heap tools' outputs back with, from Debian's packages, installed when
# missing (COMMAND:PACKAGE): Chromium renders the --html page, google-pprof reads --pprof, ms_print
# --massif, xmllint the SVGs, man the man pages, heaptrack runs over the library.
TEST_DEPS := chromium:chromium google-pprof:google-perftools xmllint:libxml2-utils man:man-db \
             groff:groff-base ms_print:valgrind heaptrack:heaptrack heaptrack_print:heaptrack
test-deps:
	@missing=; for d in $(TEST_DEPS); do \
		command -v $${d%%:*} >/dev/null 2>&1 || missing="$$missing $${d#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "test-deps: installing$$missing"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		APT="$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get"; \
		$$APT install -y --no-install-recommends $$missing || \
			{ $$APT update && $$APT install -y --no-install-recommends $$missing; } || \
			echo "test-deps: could not install$$missing: the tests that need them will fail"; \
	fi

# Every include runs down the layers written in src/README.md (tools/check_layers.py).
check-layers:
	@python3 tools/check_layers.py

# The same, with the load tests scaled up to minutes (not in CI).
test-long: all
	python3 test/run_tests.py --long

check-symbols: all
	@! nm -u $(NAME_A) | grep -E ' (_Z|__cxa_|__gxx_|operator)' || (echo "archive needs the C++ runtime" && false)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(NAME_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(NAME_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 inc/ft_malloc.h $(DESTDIR)$(PREFIX)/include/
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(FT_HEAP) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 644 man/ft_heap.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/ft_malloc.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	sed -e 's|@PREFIX@|$(PREFIX)|g' ft_malloc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ft_malloc.pc

clean:
	rm -rf $(BUILD)

fclean: clean
	rm -f $(NAME_A) $(NAME_SO) libft_malloc.so $(FT_HEAP)

re: fclean
	$(MAKE) all

# The benchmark (make bench, bench-ir, bench-deps), the fuzzer (make fuzz, fuzz-smoke) and the
# test programs' builds (test/tests.mk).
-include test/bench/bench.mk
-include test/fuzz/fuzz.mk
-include test/tests.mk
-include test/component/component.mk
