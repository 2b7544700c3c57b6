#!/usr/bin/env python3
"""ft_malloc test suite.

    python3 test/run_tests.py [PATTERN...]     run every test (or those whose name matches a PATTERN:
                                               a substring, or a glob with * ? [ ])
    python3 test/run_tests.py --list [PATTERN] list the test names
    python3 test/run_tests.py -v ...           also print the log of each failed test
    python3 test/run_tests.py --ref-glibc ...  build the portable tests WITHOUT ft_malloc and run them
                                               against glibc's malloc (checks the tests themselves)
    python3 test/run_tests.py --long[=N] ...   the load tests N times longer (default 20: minutes;
                                               FT_TEST_SCALE=N for the test programs), limits likewise

Run from anywhere; works in the repository root (where `make` put libft_malloc.a and
libft_malloc_$(uname -m)_$(uname -s).so). Test programs are built into test/build/ by make (their rules
are test/tests.mk), in one call for all the selected tests, before they run. Every test case runs
in its own process; the output is one line per test, PASS or FAIL with a short reason, then the line
`N passed, M failed`. Exit status 1 if anything failed. Logs of failed tests: test/build/logs/.
"""

import sys

from runner.driver import main  # the tests and the driver: test/runner/

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
