/* Output for the ft_heap test programs: snprintf into a stack buffer, then write(2). No stdio
 * stream is ever used, so the C library allocates nothing on the program's behalf and the heap
 * holds exactly what the program allocated. */
#ifndef FT_TOOLS_SAY_H
#define FT_TOOLS_SAY_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((format(printf, 2, 3), unused))
static void say(int fd, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    for (int off = 0; off < n;) {
        ssize_t w = write(fd, buf + off, (size_t)(n - off));
        if (w <= 0)
            return;
        off += (int)w;
    }
}

#endif
