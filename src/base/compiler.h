// Attributes every layer uses.
#pragma once

// The fast paths must fold into the entry points: a call and its prologue cost a fifth of them.
#define FT_INLINE inline __attribute__((always_inline))
