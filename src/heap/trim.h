// malloc_trim(): this thread's cached chunks back to their zones, then every wholly free zone
// unmapped (the reserves too) and the pages of free chunks inside the others given back.
#pragma once

namespace ft {

// True if anything went back to the system.
bool heap_trim();

}  // namespace ft
