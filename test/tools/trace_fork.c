/* The call log across fork(): the parent's calls stay in FILE, the child's go to FILE.<pid>.
 * stdout: "PARENT <pid> <ptr before fork> <ptr after>" and "CHILD <pid> <ptr>". */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "say.h"

int main(void)
{
    void *before = malloc(111);
    if (!before)
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        void *p = malloc(777);
        if (!p)
            _exit(1);
        say(1, "CHILD %d %p\n", (int)getpid(), p);
        free(p);
        exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 1;
    void *after = malloc(555);
    if (!after)
        return 1;
    say(1, "PARENT %d %p %p\n", (int)getpid(), before, after);
    free(after);
    free(before);
    return 0;
}
