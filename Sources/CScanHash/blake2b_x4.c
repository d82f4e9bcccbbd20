// Four BLAKE2b final-block compressions at once with AVX2 (RFC 7693, section 3.2): lane i of
// every vector is message i, so the sixteen work words are sixteen vectors and each G step is a
// handful of vector instructions for four messages. `scan` fingerprints tens of thousands of
// candidate words per megabyte, each one compression from the key block's chaining value; this
// does four of them in little more than the time of one. A property test holds it to libsodium.

#include "blake2b_x4.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

#include <cpuid.h>
#include <immintrin.h>

static int probe_avx2(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  // AVX, and the operating system saving the YMM registers (XCR0 bits 1 and 2).
  if (!(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6) != 6) return 0;
  if (__get_cpuid_max(0, 0) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return (b & bit_AVX2) != 0;
}

int keyward_blake2b_x4_available(void) {
  // -1: not asked yet. (A race between threads asks twice and writes the same answer.)
  static volatile int answer = -1;
  if (answer < 0) answer = probe_avx2();
  return answer;
}

// The message schedule; rounds 10 and 11 use rows 0 and 1 again.
static const uint8_t sigma[10][16] = {
  {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
  {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
  {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
  {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
  {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
  {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
  {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
  {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
  {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
  {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

static const uint64_t iv[8] = {
  0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
  0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

#define ADD(x, y) _mm256_add_epi64((x), (y))
#define XOR(x, y) _mm256_xor_si256((x), (y))
// Rotations right within each 64-bit lane: by 32 a swap of halves, by 24 and 16 a byte shuffle,
// by 63 a left shift by one (x + x) joined with the top bit.
#define ROTR32(x) _mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
#define ROTR24(x) _mm256_shuffle_epi8((x), r24)
#define ROTR16(x) _mm256_shuffle_epi8((x), r16)
#define ROTR63(x) _mm256_or_si256(_mm256_srli_epi64((x), 63), ADD((x), (x)))

#define G(a, b, c, d, x, y)   \
  do {                        \
    a = ADD(ADD(a, b), x);    \
    d = ROTR32(XOR(d, a));    \
    c = ADD(c, d);            \
    b = ROTR24(XOR(b, c));    \
    a = ADD(ADD(a, b), y);    \
    d = ROTR16(XOR(d, a));    \
    c = ADD(c, d);            \
    b = ROTR63(XOR(b, c));    \
  } while (0)

__attribute__((target("avx2"))) void keyward_blake2b_last4(
  const uint64_t h[8], const uint64_t *blocks, const uint64_t counters[4], uint64_t out[4]) {
  const __m256i r24 = _mm256_setr_epi8(
    3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8,
    9, 10);
  const __m256i r16 = _mm256_setr_epi8(
    2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15,
    8, 9);
  // The message words, transposed: m[j] holds word j of the four blocks.
  __m256i m[16];
  for (int j = 0; j < 16; j += 4) {
    __m256i r0 = _mm256_loadu_si256((const __m256i *)(blocks + j));
    __m256i r1 = _mm256_loadu_si256((const __m256i *)(blocks + 16 + j));
    __m256i r2 = _mm256_loadu_si256((const __m256i *)(blocks + 32 + j));
    __m256i r3 = _mm256_loadu_si256((const __m256i *)(blocks + 48 + j));
    __m256i t0 = _mm256_unpacklo_epi64(r0, r1);
    __m256i t1 = _mm256_unpackhi_epi64(r0, r1);
    __m256i t2 = _mm256_unpacklo_epi64(r2, r3);
    __m256i t3 = _mm256_unpackhi_epi64(r2, r3);
    m[j] = _mm256_permute2x128_si256(t0, t2, 0x20);
    m[j + 1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    m[j + 2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    m[j + 3] = _mm256_permute2x128_si256(t1, t3, 0x31);
  }
  __m256i v0 = _mm256_set1_epi64x((long long)h[0]), v1 = _mm256_set1_epi64x((long long)h[1]);
  __m256i v2 = _mm256_set1_epi64x((long long)h[2]), v3 = _mm256_set1_epi64x((long long)h[3]);
  __m256i v4 = _mm256_set1_epi64x((long long)h[4]), v5 = _mm256_set1_epi64x((long long)h[5]);
  __m256i v6 = _mm256_set1_epi64x((long long)h[6]), v7 = _mm256_set1_epi64x((long long)h[7]);
  __m256i v8 = _mm256_set1_epi64x((long long)iv[0]), v9 = _mm256_set1_epi64x((long long)iv[1]);
  __m256i v10 = _mm256_set1_epi64x((long long)iv[2]), v11 = _mm256_set1_epi64x((long long)iv[3]);
  // The counter's low word per lane (its high word is 0), and the final-block flag.
  __m256i v12 = XOR(_mm256_set1_epi64x((long long)iv[4]), _mm256_loadu_si256((const __m256i *)counters));
  __m256i v13 = _mm256_set1_epi64x((long long)iv[5]);
  __m256i v14 = _mm256_set1_epi64x((long long)~iv[6]);
  __m256i v15 = _mm256_set1_epi64x((long long)iv[7]);
  for (int r = 0; r < 12; r++) {
    const uint8_t *s = sigma[r % 10];
    G(v0, v4, v8, v12, m[s[0]], m[s[1]]);
    G(v1, v5, v9, v13, m[s[2]], m[s[3]]);
    G(v2, v6, v10, v14, m[s[4]], m[s[5]]);
    G(v3, v7, v11, v15, m[s[6]], m[s[7]]);
    G(v0, v5, v10, v15, m[s[8]], m[s[9]]);
    G(v1, v6, v11, v12, m[s[10]], m[s[11]]);
    G(v2, v7, v8, v13, m[s[12]], m[s[13]]);
    G(v3, v4, v9, v14, m[s[14]], m[s[15]]);
  }
  __m256i word0 = XOR(XOR(_mm256_set1_epi64x((long long)h[0]), v0), v8);
  _mm256_storeu_si256((__m256i *)out, word0);
  // The message words held candidate text: leave none of it in this frame.
  volatile __m256i *wipe = m;
  for (int j = 0; j < 16; j++) wipe[j] = _mm256_setzero_si256();
}

#else

int keyward_blake2b_x4_available(void) { return 0; }

void keyward_blake2b_last4(
  const uint64_t h[8], const uint64_t *blocks, const uint64_t counters[4], uint64_t out[4]) {
  (void)h;
  (void)blocks;
  (void)counters;
  out[0] = out[1] = out[2] = out[3] = 0;
}

#endif
