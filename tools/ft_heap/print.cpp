// ft_heap --print: the call log as text, one call a line with its time and thread, and after the
// calls a "# see also" line for each other log of the same run (fork children, exec'ed programs).
#include "tools/ft_heap/print.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tools/ft_heap/call_log_reader.h"

namespace ft_heap {

namespace {

void print_time(FILE *out, uint64_t ns) {
  fprintf(out, "%llu.%06llu", static_cast<unsigned long long>(ns / 1000000000u),
          static_cast<unsigned long long>(ns / 1000 % 1000000));
}

void print_ptr(FILE *out, uint64_t p) {
  if (p) fprintf(out, "0x%llx", static_cast<unsigned long long>(p));
  else fputs("NULL", out);
}

void print_wall(FILE *out, uint64_t realtime_ns) {
  time_t t = static_cast<time_t>(realtime_ns / 1000000000u);
  struct tm tm;
  char buf[64];
  localtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  fputs(buf, out);
}

const char *relation_text(Relation how) {
  switch (how) {
    case Relation::kExec:
      return "a later program (exec) of pid";
    case Relation::kForkChild:
      return "fork child of pid";
    case Relation::kStartedBy:
      return "started by pid";
  }
  return "?";
}

void print_related(FILE *out, const char *path, const Header &root) {
  RelatedLog *related;
  size_t count = find_related_logs(path, root, &related);
  for (size_t k = 0; k < count; ++k) {
    const RelatedLog &o = related[k];
    fprintf(out, "# see also %s: pid %llu, %s, %s %llu\n", o.name, static_cast<unsigned long long>(o.h.pid),
            o.h.exe[0] ? o.h.exe : "?", relation_text(o.how), static_cast<unsigned long long>(o.of_pid));
  }
  free(related);
}

}  // namespace

int print_log(const char *path) {
  Log log;
  if (!load_log(path, &log)) return kBadFile;
  static char buf[1 << 16];
  setvbuf(stdout, buf, _IOFBF, sizeof buf);
  const Header &h = log.header;
  printf("# ft_malloc call log %s: pid %llu (%s %llu), %s\n", path, static_cast<unsigned long long>(h.pid),
         h.flags & kFlagForkChild ? "fork child of" : "parent", static_cast<unsigned long long>(h.ppid),
         h.exe[0] ? h.exe : "?");
  printf("# started ");
  print_wall(stdout, h.start_realtime_ns);
  printf(" (times below: seconds since then), %zu calls, %u threads\n", log.count, log.threads);
  for (size_t i = 0; i < log.count; ++i) {
    const Call &c = log.calls[i];
    print_time(stdout, c.time);
    printf(" t%u ", c.thread);
    switch (static_cast<ft::call_log::Op>(c.op)) {
      case ft::call_log::Op::kMalloc:
        printf("malloc(%llu) = ", static_cast<unsigned long long>(c.a));
        print_ptr(stdout, c.result);
        break;
      case ft::call_log::Op::kCalloc:
        printf("calloc(%llu, %llu) = ", static_cast<unsigned long long>(c.a), static_cast<unsigned long long>(c.b));
        print_ptr(stdout, c.result);
        break;
      case ft::call_log::Op::kRealloc:
        printf("realloc(");
        print_ptr(stdout, c.a);
        printf(", %llu) = ", static_cast<unsigned long long>(c.b));
        print_ptr(stdout, c.result);
        break;
      case ft::call_log::Op::kFree:
        printf("free(");
        print_ptr(stdout, c.a);
        printf(")");
        break;
      case ft::call_log::Op::kMemalign:
        printf("memalign(%llu, %llu) = ", static_cast<unsigned long long>(c.a), static_cast<unsigned long long>(c.b));
        print_ptr(stdout, c.result);
        break;
      default:
        printf("op%u(0x%llx, 0x%llx) = 0x%llx", c.op, static_cast<unsigned long long>(c.a),
               static_cast<unsigned long long>(c.b), static_cast<unsigned long long>(c.result));
    }
    putchar('\n');
  }
  print_related(stdout, path, h);
  fflush(stdout);
  unload_log(&log);
  return 0;
}

}  // namespace ft_heap
