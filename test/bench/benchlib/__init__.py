"""The modules of test/bench/bench.py (make bench, make bench-ir)."""
