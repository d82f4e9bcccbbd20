// Ed25519 signature verification with a fixed-base table per public key.
//
// libsodium verifies a signature with one double-scalar multiplication: about 253 doublings and
// 80 additions, plus decompressing the key. A trail is signed by a handful of keys tens of
// thousands of times, so here each key's multiples are computed once: 2^(7i) * j * (-A) for the 38
// positions i of a scalar in signed 7-bit digits and j = 1..64, in affine form (292 KB, about
// 2 ms), and the base point's the same way. A verification is then at most 76 mixed additions and
// one inversion, no doublings. (Measured here, the fastest of five runs of 20,000: 4-bit digits
// 22.4 us, 5 bits 20.5, 6 bits 17.4, 7 bits 16.2, 8 bits 14.7 with a 507 KB table; libsodium 52.5.)
//
// The arithmetic is the usual one for curve25519 on 64-bit machines: five 51-bit limbs, products
// in 128 bits; points in extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
// x*y = T/Z, on -x^2 + y^2 = 1 + d x^2 y^2. Only public data passes through this file (keys,
// signatures, hashes), so nothing here needs to run in constant time.
//
// What is accepted is exactly what libsodium 1.0.18's crypto_sign_verify_detached accepts (its
// default build): s below the group order, R none of the seven small-order encodings (the sign
// bit ignored), the key canonical and not of small order, and the canonical encoding of
// [s]B - [h]A equal to R's 32 bytes. A key libsodium would refuse gets no table (the caller then
// uses libsodium). Property tests hold the two to the same answer.

#include "ed25519_fixed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

#define MASK51 ((uint64_t)0x7ffffffffffff)

typedef struct {
  uint64_t v[5];
} fe;

// An extended point, and an affine point in the form mixed addition takes: y + x, y - x, 2d*x*y.
typedef struct {
  fe X, Y, Z, T;
} ge;
typedef struct {
  fe ypx, ymx, xy2d;
} ge_affine;

// A scalar below 2^253 is written in signed digits of WIDTH bits, each in [-2^(WIDTH-1), 2^(WIDTH-1)]:
// POSITIONS digits, the last one the carry out of the others. A table holds the MULTIPLES positive
// multiples of each position's 2^(WIDTH * i) * P.
#ifndef KW_WIDTH
#define KW_WIDTH 7
#endif
#define POSITIONS ((256 + KW_WIDTH - 1) / KW_WIDTH + 1)
#define MULTIPLES (1 << (KW_WIDTH - 1))
#define POINTS (POSITIONS * MULTIPLES)

struct kw_ed_table {
  ge_affine m[POSITIONS][MULTIPLES];  // m[i][j] = (j + 1) * 2^(WIDTH * i) * P
};

static const fe fe_d2 = {
  {1859910466990425, 932731440258426, 1072319116312658, 1815898335770999, 633789495995903}};
static const fe fe_d = {
  {929955233495203, 466365720129213, 1662059464998953, 2033849074728123, 1442794654840575}};
static const fe fe_sqrtm1 = {
  {1718705420411056, 234908883556509, 2233514472574048, 2117202627021982, 765476049583133}};
static const fe fe_base_x = {
  {1738742601995546, 1146398526822698, 2070867633025821, 562264141797630, 587772402128613}};
static const fe fe_base_y = {
  {1801439850948184, 1351079888211148, 450359962737049, 900719925474099, 1801439850948198}};

