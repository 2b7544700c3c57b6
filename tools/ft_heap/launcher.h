// What ft_heap needs to run a program on ft_malloc: the library found, the FT_MALLOC_* variables
// set, the outputs checked, then the program exec'ed (or, for --html, run as a child and waited
// for, so that ft_heap can build the page from its files afterwards).
#pragma once

namespace ft_heap {

// "USR1", "SIGUSR1", "usr1" or "10": the number; -1 for a signal that cannot be caught (KILL,
// STOP) or out of range; 0 when the word is not a signal at all.
int parse_signal(const char *s);
// PATH made absolute against the current directory (the program may chdir); malloc'ed.
char *absolute(const char *path);
// setenv, or exit 1 with a message.
void set_env(const char *name, const char *value);
// False (and the line on stderr) when a file cannot be written at PATH: its folder is missing or
// not writable. Checked before the program runs, since the library, at its exit, can only warn.
bool can_write(const char *path);
// The library (FT_HEAP_LIB, next to ft_heap, or ../lib from it) preloaded, then argv[0] exec'ed
// (never returns) or, when `wait` is set, run as a child: returns its exit status (128 + the
// signal that ended it).
int run_program(char **argv, bool wait);

}  // namespace ft_heap
