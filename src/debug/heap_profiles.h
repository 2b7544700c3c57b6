// Heap profiles at exit, in the formats other tools read, from the stack table (stack_table.h)
// and the leak tracker's live blocks (leaks.h):
//   FT_MALLOC_FOLDED=FILE        live bytes per call stack, collapsed-stack format (flamegraph.pl,
//                                speedscope, inferno): "root;caller;...;allocator-caller BYTES"
//   FT_MALLOC_FOLDED_ALLOC=FILE  the same for every byte allocated during the run
//   FT_MALLOC_PPROF=FILE         gperftools' heap profile text format (google-pprof, Go's pprof)
// Written from inside the allocator: no stdio, no allocation; call without the heap lock.
#pragma once

namespace ft::profiles {

void write_folded(int fd);        // live bytes
void write_folded_alloc(int fd);  // allocated bytes
void write_pprof(int fd);

}  // namespace ft::profiles
