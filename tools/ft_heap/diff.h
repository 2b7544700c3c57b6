// ft_heap --diff A.json B.json: what changed between two JSON snapshots (two runs, or two moments
// of one program): per size class and for LARGE, the blocks and bytes added or gone, biggest
// change first; with snapshots taken under leak tracking or a heap profile, per call site too.
#pragma once

namespace ft_heap {

// Prints the differences on stdout; 0, or kBadFile (one line on stderr) when a file cannot be
// read or is not a snapshot of this version.
int diff_snapshots(const char *a_path, const char *b_path);

}  // namespace ft_heap
