#pragma once
/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, fast on
 * short inputs and safe against inputs chosen to collide when the key is
 * secret.  Used for DNS server cookies (RFC 9018) and to spread the buckets of
 * response rate limiting.  No allocation, no state.
 */

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

/*
 * The SipHash-2-4 of data[0..len) under a 16-byte key.  The reference
 * implementation's 8 output bytes are this value in little-endian order
 * (siphash_put writes them).
 */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_SIZE], const void *data, size_t len);

/* Writes a hash as the reference implementation's 8 output bytes (little-endian). */
static inline void siphash_put(uint8_t out[8], uint64_t hash)
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(hash >> (8 * i));
	}
}
