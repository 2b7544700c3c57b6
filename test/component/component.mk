# Component tests (test/component/*_test.cpp): programs that include src/ headers and test one
# internal structure (the zone registry, the LARGE table, the zone layouts), linked against the
# allocator before its internal names are made local (build/ft_malloc_internal.o). Included by
# the top Makefile; run by test/run_tests.py (component/..., test/runner/internals.py).
#   make component-tests        build them into test/build/component/
#
# And test/build/component/zone_asserts: the debug build's assertions provoked
# (test/component/zone_asserts.cpp), built with -DFT_DEBUG=1 against build/debug/ft_malloc_internal.o
# (make debug, through test/tests.mk's stamp; run as debug_build/asserts/...).

ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

COMPONENT_DIR   := test/component
COMPONENT_BUILD := test/build/component
COMPONENT_TESTS := $(patsubst $(COMPONENT_DIR)/%.cpp,$(COMPONENT_BUILD)/%,$(wildcard $(COMPONENT_DIR)/*_test.cpp))

.PHONY: component-tests

component-tests: $(COMPONENT_TESTS) $(COMPONENT_BUILD)/zone_asserts

# The library's own flags (C++20 without the runtime), with the tests' helpers.
$(COMPONENT_BUILD)/%: $(COMPONENT_DIR)/%.cpp $(BUILD)/ft_malloc_internal.o test/common.h
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -Itest -MMD -MP $< $(BUILD)/ft_malloc_internal.o -o $@ -lpthread

# $(TEST_DEBUG_STAMP) (test/tests.mk, included before this file) runs `make debug`.
$(COMPONENT_BUILD)/zone_asserts: $(COMPONENT_DIR)/zone_asserts.cpp $(TEST_DEBUG_STAMP) test/common.h
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -DFT_DEBUG=1 -Itest -MMD -MP $< build/debug/ft_malloc_internal.o -o $@ -lpthread

-include $(COMPONENT_TESTS:%=%.d) $(COMPONENT_BUILD)/zone_asserts.d
