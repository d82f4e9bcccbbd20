// Ed25519 verification against per-key tables (see ed25519_fixed.c). Public data only.
#ifndef KEYWARD_ED25519_FIXED_H
#define KEYWARD_ED25519_FIXED_H

#include <stdint.h>

typedef struct kw_ed_table kw_ed_table;

/// The table of multiples of -A for the public key `pk`, or NULL when libsodium would refuse every
/// signature by it (a non-canonical or small-order encoding, or no point on the curve); about 61 KB.
kw_ed_table *kw_ed_table_new(const uint8_t pk[32]);
void kw_ed_table_free(kw_ed_table *table);

/// 0 when `sig` (R || s) is a valid signature for the table's key, given `h`, the SHA-512 of
/// R || A || message reduced modulo the group order (32 bytes); -1 otherwise. Accepts exactly what
/// libsodium's crypto_sign_verify_detached accepts: s < L, R not one of the small-order encodings,
/// and the encoding of [s]B - [h]A equal to R byte for byte.
int kw_ed_verify(const kw_ed_table *table, const uint8_t sig[64], const uint8_t h[32]);

#endif
