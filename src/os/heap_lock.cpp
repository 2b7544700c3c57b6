#include "os/heap_lock.h"

namespace ft {

constinit pthread_mutex_t g_heap_mutex = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
constinit uint64_t g_lock_waits = 0;
constinit uint64_t g_lock_acquisitions = 0;
__thread uint8_t t_lock_depth __attribute__((tls_model("initial-exec"))) = 0;

}  // namespace ft
