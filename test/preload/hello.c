/* Compiled (and run) by gcc running under LD_PRELOAD of ft_malloc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    int value;
};

int main(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 1000; i++) {
        struct node *n = malloc(sizeof *n);
        n->value = i * i % 977;
        n->next = head;
        head = n;
    }
    long sum = 0;
    while (head) {
        struct node *n = head->next;
        sum += head->value;
        free(head);
        head = n;
    }
    char *s = strdup("hello from a program built under ft_malloc");
    printf("%s: %ld\n", s, sum);
    free(s);
    return 0;
}
