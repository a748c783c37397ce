#pragma once
/*
 * Domain names in uncompressed wire format, and their "lookup keys".
 *
 * A lookup key is the name with its labels in reverse order, lowercased, each
 * label followed by a 0x00 terminator.  Inside a label the bytes 0x00 and 0x01
 * are escaped as 0x01 0x01 and 0x01 0x02, so 0x00 only ever ends a label.
 * Comparing two keys with memcmp then gives exactly the canonical DNS name
 * order of RFC 4034 section 6.1, and the key of every ancestor of a name is a
 * prefix of the name's key ending at a 0x00 byte: a zone's names are one
 * contiguous range in an ordered store, and a subtree is one range too.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"

/* Longest possible key: every label byte escaped plus one terminator per label. */
#define DNAME_KEY_MAX  512

/*
 * Checks that name[0..len) holds exactly one valid uncompressed wire name.
 * Returns the name length (including the root label) or a negative CD_E* code.
 */
int dname_wire_length(const uint8_t *name, size_t maxlen);

/*
 * Reads a possibly compressed name from pkt at *pos into out (uncompressed,
 * case preserved) and advances *pos past it.  Pointers must point strictly
 * backwards, so loops are impossible; the result may not exceed 255 bytes.
 * Returns the length written to out, or CD_EMALF.
 */
int dname_unpack(const uint8_t *pkt, size_t pktlen, size_t *pos, uint8_t out[255]);

/* Number of labels, not counting the root. */
int dname_label_count(const uint8_t *name);

/* Case-insensitive equality of two wire names. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/* True when name equals or is below apex (case-insensitive). */
bool dname_is_subdomain(const uint8_t *name, const uint8_t *apex);

/* Pointer to the suffix of name that starts skip labels in. */
const uint8_t *dname_skip_labels(const uint8_t *name, int skip);

/* Writes name's lookup key into key (DNAME_KEY_MAX bytes); returns its length. */
size_t dname_to_key(const uint8_t *name, uint8_t *key);

/*
 * Converts a lookup key back into a wire name (lowercase).  Returns the name
 * length, or CD_EMALF for a key that no name produces.
 */
int dname_from_key(const uint8_t *key, size_t keylen, uint8_t out[255]);

/* Lowercases the ASCII letters of a wire name in place. */
void dname_to_lower(uint8_t *name);

/*
 * Writes name in presentation format ("www.example.com.", "." for the root),
 * escaping special and non-printable bytes (\. \\ \DDD).  Always terminates
 * out; returns CD_ESPACE when it had to cut the text short.
 */
int dname_to_str(const uint8_t *name, char *out, size_t outlen);

/* Longest text dname_to_str can produce, with its terminator. */
#define DNAME_STR_MAX (DNS_MAX_NAME * 4 + 2)
