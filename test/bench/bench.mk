# Benchmark of ft_malloc against glibc, jemalloc, mimalloc and tcmalloc (test/bench/bench.py).
# Included by the top Makefile; paths are relative to the repository root.
#   make bench-deps            install the peer allocators (Debian packages) and valgrind
#   make bench                 time every workload under every allocator; THREADS=N, QUICK=1
#   make bench-ir              instructions per operation under callgrind (single-threaded)

# Never let this file's first rule become the default goal, wherever it is included.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

BENCH_DIR   := test/bench
BENCH_BUILD := $(BENCH_DIR)/build
BENCH_CC    ?= gcc
BENCH_PY    ?= python3
BENCH_CFLAGS := -O2 -g -Wall -Wextra -pthread
BENCH_PROGS := pairs churn large_churn larson larson_orig server prodcons cache_scratch \
               realloc_grow tree rss_per_block frag which_malloc bench_exec
BENCH_BINS  := $(BENCH_PROGS:%=$(BENCH_BUILD)/%)
BENCH_PEERS := libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 valgrind
THREADS     ?= 2
# Recursive (=): NAME_SO may be defined after this file is read.
BENCH_ARGS   = $(if $(NAME_SO),--so ./$(NAME_SO)) --threads $(THREADS) \
               $(if $(filter-out 0,$(QUICK)),--quick)

.PHONY: bench bench-ir bench-deps bench-progs

$(BENCH_BUILD)/%: $(BENCH_DIR)/%.c $(BENCH_DIR)/bench_common.h
	@mkdir -p $(BENCH_BUILD)
	$(BENCH_CC) $(BENCH_CFLAGS) $< -o $@ -lm -ldl

bench-progs: $(BENCH_BINS)

bench: all bench-progs
	$(BENCH_PY) $(BENCH_DIR)/bench.py $(BENCH_ARGS)

bench-ir: all bench-progs lockhold
	$(BENCH_PY) $(BENCH_DIR)/bench.py --ir $(BENCH_ARGS)

bench-deps:
	@if ! command -v apt-get >/dev/null 2>&1; then \
		echo "bench-deps: no apt-get here; install jemalloc, mimalloc and tcmalloc by hand" \
		     "(bench.py skips the peers it cannot find)"; \
	else \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		APT="$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get"; \
		$$APT install -y $(BENCH_PEERS) || { $$APT update && $$APT install -y $(BENCH_PEERS); }; \
	fi
