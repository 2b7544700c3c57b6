"""The modules of test/run_tests.py (the entry point): core.py holds the helpers, the test programs
(built by make: test/tests.mk) and the registry; each other module registers a group of tests when
imported, and driver.py imports them in their order (the order of the tests) and runs them.
"""
