/* Allocation before main (constructors) and after it (atexit handlers, destructors). */
#include "common.h"

static char *from_ctor[50];
static size_t ctor_sizes[50];

__attribute__((constructor(101))) static void early_ctor(void)
{
    for (int i = 0; i < 50; i++) {
        ctor_sizes[i] = (size_t)i * i * 97;
        from_ctor[i] = malloc(ctor_sizes[i]);
        if (!from_ctor[i])
            _exit(3);
        pattern_fill(from_ctor[i], ctor_sizes[i], (uint64_t)i);
    }
}

static void at_exit_handler(void)
{
    /* The heap still works after main returned. */
    char *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = malloc((size_t)i * 1000 + 1);
        if (!p[i])
            _exit(4);
        memset(p[i], i, (size_t)i * 1000 + 1);
    }
    char *r = realloc(p[5], 300000);
    if (!r || r[0] != 5)
        _exit(5);
    p[5] = r;
    for (int i = 0; i < 100; i++)
        free(p[i]);
    for (int i = 0; i < 50; i++)
        free(from_ctor[i]);
    static const char msg[] = "atexit ok\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(6);
}

__attribute__((destructor)) static void late_dtor(void)
{
    void *p = calloc(1000, 10);
    if (!p)
        _exit(7);
    free(p);
    static const char msg[] = "destructor ok\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(8);
}

TEST(ctor_and_atexit)
{
    for (int i = 0; i < 50; i++)
        CHECK(pattern_check(from_ctor[i], ctor_sizes[i], (uint64_t)i) == (size_t)-1,
              "block %d allocated in a constructor lost its content", i);
    CHECK(atexit(at_exit_handler) == 0, "atexit failed");
    printf("main ok\n");
    fflush(stdout);
}

static const test_case cases[] = {
    CASE(ctor_and_atexit),
};

RUN_CASES(cases)
