/*
 * Linked with `gcc link_min.c -L. -lft_malloc` and referencing only malloc and free itself: libc's
 * internal calls to realloc, calloc, ... must still reach ft_malloc (the archive must pull them in
 * with malloc/free). If they reached glibc instead, free() below would get pointers ft_malloc never
 * made and abort. run_tests.py also checks the binary defines the whole API.
 */
#define _GNU_SOURCE
#include <regex.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *m)
{
    fprintf(stderr, "FAIL: link_min: %s\n", m);
    exit(1);
}

static int cmp(const void *a, const void *b) { return strcmp(a, b); }

int main(void)
{
    /* getline grows its buffer with realloc */
    char path[] = "/tmp/ft_link_min_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp");
    FILE *w = fdopen(fd, "w");
    for (int i = 0; i < 50; i++) {
        for (int k = 0; k < i * 300; k++)
            fputc('a' + k % 26, w);
        fputc('\n', w);
    }
    fclose(w);
    FILE *f = fopen(path, "r");
    if (!f)
        die("fopen");
    char *line = NULL;
    size_t n = 0;
    ssize_t len;
    int lines = 0;
    while ((len = getline(&line, &n, f)) >= 0) {
        if ((size_t)len != (size_t)lines * 300 + 1)
            die("getline length");
        lines++;
    }
    if (lines != 50)
        die("getline count");
    fclose(f);
    unlink(path);
    free(line);

    /* open_memstream grows its buffer with realloc */
    char *buf = NULL;
    size_t size = 0;
    FILE *ms = open_memstream(&buf, &size);
    for (int i = 0; i < 20000; i++)
        fprintf(ms, "%d,", i);
    fclose(ms);
    if (size < 20000 * 2 || strncmp(buf, "0,1,2,", 6))
        die("open_memstream");
    free(buf);

    /* asprintf */
    char *s = NULL;
    for (int i = 0; i < 100; i++) {
        if (asprintf(&s, "%0*d", i * 100 + 1, i) < 0)
            die("asprintf");
        if (strlen(s) != (size_t)i * 100 + 1)
            die("asprintf length");
        free(s);
    }

    /* regcomp uses malloc, calloc and realloc */
    for (int i = 0; i < 20; i++) {
        regex_t re;
        if (regcomp(&re, "^(a|b)+[0-9]{2,5}(x|yz)*$", REG_EXTENDED))
            die("regcomp");
        if (regexec(&re, "abab123yzx", 0, NULL, 0) || !regexec(&re, "abc", 0, NULL, 0))
            die("regexec");
        regfree(&re);
    }

    /* strdup, tsearch, setenv */
    void *root = NULL;
    char *keys[500];
    for (int i = 0; i < 500; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "key%05d", (i * 7919) % 500);
        keys[i] = strdup(tmp);
        if (!tsearch(keys[i], &root, cmp))
            die("tsearch");
    }
    for (int i = 0; i < 200; i++) {
        char name[32], val[64];
        snprintf(name, sizeof name, "FT_LINK_MIN_%d", i);
        snprintf(val, sizeof val, "value-%d", i);
        if (setenv(name, val, 1))
            die("setenv");
    }
    if (strcmp(getenv("FT_LINK_MIN_150"), "value-150"))
        die("getenv");
    for (int i = 0; i < 500; i++)
        tdelete(keys[i], &root, cmp);
    for (int i = 0; i < 500; i++)
        free(keys[i]);

    /* and a plain malloc/free workload */
    void *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = malloc((size_t)i * 131 % 300000);
        if (!p[i])
            die("malloc");
        memset(p[i], i & 0xFF, (size_t)i * 131 % 300000);
    }
    for (int i = 0; i < 1000; i++)
        free(p[i]);
    printf("link_min ok\n");
    return 0;
}
