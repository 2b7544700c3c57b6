// The heap's entry points, one header per operation (the folder's aggregate header): what
// api/malloc_api.cpp calls. Each operation has an inline fast path (the thread cache, no lock)
// and a slow path (the zone pool or a LARGE mapping, under the heap lock).
#pragma once

#include "heap/free.h"
#include "heap/malloc.h"
#include "heap/memalign.h"
#include "heap/realloc.h"
#include "heap/resolve.h"
#include "heap/trim.h"
