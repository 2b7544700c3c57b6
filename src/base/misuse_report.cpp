#include "base/misuse_report.h"

#include <stdlib.h>

#include "base/line_writer.h"
#include "base/settings.h"

namespace ft {
namespace {

const char *call_name(Call c) {
  switch (c) {
    case Call::kFree: return "free()";
    case Call::kRealloc: return "realloc()";
    case Call::kUsableSize: return "malloc_usable_size()";
    case Call::kFreeSized: return "free_sized()";
    case Call::kFreeAlignedSized: return "free_aligned_sized()";
    case Call::kCheck: return "ft_malloc_check()";
  }
  return "?";
}

}  // namespace

void report_fault(Call call, const void *ptr, const FaultInfo &f) {
  // ft_malloc_check() only reports (its caller asked); elsewhere corruption is never survivable.
  bool checking = call == Call::kCheck;
  bool fatal = !checking && (g_config.errors == ErrorMode::kAbort || f.fault == Fault::kCorruptZone ||
                             f.fault == Fault::kBadBitmap);
  if (g_config.errors == ErrorMode::kIgnore && !fatal && !checking) return;
  LineWriter out(2);
  bool freeing = call == Call::kFree || call == Call::kFreeSized || call == Call::kFreeAlignedSized;
  const char *what = f.fault == Fault::kDoubleFree     ? (freeing ? "double free" : "use after free")
                     : f.fault == Fault::kCorruptZone  ? "heap corruption at"
                     : f.fault == Fault::kBadBitmap    ? "heap corruption at"
                     : f.fault == Fault::kOverflow     ? "heap overflow"
                     : f.fault == Fault::kSizeMismatch ? "size mismatch"
                                                       : "invalid pointer";
  out.str("ft_malloc: ").str(call_name(call)).str(": ").str(what).ch(' ');
  out.hex(reinterpret_cast<uintptr_t>(ptr), false).str(" (");
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  switch (f.fault) {
    case Fault::kNone:
    case Fault::kNotOurs:
      out.str("not allocated by ft_malloc");
      break;
    case Fault::kInterior:
      out.str("not the start of a block: ").dec(p - f.block).str(" B into the ").str(kind_name(f.kind));
      out.str(" block ").hex(f.block, false).str(" of ").dec(f.block_size).str(" B");
      break;
    case Fault::kDoubleFree:
      out.str(kind_name(f.kind)).str(" block of ").dec(f.block_size).str(" B");
      if (f.kind == Kind::kLarge) out.str(", already unmapped");
      break;
    case Fault::kNeverAllocated:
      out.str("a free ").str(kind_name(f.kind)).str(" chunk of ").dec(f.block_size);
      out.str(" B: never allocated, or freed twice");
      break;
    case Fault::kZoneHeader:
      out.str("inside the metadata of the ").str(kind_name(f.kind)).str(" zone ").hex(f.block, false);
      break;
    case Fault::kCorruptZone:
      out.str("the header of the zone ").hex(f.block, false).str(" was overwritten");
      break;
    case Fault::kOverflow:
      out.str("the canary after the ").str(kind_name(f.kind)).str(" block of ").dec(f.block_size);
      out.str(" B was overwritten");
      break;
    case Fault::kBadBitmap:
      out.str("the bitmaps of the zone ").hex(f.block, false).str(" disagree");
      break;
    case Fault::kSizeMismatch:
      out.str("freed as ").dec(f.given).str(" B, but it is a ").str(kind_name(f.kind));
      out.str(" block of ").dec(f.block_size).str(" B");
      break;
  }
  out.str(")\n");
  out.flush();
  if (fatal) abort();
}

}  // namespace ft
