#ifndef KEYWARD_BLAKE2B_X4_H
#define KEYWARD_BLAKE2B_X4_H

#include <stdint.h>

/// 1 when this CPU (and its operating system) runs `keyward_blake2b_last4`: x86-64 with AVX2.
/// Asked once; the answer is kept.
int keyward_blake2b_x4_available(void);

/// Four BLAKE2b compressions side by side, one in each 64-bit lane of the AVX2 registers: each
/// is the final compression (f0 = ~0) of one 128-byte block from the same chaining value `h`
/// (8 words). Block i is the 16 little-endian words at `blocks + 16 * i`, compressed with the byte
/// counter `counters[i]` (below 2^64). `out[i]` is word 0 of block i's new chaining value, which
/// is all a fingerprint reads. Only call when `keyward_blake2b_x4_available()` says 1.
void keyward_blake2b_last4(
  const uint64_t h[8], const uint64_t *blocks, const uint64_t counters[4], uint64_t out[4]);

#endif