// The group order L, little-endian.
static const uint8_t order[32] = {
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

// The encodings (sign bit cleared) libsodium refuses for R and for a key: y = 0 (order 4), 1
// (order 1), the two y of the points of order 8, p - 1 (order 2), and p and p + 1 (0 and 1 written
// without reduction).
static const uint8_t small_order[7][32] = {
  {0},
  {0x01},
  {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
   0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
  {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
   0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
  {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
  {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
  {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

// MARK: - The field, mod p = 2^255 - 19

static inline uint64_t load64(const uint8_t *s) {
  uint64_t r = 0;
  for (int i = 7; i >= 0; i--) r = (r << 8) | s[i];
  return r;
}

static inline void store64(uint8_t *s, uint64_t v) {
  for (int i = 0; i < 8; i++) s[i] = (uint8_t)(v >> (8 * i));
}

static inline void fe_0(fe *h) { memset(h, 0, sizeof *h); }
static inline void fe_1(fe *h) {
  fe_0(h);
  h->v[0] = 1;
}

// One pass of carries, the top one folded back into the bottom limb (2^255 = 19 mod p).
static inline void carry(uint64_t t[5]) {
  for (int i = 0; i < 4; i++) {
    t[i + 1] += t[i] >> 51;
    t[i] &= MASK51;
  }
  t[0] += 19 * (t[4] >> 51);
  t[4] &= MASK51;
}

// Sums of two carried values (limbs below 2^53 in, 2^54 out): fit to be multiplied.
static inline void fe_add(fe *h, const fe *f, const fe *g) {
  for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
}

// Limbs of g below 2^53 - 4 (a product, or the sum of two): 4p is added first, and the result
// carried once (limbs below 2^51 + 2^8).
static inline void fe_sub(fe *h, const fe *f, const fe *g) {
  uint64_t r[5];
  r[0] = f->v[0] + 0x1fffffffffffb4 - g->v[0];
  for (int i = 1; i < 5; i++) r[i] = f->v[i] + 0x1ffffffffffffc - g->v[i];
  carry(r);
  memcpy(h->v, r, sizeof r);
}

static inline void fe_neg(fe *h, const fe *f) {
  fe zero;
  fe_0(&zero);
  fe_sub(h, &zero, f);
}

// The five sums of products (each below 2^115 for limbs below 2^54; the operands here stay below
// 2^53), carried into limbs below 2^52.
static inline void fe_reduce(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  uint64_t h0 = (uint64_t)r0 & MASK51;
  r1 += (uint64_t)(r0 >> 51);
  uint64_t h1 = (uint64_t)r1 & MASK51;
  r2 += (uint64_t)(r1 >> 51);
  uint64_t h2 = (uint64_t)r2 & MASK51;
  r3 += (uint64_t)(r2 >> 51);
  uint64_t h3 = (uint64_t)r3 & MASK51;
  r4 += (uint64_t)(r3 >> 51);
  uint64_t h4 = (uint64_t)r4 & MASK51;
  u128 t = (u128)h0 + (r4 >> 51) * 19;
  h0 = (uint64_t)t & MASK51;
  h1 += (uint64_t)(t >> 51);
  h->v[0] = h0;
  h->v[1] = h1;
  h->v[2] = h2;
  h->v[3] = h3;
  h->v[4] = h4;
}

static void fe_mul(fe *h, const fe *f, const fe *g) {
  uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
  uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
  u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
  u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
  u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
  u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
  u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
  fe_reduce(h, r0, r1, r2, r3, r4);
}

static void fe_sq(fe *h, const fe *f) {
  uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  uint64_t d0 = 2 * f0, d1 = 2 * f1, d2 = 2 * f2, d3 = 2 * f3;
  uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
  u128 r0 = (u128)f0 * f0 + (u128)d1 * f4_19 + (u128)d2 * f3_19;
  u128 r1 = (u128)d0 * f1 + (u128)d2 * f4_19 + (u128)f3 * f3_19;
  u128 r2 = (u128)d0 * f2 + (u128)f1 * f1 + (u128)d3 * f4_19;
  u128 r3 = (u128)d0 * f3 + (u128)d1 * f2 + (u128)f4 * f4_19;
  u128 r4 = (u128)d0 * f4 + (u128)d1 * f3 + (u128)f2 * f2;
  fe_reduce(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe *h, const fe *f, int n) {
  fe_sq(h, f);
  for (int i = 1; i < n; i++) fe_sq(h, h);
}

// 32 bytes, little-endian, bit 255 ignored.
static void fe_frombytes(fe *h, const uint8_t s[32]) {
  h->v[0] = load64(s) & MASK51;
  h->v[1] = (load64(s + 6) >> 3) & MASK51;
  h->v[2] = (load64(s + 12) >> 6) & MASK51;
  h->v[3] = (load64(s + 19) >> 1) & MASK51;
  h->v[4] = (load64(s + 24) >> 12) & MASK51;
}

// The canonical encoding (the value reduced below p).
static void fe_tobytes(uint8_t s[32], const fe *f) {
  uint64_t t[5];
  memcpy(t, f->v, sizeof t);
  for (int pass = 0; pass < 2; pass++) {
    carry(t);
  }
  // Now every limb is below 2^51 but t[0] (below 2^51 + 19 * 2): the value is below 2p.
  // q = 1 exactly when the value is p or more; then value - p = value + 19 - 2^255.
  uint64_t q = (t[0] + 19) >> 51;
  q = (t[1] + q) >> 51;
  q = (t[2] + q) >> 51;
  q = (t[3] + q) >> 51;
  q = (t[4] + q) >> 51;
  t[0] += 19 * q;
  for (int i = 0; i < 4; i++) {  // carried, and bit 255 (the 2^255 of value + 19 - 2^255) dropped
    t[i + 1] += t[i] >> 51;
    t[i] &= MASK51;
  }
  t[4] &= MASK51;
  store64(s, t[0] | (t[1] << 51));
  store64(s + 8, (t[1] >> 13) | (t[2] << 38));
  store64(s + 16, (t[2] >> 26) | (t[3] << 25));
  store64(s + 24, (t[3] >> 39) | (t[4] << 12));
}

static int fe_isnegative(const fe *f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  return s[0] & 1;
}

static int fe_iszero(const fe *f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  uint8_t acc = 0;
  for (int i = 0; i < 32; i++) acc |= s[i];
  return acc == 0;
}

static int fe_equal(const fe *f, const fe *g) {
  uint8_t a[32], b[32];
  fe_tobytes(a, f);
  fe_tobytes(b, g);
  return memcmp(a, b, 32) == 0;
}

// z^(2^250 - 1), and z^11 on the way (the common part of inversion and the square root).
static void fe_pow2_250_1(fe *out, fe *z11, const fe *z) {
  fe z2, z9, t, z_5_0, z_10_0, z_20_0, z_50_0, z_100_0;
  fe_sq(&z2, z);             // 2
  fe_sqn(&t, &z2, 2);        // 8
  fe_mul(&z9, &t, z);        // 9
  fe_mul(z11, &z9, &z2);     // 11
  fe_sq(&t, z11);            // 22
  fe_mul(&z_5_0, &t, &z9);   // 2^5 - 1
  fe_sqn(&t, &z_5_0, 5);
  fe_mul(&z_10_0, &t, &z_5_0);  // 2^10 - 1
  fe_sqn(&t, &z_10_0, 10);
  fe_mul(&z_20_0, &t, &z_10_0);  // 2^20 - 1
  fe_sqn(&t, &z_20_0, 20);
  fe_mul(&t, &t, &z_20_0);  // 2^40 - 1
  fe_sqn(&t, &t, 10);
  fe_mul(&z_50_0, &t, &z_10_0);  // 2^50 - 1
  fe_sqn(&t, &z_50_0, 50);
  fe_mul(&z_100_0, &t, &z_50_0);  // 2^100 - 1
  fe_sqn(&t, &z_100_0, 100);
  fe_mul(&t, &t, &z_100_0);  // 2^200 - 1
  fe_sqn(&t, &t, 50);
  fe_mul(out, &t, &z_50_0);  // 2^250 - 1
}

// z^(p - 2) = z^(2^255 - 21)
static void fe_invert(fe *out, const fe *z) {
  fe t, z11;
  fe_pow2_250_1(&t, &z11, z);
  fe_sqn(&t, &t, 5);  // 2^255 - 32
  fe_mul(out, &t, &z11);
}

// z^((p - 5) / 8) = z^(2^252 - 3)
static void fe_pow22523(fe *out, const fe *z) {
  fe t, z11;
  fe_pow2_250_1(&t, &z11, z);
  fe_sqn(&t, &t, 2);  // 2^252 - 4
  fe_mul(out, &t, z);
}

// MARK: - Points

static void ge_identity(ge *p) {
  fe_0(&p->X);
  fe_1(&p->Y);
  fe_1(&p->Z);
  fe_0(&p->T);
}

// The last step every formula here shares: X = EF, Y = GH, T = EH, Z = FG.
static inline void ge_finish(ge *r, const fe *e, const fe *f, const fe *g, const fe *h) {
  fe_mul(&r->X, e, f);
  fe_mul(&r->Y, g, h);
  fe_mul(&r->T, e, h);
  fe_mul(&r->Z, f, g);
}

// r = p + q, both extended (the unified formula: it holds for p = q too).
static void ge_add(ge *r, const ge *p, const ge *q) {
  fe a, b, c, d, e, f, g, h, t;
  fe_sub(&a, &p->Y, &p->X);
  fe_sub(&t, &q->Y, &q->X);
  fe_mul(&a, &a, &t);
  fe_add(&b, &p->Y, &p->X);
  fe_add(&t, &q->Y, &q->X);
  fe_mul(&b, &b, &t);
  fe_mul(&c, &p->T, &q->T);
  fe_mul(&c, &c, &fe_d2);
  fe_mul(&d, &p->Z, &q->Z);
  fe_add(&d, &d, &d);
  fe_sub(&e, &b, &a);
  fe_sub(&f, &d, &c);
  fe_add(&g, &d, &c);
  fe_add(&h, &b, &a);
  ge_finish(r, &e, &f, &g, &h);
}

// r = 2p.
static void ge_double(ge *r, const ge *p) {
  fe a, b, c, e, g, f, h, t;
  fe_sq(&a, &p->X);
  fe_sq(&b, &p->Y);
  fe_sq(&c, &p->Z);
  fe_add(&c, &c, &c);
  fe_add(&t, &p->X, &p->Y);
  fe_sq(&e, &t);
  fe_add(&t, &a, &b);
  fe_sub(&e, &e, &t);  // 2xy
  fe_sub(&g, &b, &a);  // y^2 - x^2
  fe_sub(&f, &g, &c);
  fe_neg(&h, &t);  // -(x^2 + y^2)
  ge_finish(r, &e, &f, &g, &h);
}

// r = p + q (q affine), or p - q when `negate`.
static void ge_madd(ge *r, const ge *p, const ge_affine *q, int negate) {
  fe a, b, c, d, e, f, g, h;
  fe_sub(&a, &p->Y, &p->X);
  fe_mul(&a, &a, negate ? &q->ypx : &q->ymx);
  fe_add(&b, &p->Y, &p->X);
  fe_mul(&b, &b, negate ? &q->ymx : &q->ypx);
  fe_mul(&c, &p->T, &q->xy2d);
  fe_add(&d, &p->Z, &p->Z);
  fe_sub(&e, &b, &a);
  if (negate) {
    fe_add(&f, &d, &c);
    fe_sub(&g, &d, &c);
  } else {
    fe_sub(&f, &d, &c);
    fe_add(&g, &d, &c);
  }
  fe_add(&h, &b, &a);
  ge_finish(r, &e, &f, &g, &h);
}

// The canonical encoding of p: y, with x's sign in bit 255.
static void ge_tobytes(uint8_t s[32], const ge *p) {
  fe zi, x, y;
  fe_invert(&zi, &p->Z);
  fe_mul(&x, &p->X, &zi);
  fe_mul(&y, &p->Y, &zi);
  fe_tobytes(s, &y);
  s[31] |= (uint8_t)(fe_isnegative(&x) << 7);
}

// The point a canonical encoding names, or -1 when no point has that y.
static int ge_frombytes(ge *p, const uint8_t s[32]) {
  fe u, v, v3, vxx, check, one;
  fe_frombytes(&p->Y, s);
  fe_1(&p->Z);
  fe_1(&one);
  fe_sq(&u, &p->Y);
  fe_mul(&v, &u, &fe_d);
  fe_sub(&u, &u, &one);  // y^2 - 1
  fe_add(&v, &v, &one);  // d y^2 + 1
  fe_sq(&v3, &v);
  fe_mul(&v3, &v3, &v);  // v^3
  fe_sq(&p->X, &v3);
  fe_mul(&p->X, &p->X, &v);
  fe_mul(&p->X, &p->X, &u);  // u v^7
  fe_pow22523(&p->X, &p->X);
  fe_mul(&p->X, &p->X, &v3);
  fe_mul(&p->X, &p->X, &u);  // u v^3 (u v^7)^((p - 5) / 8)
  fe_sq(&vxx, &p->X);
  fe_mul(&vxx, &vxx, &v);
  if (!fe_equal(&vxx, &u)) {
    fe_neg(&check, &u);
    if (!fe_equal(&vxx, &check)) return -1;
    fe_mul(&p->X, &p->X, &fe_sqrtm1);
  }
  int sign = s[31] >> 7;
  if (fe_iszero(&p->X) && sign) return -1;
  if (fe_isnegative(&p->X) != sign) fe_neg(&p->X, &p->X);
  fe_mul(&p->T, &p->X, &p->Y);
  return 0;
}

// MARK: - Tables

// The points and prefix products a table is made from.
typedef struct {
  ge points[POINTS];
  fe prefix[POINTS];
} scratch;

// Fills t with (j + 1) * 2^(WIDTH * i) * p, in affine form (one inversion for all the points).
static void table_fill(kw_ed_table *t, const ge *p, scratch *w) {
  ge *points = w->points;
  fe *prefix = w->prefix;
  ge base = *p;
  for (int i = 0; i < POSITIONS; i++) {
    ge *row = &points[i * MULTIPLES];
    row[0] = base;
    for (int j = 1; j < MULTIPLES; j++) ge_add(&row[j], &row[j - 1], &base);
    if (i < POSITIONS - 1) {
      ge_double(&base, &row[MULTIPLES - 1]);  // 2 * 2^(WIDTH - 1) * base: the next position's
    }
  }
  // Montgomery's trick: the product of every Z, inverted once.
  prefix[0] = points[0].Z;
  for (int k = 1; k < POINTS; k++) fe_mul(&prefix[k], &prefix[k - 1], &points[k].Z);
  fe inv;
  fe_invert(&inv, &prefix[POINTS - 1]);
  for (int k = POINTS - 1; k >= 0; k--) {
    fe zi;
    if (k > 0) {
      fe_mul(&zi, &inv, &prefix[k - 1]);
      fe_mul(&inv, &inv, &points[k].Z);
    } else {
      zi = inv;
    }
    fe x, y;
    fe_mul(&x, &points[k].X, &zi);
    fe_mul(&y, &points[k].Y, &zi);
    ge_affine *a = &t->m[k / MULTIPLES][k % MULTIPLES];
    fe_add(&a->ypx, &y, &x);
    fe_sub(&a->ymx, &y, &x);
    fe_mul(&a->xy2d, &x, &y);
    fe_mul(&a->xy2d, &a->xy2d, &fe_d2);
  }
}

static kw_ed_table base_table;
static pthread_once_t base_once = PTHREAD_ONCE_INIT;

static void base_fill(void) {
  ge b;
  b.X = fe_base_x;
  b.Y = fe_base_y;
  fe_1(&b.Z);
  fe_mul(&b.T, &b.X, &b.Y);
  scratch *w = malloc(sizeof *w);
  if (!w) abort();  // never an empty base table: every answer would be wrong
  table_fill(&base_table, &b, w);
  free(w);
}

static int is_small_order(const uint8_t s[32]) {
  for (int k = 0; k < 7; k++) {
    uint8_t diff = (uint8_t)((s[31] & 0x7f) ^ small_order[k][31]);
    for (int i = 0; i < 31; i++) diff |= (uint8_t)(s[i] ^ small_order[k][i]);
    if (diff == 0) return 1;
  }
  return 0;
}

// Whether the 255 low bits of s are below p.
static int is_canonical_field(const uint8_t s[32]) {
  if ((s[31] & 0x7f) != 0x7f) return 1;
  for (int i = 30; i > 0; i--)
    if (s[i] != 0xff) return 1;
  return s[0] < 0xed;
}

// Whether s < L.
static int is_canonical_scalar(const uint8_t s[32]) {
  for (int i = 31; i >= 0; i--) {
    if (s[i] < order[i]) return 1;
    if (s[i] > order[i]) return 0;
  }
  return 0;
}

kw_ed_table *kw_ed_table_new(const uint8_t pk[32]) {
  if (!is_canonical_field(pk) || is_small_order(pk)) return NULL;
  ge a;
  if (ge_frombytes(&a, pk) != 0) return NULL;
  fe_neg(&a.X, &a.X);
  fe_neg(&a.T, &a.T);
  kw_ed_table *t = malloc(sizeof *t);
  scratch *w = malloc(sizeof *w);
  if (!t || !w) {
    free(t);
    free(w);
    return NULL;
  }
  table_fill(t, &a, w);
  free(w);
  return t;
}

void kw_ed_table_free(kw_ed_table *table) { free(table); }

// The signed digits of a (below 2^256; a reduced scalar leaves the last digit 0 or 1).
static void digits(int16_t e[POSITIONS], const uint8_t a[32]) {
  int carry = 0;
  for (int i = 0; i < POSITIONS; i++) {
    int v = 0;
    for (int b = 0; b < KW_WIDTH; b++) {
      int k = i * KW_WIDTH + b;
      if (k < 256) v |= ((a[k >> 3] >> (k & 7)) & 1) << b;
    }
    v += carry;  // in [0, 2^WIDTH]
    carry = v > MULTIPLES;
    e[i] = (int16_t)(v - (carry << KW_WIDTH));  // in [-2^(WIDTH-1), 2^(WIDTH-1)]
  }
}

static void accumulate(ge *r, const kw_ed_table *t, const int16_t e[POSITIONS]) {
  for (int i = 0; i < POSITIONS; i++) {
    int d = e[i];
    if (d > 0) ge_madd(r, r, &t->m[i][d - 1], 0);
    if (d < 0) ge_madd(r, r, &t->m[i][-d - 1], 1);
  }
}

int kw_ed_verify(const kw_ed_table *table, const uint8_t sig[64], const uint8_t h[32]) {
  if (!table) return -1;
  if (!is_canonical_scalar(sig + 32) || is_small_order(sig)) return -1;
  if (!is_canonical_scalar(h)) return -1;  // h is reduced below L by the caller: never
  pthread_once(&base_once, base_fill);
  int16_t es[POSITIONS], eh[POSITIONS];
  digits(es, sig + 32);
  digits(eh, h);
  ge r;
  ge_identity(&r);
  accumulate(&r, &base_table, es);
  accumulate(&r, table, eh);  // the table holds multiples of -A
  uint8_t check[32];
  ge_tobytes(check, &r);
  return memcmp(check, sig, 32) == 0 ? 0 : -1;
}
