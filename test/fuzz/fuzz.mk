# Fuzzing and a UBSan build of the allocator. Included by the top Makefile (after its variables:
# CXXFLAGS is used as it is there); every path is relative to the repository root.
#
#   make fuzz-build                 build the harnesses (clang++ -fsanitize=fuzzer)
#   make fuzz                       fuzz until stopped (Ctrl-C), on a working copy of the corpus
#   make fuzz-smoke [FUZZ_SECONDS=30]  fuzz for FUZZ_SECONDS s; non-zero exit on any failure
#   make ubsan-lib                  build/ubsan/libft_malloc.a, the allocator with UBSan
#   make ubsan-demo                 test/demo.c linked with it, run
#   make fuzz-clean                 remove test/fuzz/build/* and build/ubsan
#
# Knobs:
#   FUZZ_LIB=cov (default)  harness linked with a copy of the allocator built by clang with
#                           -fsanitize=fuzzer-no-link: libFuzzer sees the allocator's branches,
#                           not only the harness's;
#   FUZZ_LIB=plain          harness linked with ./libft_malloc.a exactly as users link it;
#   FUZZ_LIB=ubsan          harness linked with build/ubsan/libft_malloc.a (-fsanitize=undefined).
#   FUZZ_ENV='FT_MALLOC_CHECK=1'   environment of the fuzzer (the debug modes, FT_MALLOC_TCACHE=0).
#                           The harness checks that FT_MALLOC_CHECK/SCRIBBLE/GUARD are in effect
#                           and stops if not: a `clang -fsanitize=fuzzer` binary allocates from the
#                           UBSan runtime's .preinit_array, before libc sets environ up, and ft_malloc
#                           then reads no environment (test/fuzz/crashes/preinit_env.c).
#   FUZZ_ARGS='-jobs=4'            more libFuzzer flags.
# The committed corpus test/fuzz/corpus/ is only read: new inputs go to test/fuzz/build/corpus/
# (fuzz) or test/fuzz/build/smoke_corpus/ (fuzz-smoke, a fresh copy each run); crash files to
# test/fuzz/build/. Regenerate the seeds with `python3 test/fuzz/make_seeds.py`.

FUZZ_DIR      := test/fuzz
FUZZ_BUILD    := $(FUZZ_DIR)/build
FUZZ_CXX      ?= clang++
FUZZ_SECONDS  ?= 30
FUZZ_LIB      ?= cov
FUZZ_ENV      ?=
FUZZ_ARGS     ?=
FUZZ_RUN_ARGS  = -max_len=4096 -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_ARGS)
FUZZ_HARNESS_FLAGS := -std=c++20 -O1 -g -fsanitize=fuzzer -Iinc

# The allocator's sources, as the top Makefile picks them.
FUZZ_LIB_SRCS := $(LIB_SRCS)

FUZZ_COV_DIR  := $(FUZZ_BUILD)/cov
FUZZ_COV_OBJS := $(FUZZ_LIB_SRCS:%.cpp=$(FUZZ_COV_DIR)/%.o)
UBSAN_DIR     := build/ubsan
UBSAN_OBJS    := $(FUZZ_LIB_SRCS:%.cpp=$(UBSAN_DIR)/%.o)
UBSAN_FLAGS   := -fsanitize=undefined -fno-sanitize-recover=all

# The harness: fuzz_heap.cpp (the ops, the shadow model, the entry points), fuzz_pattern.cpp and
# fuzz_dump.cpp; fuzz_heap.h says what each holds.
FUZZ_SRCS      := $(FUZZ_DIR)/fuzz_heap.cpp $(FUZZ_DIR)/fuzz_pattern.cpp $(FUZZ_DIR)/fuzz_dump.cpp
FUZZ_DEPS      := $(FUZZ_SRCS) $(FUZZ_DIR)/fuzz_heap.h inc/ft_malloc.h

FUZZ_BIN_plain := $(FUZZ_BUILD)/fuzz_heap
FUZZ_BIN_cov   := $(FUZZ_BUILD)/fuzz_heap_cov
FUZZ_BIN_ubsan := $(FUZZ_BUILD)/fuzz_heap_ubsan
FUZZ_BIN       = $(FUZZ_BIN_$(FUZZ_LIB))

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-clean ubsan-lib ubsan-demo

