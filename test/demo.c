/* The sample program of `make demo`: linked with -lft_malloc as users link it, it makes a small
 * heap of each kind and shows it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_malloc.h"

int main(void) {
  char *greeting = strdup("Hello, heap!");      /* libc's own allocation: TINY */
  int *numbers = calloc(100, sizeof *numbers);  /* 400 B: SMALL */
  char *page = malloc(3000);                    /* SMALL */
  double *big = malloc(200 * 1024);             /* over 128 KiB: a LARGE mapping of its own */
  void *empty = malloc(0);                      /* a unique pointer, 0 bytes */
  if (!greeting || !numbers || !page || !big || !empty) return 1;
  memset(page, 'x', 3000);
  numbers = realloc(numbers, 200 * sizeof *numbers);
  show_alloc_mem();
  free(greeting);
  free(numbers);
  free(page);
  free(big);
  free(empty);
  return 0;
}
