/* tree DEPTH REPS: REPS times builds a complete binary tree of depth DEPTH (2^(DEPTH+1)-1 nodes
 * of 24 bytes, allocated depth first), walks it and tears it down (binary-trees style). */
#include "bench_common.h"

typedef struct node {
    struct node *l, *r;
    long v;
} node;

static node *build(int d, long *id)
{
    node *n = malloc(sizeof *n);
    if (!n)
        abort();
    n->v = (*id)++;
    n->l = d > 0 ? build(d - 1, id) : NULL;
    n->r = d > 0 ? build(d - 1, id) : NULL;
    return n;
}

static long check(const node *n)
{
    return n ? n->v + check(n->l) - check(n->r) : 0;
}

static void destroy(node *n)
{
    if (!n)
        return;
    destroy(n->l);
    destroy(n->r);
    free(n);
}

int main(int argc, char **argv)
{
    int depth = (int)bench_arg(argc, argv, 1, 20);
    long reps = bench_arg(argc, argv, 2, 3), sum = 0, id = 0;
    for (long i = 0; i < reps; i++) {
        node *t = build(depth, &id);
        sum += check(t);
        destroy(t);
    }
    printf("ops=%ld\nchecksum=%ld\n", id, sum);
    return 0;
}