fuzz-build: $(FUZZ_BIN_plain) $(FUZZ_BIN_cov)

# The harness linked exactly as the README says programs link: -L. -lft_malloc.
$(FUZZ_BIN_plain): $(FUZZ_DEPS) libft_malloc.a
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_HARNESS_FLAGS) $(FUZZ_SRCS) -L. -lft_malloc -o $@

$(FUZZ_BIN_cov): $(FUZZ_DEPS) $(FUZZ_COV_DIR)/libft_malloc.a
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_HARNESS_FLAGS) $(FUZZ_SRCS) -L$(FUZZ_COV_DIR) -lft_malloc -o $@

$(FUZZ_BIN_ubsan): $(FUZZ_DEPS) $(UBSAN_DIR)/libft_malloc.a
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_HARNESS_FLAGS) $(UBSAN_FLAGS) $(FUZZ_SRCS) -L$(UBSAN_DIR) -lft_malloc -o $@

# The allocator with coverage instrumentation, built by clang (the flags of the top Makefile).
# The dumps are left out of it: their per-byte formatting of the whole process heap, traced,
# would cost more than the rest of a run and guide nothing.
FUZZ_COV_FLAGS = -fsanitize=fuzzer-no-link
$(FUZZ_COV_DIR)/show_alloc_mem/%.o $(FUZZ_COV_DIR)/src/line_writer.o: FUZZ_COV_FLAGS =
$(FUZZ_COV_OBJS): $(FUZZ_COV_DIR)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(CXXFLAGS) -Wno-unknown-warning-option $(FUZZ_COV_FLAGS) -MMD -MP -c $< -o $@

# The same steps as the top Makefile: one relocatable object, internal symbols local, an archive.
$(FUZZ_COV_DIR)/libft_malloc.a: $(FUZZ_COV_OBJS)
	$(LD) -r -o $(FUZZ_COV_DIR)/ft_malloc.o $^
	objcopy --localize-hidden $(FUZZ_COV_DIR)/ft_malloc.o
	rm -f $@
	ar rcs $@ $(FUZZ_COV_DIR)/ft_malloc.o

fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_BUILD)/corpus
	env $(FUZZ_ENV) $(FUZZ_BIN) $(FUZZ_RUN_ARGS) $(FUZZ_BUILD)/corpus $(FUZZ_DIR)/corpus

# A fresh copy of the committed corpus each time: libFuzzer adds to its first corpus folder.
fuzz-smoke: $(FUZZ_BIN)
	rm -rf $(FUZZ_BUILD)/smoke_corpus
	mkdir -p $(FUZZ_BUILD)/smoke_corpus
	cp $(FUZZ_DIR)/corpus/* $(FUZZ_BUILD)/smoke_corpus/
	env $(FUZZ_ENV) $(FUZZ_BIN) $(FUZZ_RUN_ARGS) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(FUZZ_BUILD)/smoke_corpus

# ---- UBSan --------------------------------------------------------------------------------
# Link with: gcc prog.c -Iinc -Lbuild/ubsan -lft_malloc -fsanitize=undefined
ubsan-lib: $(UBSAN_DIR)/libft_malloc.a

$(UBSAN_OBJS): $(UBSAN_DIR)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(UBSAN_FLAGS) -MMD -MP -c $< -o $@

$(UBSAN_DIR)/libft_malloc.a: $(UBSAN_OBJS)
	$(LD) -r -o $(UBSAN_DIR)/ft_malloc.o $^
	objcopy --localize-hidden $(UBSAN_DIR)/ft_malloc.o
	rm -f $@
	ar rcs $@ $(UBSAN_DIR)/ft_malloc.o

ubsan-demo: $(UBSAN_DIR)/libft_malloc.a
	@mkdir -p $(FUZZ_BUILD)
	$(CC) test/demo.c -Iinc -L$(UBSAN_DIR) -lft_malloc -fsanitize=undefined -o $(FUZZ_BUILD)/ubsan_demo
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(FUZZ_BUILD)/ubsan_demo

fuzz-clean:
	find $(FUZZ_BUILD) -mindepth 1 ! -name .gitignore -delete
	rm -rf $(UBSAN_DIR)

-include $(FUZZ_COV_OBJS:.o=.d) $(UBSAN_OBJS:.o=.d)
