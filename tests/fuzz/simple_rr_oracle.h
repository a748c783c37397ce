#pragma once
/*
 * The oracle for the simple record parser (src/zonefile/simple_rr.c): ldns.
 * Shared by tests/unit/test_zonefile_simple_rr.c and tests/fuzz/fuzz_simple_rr.c.
 *
 * simple_rr_compare() parses one entry with both parsers under the same origin,
 * previous owner and default TTL.  The simple parser may decline any entry; an
 * entry it takes must give what ldns_rr_new_frm_str gives: owner, TTL, class,
 * type, wire RDATA, and the previous owner afterwards (as the import keeps it).
 */

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "zonefile/simple_rr.h"

typedef struct {
	const char *origin;      /* presentation form, or NULL */
	const char *prev;        /* presentation form, or NULL */
	uint32_t default_ttl;
} simple_rr_case_t;

typedef struct {
	bool ok;
	uint8_t owner[255];
	size_t owner_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint8_t rdata[65535];
	size_t rdlen;
	uint8_t prev[255];       /* the previous owner afterwards (length 0: none) */
	size_t prev_len;
} simple_rr_parsed_t;

typedef enum {
	SIMPLE_RR_DECLINED,      /* the simple parser left the entry to ldns */
	SIMPLE_RR_AGREED,        /* it took the entry, and ldns gives the same */
	SIMPLE_RR_DISAGREED,     /* it took the entry, and ldns refuses it or differs */
} simple_rr_verdict_t;

/* A wire name from presentation form, by ldns; length 0 for NULL. */
static inline size_t simple_rr_wire_name(const char *text, uint8_t out[255])
{
	ldns_rdf *r = text != NULL ? ldns_dname_new_frm_str(text) : NULL;
	size_t len = r != NULL && ldns_rdf_size(r) <= 255 ? ldns_rdf_size(r) : 0;
	if (len > 0) {
		memcpy(out, ldns_rdf_data(r), len);
	}
	ldns_rdf_deep_free(r);
	return len;
}

static inline void simple_rr_by_ldns(const char *entry, const simple_rr_case_t *c,
                                     simple_rr_parsed_t *out)
{
	ldns_rdf *origin = c->origin != NULL ? ldns_dname_new_frm_str(c->origin) : NULL;
	ldns_rdf *prev = c->prev != NULL ? ldns_dname_new_frm_str(c->prev) : NULL;
	ldns_rr *rr = NULL;
	out->ok = ldns_rr_new_frm_str(&rr, entry, c->default_ttl, origin, &prev) == LDNS_STATUS_OK;
	out->prev_len = prev != NULL && ldns_rdf_size(prev) <= 255 ? ldns_rdf_size(prev) : 0;
	if (out->prev_len > 0) {
		memcpy(out->prev, ldns_rdf_data(prev), out->prev_len);
	}
	ldns_buffer *buf = out->ok ? ldns_buffer_new(65535) : NULL;
	if (out->ok && buf != NULL && ldns_rr_rdata2buffer_wire(buf, rr) == LDNS_STATUS_OK &&
	    ldns_rdf_size(ldns_rr_owner(rr)) <= 255) {
		const ldns_rdf *owner = ldns_rr_owner(rr);
		out->owner_len = ldns_rdf_size(owner);
		memcpy(out->owner, ldns_rdf_data(owner), out->owner_len);
		out->type = (uint16_t)ldns_rr_get_type(rr);
		out->rclass = (uint16_t)ldns_rr_get_class(rr);
		out->ttl = ldns_rr_ttl(rr);
		out->rdlen = ldns_buffer_position(buf);
		memcpy(out->rdata, ldns_buffer_begin(buf), out->rdlen);
	} else {
		out->ok = false;
	}
	ldns_buffer_free(buf);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
}

/* Returns whether the simple parser took entry. */
static inline bool simple_rr_by_simple(const char *entry, const simple_rr_case_t *c,
                                       simple_rr_parsed_t *out)
{
	uint8_t origin[255];
	uint8_t prev[255];
	zf_simple_ctx_t ctx = { .default_ttl = c->default_ttl };
	ctx.origin_len = simple_rr_wire_name(c->origin, origin);
	ctx.origin = ctx.origin_len > 0 ? origin : NULL;
	ctx.prev_len = simple_rr_wire_name(c->prev, prev);
	ctx.prev = ctx.prev_len > 0 ? prev : NULL;
	zf_simple_rr_t rr = { .rdata = out->rdata, .rdata_cap = sizeof(out->rdata) };
	out->ok = zf_simple_rr_parse(entry, &ctx, &rr);
	if (out->ok) {
		memcpy(out->owner, rr.owner, rr.owner_len);
		out->owner_len = rr.owner_len;
		out->type = rr.type;
		out->rclass = rr.rclass;
		out->ttl = rr.ttl;
		out->rdlen = rr.rdlen;
		/* As the import keeps it: an owner given becomes the previous owner. */
		out->prev_len = rr.owner_given ? rr.owner_len : ctx.prev_len;
		if (out->prev_len > 0) {
			memcpy(out->prev, rr.owner_given ? rr.owner : prev, out->prev_len);
		}
	}
	return out->ok;
}

/* Compares the two parsers on entry; on SIMPLE_RR_DISAGREED, why says how. */
static inline simple_rr_verdict_t simple_rr_compare(const char *entry, const simple_rr_case_t *c,
                                                    char *why, size_t whylen)
{
	static simple_rr_parsed_t mine;     /* 64 KiB each: not on the stack */
	static simple_rr_parsed_t theirs;
	if (!simple_rr_by_simple(entry, c, &mine)) {
		return SIMPLE_RR_DECLINED;
	}
	simple_rr_by_ldns(entry, c, &theirs);
	const char *diff = !theirs.ok ? "ldns refuses it"
	        : mine.owner_len != theirs.owner_len ||
	                  memcmp(mine.owner, theirs.owner, mine.owner_len) != 0 ? "owner"
	        : mine.type != theirs.type ? "type"
	        : mine.rclass != theirs.rclass ? "class"
	        : mine.ttl != theirs.ttl ? "TTL"
	        : mine.rdlen != theirs.rdlen || memcmp(mine.rdata, theirs.rdata, mine.rdlen) != 0
	                ? "RDATA"
	        : mine.prev_len != theirs.prev_len ||
	                  memcmp(mine.prev, theirs.prev, mine.prev_len) != 0 ? "previous owner"
	        : NULL;
	if (diff == NULL) {
		return SIMPLE_RR_AGREED;
	}
	snprintf(why, whylen, "[%.300s] (origin %s, previous owner %s): the simple parser took it, "
	         "but %s%s", entry, c->origin ? c->origin : "none", c->prev ? c->prev : "none",
	         theirs.ok ? "ldns differs in the " : "", diff);
	return SIMPLE_RR_DISAGREED;
}
