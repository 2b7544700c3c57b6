// Reports the environment asks for, without recompiling the program (ft_heap sets them):
//   at exit        FT_MALLOC_DUMP=1|ex, FT_MALLOC_STATS=1, FT_MALLOC_LEAKS=1 (to FT_MALLOC_OUT or
//                  stderr), FT_MALLOC_SVG=FILE, FT_MALLOC_JSON=FILE;
//   on a signal    FT_MALLOC_DUMP_SIGNAL=SIG: a dump each time, written by a reporter thread (the
//                  handler only writes a byte to a pipe: no lock is taken inside a handler);
//   periodically   FT_MALLOC_EVERY=SECONDS: a one-line summary.
#pragma once

namespace ft::reports {

// The stream for reports: FT_MALLOC_OUT (appended to) or stderr. The caller closes it unless 2.
int open_out();
// One line: live bytes and blocks, zones, LARGE mappings, resident size.
void summary_line(int fd);

}  // namespace ft::reports
