# The test programs of test/run_tests.py: how each one is built. Included by the top Makefile; every
# path is relative to the repository root. The runner asks make for the files the selected tests
# need, in one call (`make -s -k -j2 test/build/api test/build/dump ...`, see test/runner/core.py),
# then runs the tests; so a rebuilt library relinks the programs linked with it, and nothing else.
#
#   make test-progs        every test program
#   make test-progs-ref    the --ref-glibc builds (test/build/ref/)
#
# Where the programs go:
#   test/build/NAME        linked with -L. -lft_malloc (as users link it), against build/inject's,
#                          build/ubsan's or build/debug's archive, or without ft_malloc (for
#                          LD_PRELOAD, for ft_heap, or to run under glibc)
#   test/build/ref/NAME    (run_tests.py --ref-glibc) the programs of the portable tests, built with
#                          -DFT_TEST_REF_GLIBC and without ft_malloc: the tests run against glibc's
#                          malloc, which checks the tests themselves
#   test/build/libNAME.so  shared objects (preloaded beside the library)

# Never let this file's first rule become the default goal, wherever it is included.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

TEST_BUILD    := test/build
TEST_CC       ?= gcc
TEST_CXX      ?= g++
# -fno-builtin (C only): keep the compiler from reasoning about malloc's results.
TEST_CFLAGS   := -Iinc -O2 -g -Wall -Wextra -fno-builtin
TEST_CXXFLAGS := -Iinc -O2 -g -Wall -Wextra
TEST_UBSAN_FLAGS := -fsanitize=undefined -fno-sanitize-recover=all
# Every program depends on these: a changed header rebuilds them all.
TEST_HEADERS  := test/common.h $(wildcard inc/*.h)
# The archives the programs link, besides ./libft_malloc.a (-L. -lft_malloc).
TEST_INJECT_A := build/inject/libft_malloc.a
TEST_UBSAN_A  := build/ubsan/libft_malloc.a

# ---- the programs ---------------------------------------------------------------------------------
# Linked with -L. -lft_malloc.
TEST_FT     := api api_static bad_input dump zones stress threads startup link_min link_libc link_cxx \
               debug_modes faults reports leaks leaks_rdynamic fork_safety fork_safety_static \
               glibc_api glibc_api_static
# The same programs against the allocator built with UBSan (undefined behaviour aborts the case).
TEST_UBSAN  := api_ubsan dump_ubsan stress_ubsan threads_ubsan debug_modes_ubsan
# Against the fault-injection archive of `make inject` (ft_malloc_fail_maps(), see src/os.h).
TEST_INJECT := faults_inject
# The heap tools' programs (test/tools/): run under ft_heap, which preloads the library.
TEST_TOOLS  := tools_known_heap tools_trace_calls tools_trace_fork tools_trace_threads tools_peak \
               tools_signal_every tools_profile_heap
# Without ft_malloc: run with LD_PRELOAD of the .so, under ft_heap, or under glibc.
TEST_PLAIN  := startup_plain hello_plain probe_plain dlopen_plain resident_pages_plain random_frees_plain bad_input_plain leaks_glibc \
               fork_safety_plain glibc_api_plain api_plain $(TEST_TOOLS)
# Shared objects, test/build/libNAME.so.
TEST_SHARED := preload_ctor

# Also built for --ref-glibc: the programs of the tests that run there (ref_ok in test/runner/).
TEST_REF    := api stress threads startup link_cxx
# $(call test_bins,NAMES): the files of these programs, with their --ref-glibc builds.
test_bins = $(foreach n,$(1),$(TEST_BUILD)/$(n) $(if $(filter $(n),$(TEST_REF)),$(TEST_BUILD)/ref/$(n)))

# The sources of each program; where there are several, the first holds the case table (run_tests.py
# reads its CASE lines for the names of the tests).
$(call test_bins,api api_static api_ubsan api_plain api_debug): test/api.c test/api_align.c test/api.h
$(call test_bins,bad_input bad_input_plain bad_input_debug): test/bad_input.c
$(call test_bins,bad_input bad_input_plain bad_input_debug): private TEST_LIBS := -lpthread
$(call test_bins,dump dump_ubsan dump_debug): test/dump.c
$(call test_bins,zones zones_debug): test/zones.c
$(call test_bins,stress stress_ubsan stress_debug): test/stress.c
$(call test_bins,threads threads_ubsan threads_debug): test/threads.c test/threads_fork.c test/threads.h
$(call test_bins,startup startup_plain): test/startup.c
$(call test_bins,link_min): test/link_min.c
$(call test_bins,link_libc): test/link_libc.c
$(call test_bins,link_cxx): test/link_cxx.cpp
$(call test_bins,debug_modes debug_modes_ubsan): test/debug_modes.c
$(call test_bins,faults faults_inject): test/faults.c test/faults_inject.c test/faults.h
$(call test_bins,reports): test/reports.c
$(call test_bins,leaks leaks_rdynamic leaks_glibc): test/leaks.c
$(call test_bins,fork_safety fork_safety_static fork_safety_plain fork_safety_debug): test/fork_safety.c
$(call test_bins,glibc_api glibc_api_static glibc_api_plain): test/glibc_api.c
$(call test_bins,hello_plain): test/preload/hello.c
$(call test_bins,probe_plain): test/preload/probe.c
$(call test_bins,dlopen_plain): test/preload/dlopen.c
$(call test_bins,resident_pages_plain): test/preload/resident_pages.c
$(call test_bins,random_frees_plain): test/preload/random_frees.c
$(call test_bins,tools_known_heap): test/tools/known_heap.c test/tools/say.h
$(call test_bins,tools_trace_calls): test/tools/trace_calls.c test/tools/say.h
$(call test_bins,tools_trace_fork): test/tools/trace_fork.c test/tools/say.h
$(call test_bins,tools_trace_threads): test/tools/trace_threads.c test/tools/say.h
$(call test_bins,tools_peak): test/tools/peak.c test/tools/say.h
$(call test_bins,tools_signal_every): test/tools/signal_every.c test/tools/say.h
$(call test_bins,tools_profile_heap): test/tools/profile_heap.c test/tools/say.h
$(TEST_BUILD)/libpreload_ctor.so: test/preload_ctor.c

# Flags of some programs (private: not passed on to the library's rules).
$(call test_bins,threads threads_ubsan threads_debug debug_modes debug_modes_ubsan faults faults_inject reports \
                 fork_safety fork_safety_static fork_safety_plain fork_safety_debug dlopen_plain resident_pages_plain \
                 tools_trace_threads tools_peak): private TEST_LIBS := -lpthread
# gcc -static ... -lft_malloc: everything the programs check holds in a static program too.
$(call test_bins,api_static fork_safety_static glibc_api_static): private TEST_EXTRA := -static
# Plain programs that call ft_malloc's own functions (show_alloc_mem, ft_malloc_check, ...): found at
# run time in the preloaded library (test/common.h).
$(call test_bins,api_plain fork_safety_plain): private TEST_EXTRA := -DFT_TEST_PRELOAD
# -rdynamic: the leak reports name the program's functions (main among them).
$(call test_bins,leaks_rdynamic $(TEST_TOOLS)): private TEST_EXTRA := -rdynamic
# The leak program under glibc's malloc (valgrind counts its leaks): ft_malloc-only calls stubbed.
$(TEST_BUILD)/leaks_glibc: private TEST_EXTRA := -DFT_TEST_REF_GLIBC
TEST_EXTRA ?=
TEST_LIBS  ?=

# ---- remote frees misused across threads (test/remote_misuse.c, test/runner/remote_misuse.py) ----
# Linked with -lft_malloc, and plain for LD_PRELOAD (the dump calls found at run time).
TEST_FT    += remote_misuse
TEST_PLAIN += remote_misuse_plain
$(call test_bins,remote_misuse remote_misuse_plain): test/remote_misuse.c test/remote_ok.c \
    test/remote_actors.c test/remote_misuse.h
$(call test_bins,remote_misuse remote_misuse_plain): private TEST_LIBS := -lpthread
$(TEST_BUILD)/remote_misuse_plain: private TEST_EXTRA := -DFT_TEST_REMOTE_PRELOAD

# Two threads freeing one block at the same instant, under FT_MALLOC_CHECK=1 (test/free_race.c).
TEST_FT += free_race
$(call test_bins,free_race): test/free_race.c
$(call test_bins,free_race): private TEST_LIBS := -lpthread

# The 42 subject's page-reclaim programs (test/reclaim/, test/runner/page_reclaim.py): linked with
# -lft_malloc and plain for LD_PRELOAD. test0 calls no allocator function, so -lft_malloc alone
# would leave the library out of it: -u malloc links it in, as preloading loads it into the plain
# test0, so that both scales count the pages of the allocations, not the library's own start-up.
TEST_FT    += reclaim_test0 reclaim_test1 reclaim_test2
TEST_PLAIN += reclaim_test0_plain reclaim_test1_plain reclaim_test2_plain
$(call test_bins,reclaim_test0 reclaim_test0_plain): test/reclaim/test0.c
$(call test_bins,reclaim_test1 reclaim_test1_plain): test/reclaim/test1.c
$(call test_bins,reclaim_test2 reclaim_test2_plain): test/reclaim/test2.c
$(call test_bins,reclaim_test0): private TEST_EXTRA := -Wl,-u,malloc

# ---- the cache of freed LARGE mappings (test/large_cache.c, test/runner/large_cache.py) --------------
TEST_FT += large_cache
$(call test_bins,large_cache large_cache_debug): test/large_cache.c

# ---- the debug build (make debug: the zone invariants asserted; test/runner/internals.py) -----------
# The suites once more, linked with build/debug/libft_malloc.a: an assertion that fails aborts the case.
TEST_DEBUG_A := build/debug/libft_malloc.a
TEST_DEBUG   := api_debug bad_input_debug dump_debug zones_debug stress_debug threads_debug \
                fork_safety_debug large_cache_debug remote_misuse_debug
$(call test_bins,remote_misuse_debug): test/remote_misuse.c test/remote_ok.c test/remote_actors.c \
    test/remote_misuse.h
$(call test_bins,remote_misuse_debug): private TEST_LIBS := -lpthread

# ---- the rules ------------------------------------------------------------------------------------
TEST_FT_BINS     := $(TEST_FT:%=$(TEST_BUILD)/%)
TEST_UBSAN_BINS  := $(TEST_UBSAN:%=$(TEST_BUILD)/%)
TEST_INJECT_BINS := $(TEST_INJECT:%=$(TEST_BUILD)/%)
TEST_DEBUG_BINS  := $(TEST_DEBUG:%=$(TEST_BUILD)/%)
TEST_PLAIN_BINS  := $(TEST_PLAIN:%=$(TEST_BUILD)/%)
TEST_SHARED_BINS := $(TEST_SHARED:%=$(TEST_BUILD)/lib%.so)
TEST_REF_BINS    := $(TEST_REF:%=$(TEST_BUILD)/ref/%)

# C++ sources are built by g++, without -fno-builtin; the sources are the .c/.cpp prerequisites.
test_cc   = $(if $(filter %.cpp,$^),$(TEST_CXX) $(TEST_CXXFLAGS),$(TEST_CC) $(TEST_CFLAGS))
test_srcs = $(filter %.c %.cpp,$^)

$(TEST_FT_BINS): $(TEST_BUILD)/%: libft_malloc.a $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(test_cc) $(TEST_EXTRA) -o $@ $(test_srcs) -L. -lft_malloc $(TEST_LIBS)

# build/ubsan/libft_malloc.a: `make ubsan-lib` (test/fuzz/fuzz.mk).
$(TEST_UBSAN_BINS): $(TEST_BUILD)/%: $(TEST_UBSAN_A) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(test_cc) $(TEST_EXTRA) -o $@ $(test_srcs) $(TEST_UBSAN_A) $(TEST_UBSAN_FLAGS) $(TEST_LIBS)

# build/inject/libft_malloc.a is the top Makefile's `make inject` (a make of its own, with its own
# BUILD and flags: this make has no rule for the file). It runs every time and does nothing when the
# archive is up to date; the stamp takes the archive's time, so that only a rebuilt archive relinks.
TEST_INJECT_STAMP := $(TEST_BUILD)/.inject_lib
$(TEST_INJECT_STAMP): test-force
	+$(MAKE) inject
	@mkdir -p $(@D)
	touch -r $(TEST_INJECT_A) $@

$(TEST_INJECT_BINS): $(TEST_BUILD)/%: $(TEST_INJECT_STAMP) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(test_cc) $(TEST_EXTRA) -o $@ $(test_srcs) $(TEST_INJECT_A) $(TEST_LIBS)

# build/debug/libft_malloc.a is the top Makefile's `make debug`, run the same way as `make inject`.
TEST_DEBUG_STAMP := $(TEST_BUILD)/.debug_lib
$(TEST_DEBUG_STAMP): test-force
	+$(MAKE) debug
	@mkdir -p $(@D)
	touch -r $(TEST_DEBUG_A) $@

$(TEST_DEBUG_BINS): $(TEST_BUILD)/%: $(TEST_DEBUG_STAMP) $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(test_cc) $(TEST_EXTRA) -o $@ $(test_srcs) $(TEST_DEBUG_A) $(TEST_LIBS)

# Not linked with the library, but run with it (LD_PRELOAD, ft_heap): it must be there first; a rebuilt
# one does not relink them (order-only).
$(TEST_PLAIN_BINS): $(TEST_BUILD)/%: $(TEST_HEADERS) | $(NAME_SO)
	@mkdir -p $(@D)
	$(test_cc) $(TEST_EXTRA) -o $@ $(test_srcs) $(TEST_LIBS)
$(TEST_TOOLS:%=$(TEST_BUILD)/%): | $(FT_HEAP)

$(TEST_SHARED_BINS): $(TEST_BUILD)/lib%.so: $(TEST_HEADERS) | $(NAME_SO)
	@mkdir -p $(@D)
	$(test_cc) -shared -fPIC $(TEST_EXTRA) -o $@ $(test_srcs)

# --ref-glibc: no ft_malloc (nor the UBSan runtime) at all.
$(TEST_REF_BINS): $(TEST_BUILD)/ref/%: $(TEST_HEADERS)
	@mkdir -p $(@D)
	$(test_cc) -DFT_TEST_REF_GLIBC $(TEST_EXTRA) -o $@ $(test_srcs) $(TEST_LIBS)

# ---- valgrind/*: test/vg_prog.c against the allocator built with `make VALGRIND=1` -----------------
# Built in a copy of the repository (never here: the other tests use this library meanwhile): the
# files git knows outside test/, copied with their times at every make, so that the copy's own make
# rebuilds only what changed; files gone from here are gone from the copy.
TEST_VG_DIR := $(TEST_BUILD)/valgrind_repo
$(TEST_VG_DIR)/libft_malloc.a: test-force
	@mkdir -p $(TEST_VG_DIR)
	find $(TEST_VG_DIR) -mindepth 1 -maxdepth 1 ! -name build ! -name libft_malloc.a ! -name vg_prog \
	    -exec rm -rf {} +
	git ls-files --cached --others --exclude-standard > $(TEST_BUILD)/.valgrind_files
	{ cat $(TEST_BUILD)/.valgrind_files; echo Makefile; } | grep -v '^test/' | sort -u | \
	    while IFS= read -r f; do \
	        if [ -f "$$f" ]; then mkdir -p "$(TEST_VG_DIR)/$$(dirname "$$f")" && \
	            cp -p "$$f" "$(TEST_VG_DIR)/$$f" || exit 1; fi; \
	    done
	+$(MAKE) -C $(TEST_VG_DIR) VALGRIND=1 libft_malloc.a

$(TEST_VG_DIR)/vg_prog: test/vg_prog.c $(TEST_HEADERS) $(TEST_VG_DIR)/libft_malloc.a
	$(TEST_CC) -Iinc -O2 -g -fno-builtin -o $@ test/vg_prog.c $(TEST_VG_DIR)/libft_malloc.a

# ---- build/install_and_pkg_config -----------------------------------------------------------------
# A program built against a copy installed by `make install DESTDIR=...`, with the flags of the
# installed pkg-config file, as users build theirs: the test gives the folder and the flags. Not
# among test-progs.
TEST_INSTALL_DIR   ?= $(TEST_BUILD)/install
TEST_INSTALL_FLAGS ?=
$(TEST_INSTALL_DIR)/probe: test/install_probe.c
	@mkdir -p $(@D)
	$(TEST_CC) $< -o $@ $(TEST_INSTALL_FLAGS)

# ---------------------------------------------------------------------------------------------------
.PHONY: test-progs test-progs-ref test-force

test-progs: $(TEST_FT_BINS) $(TEST_UBSAN_BINS) $(TEST_INJECT_BINS) $(TEST_DEBUG_BINS) $(TEST_PLAIN_BINS) $(TEST_SHARED_BINS) \
            $(TEST_VG_DIR)/vg_prog

test-progs-ref: $(TEST_REF_BINS)

test-force:
