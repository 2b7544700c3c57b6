/* bench_exec PROG ARGS...: runs PROG and writes its wall time and resource use to fd 3 as
 *   wall_s=... maxrss_kib=... user_s=... sys_s=... status=...
 * The driver starts the workloads through this small process because a child forked straight
 * from the Python driver inherits the driver's resident high-water mark at exec, which would put
 * a floor of ~20 MiB under every ru_maxrss. Here the measured program is forked from a process of
 * ~1 MiB. BENCH_PRELOAD, if set, becomes the program's LD_PRELOAD (this process runs without). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROG ARGS...\n", argv[0]);
        return 2;
    }
    FILE *res = fdopen(3, "w");
    if (!res) {
        fprintf(stderr, "bench_exec: fd 3 must be open for the result\n");
        return 2;
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    const char *preload = getenv("BENCH_PRELOAD");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        if (preload && *preload)
            setenv("LD_PRELOAD", preload, 1);
        unsetenv("BENCH_PRELOAD");
        execvp(argv[1], argv + 1);
        fprintf(stderr, "bench_exec: cannot run %s\n", argv[1]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    fprintf(res, "wall_s=%.6f maxrss_kib=%ld user_s=%.6f sys_s=%.6f status=%d\n", wall,
            ru.ru_maxrss, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6, status);
    fclose(res);
    return 0;
}
