#pragma once
/*
 * A parser for the record entries most zone files are made of, without ldns.
 *
 * ldns's record parser (ldns_rr_new_frm_str) reads every type and every
 * syntax, but tokenizes through a generic reader and allocates several times
 * per field, which made it most of a large import's time.  This parser takes
 * only entries in a plain subset and leaves all others, untouched, to ldns:
 *
 *   [OWNER] [TTL] [IN] TYPE RDATA
 *
 * with TYPE one of A, AAAA, NS, CNAME, PTR, DNAME, MX, SRV, TXT, CAA; OWNER
 * and names in RDATA made of letters, digits, '-', '_', '*' and '/' (or '@',
 * or absent); TTL in plain digits; TXT strings without escapes.  A backslash,
 * another class, a TTL such as 1h, a name too long or anything else unusual
 * makes it decline.  For every entry it accepts, the result is exactly what
 * ldns_rr_new_frm_str gives (owner, TTL, class, type, wire RDATA), including
 * ldns's rules for a missing owner, '@' and relative names; every entry ldns
 * would reject is declined, so errors are always reported by ldns.  A
 * differential test (tests/unit/test_zonefile_simple_rr.c and the zone-file
 * fuzzer) holds it to that.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What names in an entry are completed with. */
typedef struct {
	const uint8_t *origin;    /* wire name, or NULL (then relative names decline) */
	size_t origin_len;
	const uint8_t *prev;      /* the previous entry's owner, or NULL */
	size_t prev_len;
	uint32_t default_ttl;     /* for entries without a TTL; 0: ldns's default, 3600 */
} zf_simple_ctx_t;

/* One parsed record.  rdata is the caller's buffer of rdata_cap bytes. */
typedef struct {
	uint8_t owner[255];
	size_t owner_len;
	bool owner_given;         /* the entry named its owner (or '@'): it becomes "previous" */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint8_t *rdata;
	size_t rdata_cap;
	size_t rdlen;
} zf_simple_rr_t;

/*
 * Parses entry (one entry from zf_entry_next: no comments, no parentheses, no
 * line break) into out.  Returns true if it did; false if the entry is not in
 * the subset above, and then out is unspecified and the entry is for ldns.
 */
bool zf_simple_rr_parse(const char *entry, const zf_simple_ctx_t *ctx, zf_simple_rr_t *out);
