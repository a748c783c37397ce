#pragma once
/*
 * RFC 1035 master files in and out, parsed and printed by ldns.
 *
 * Import streams the file record by record ($ORIGIN, $TTL, relative names,
 * parentheses, every type ldns knows, unknown types in RFC 3597 form) into a
 * zone builder and swaps the zone in with one transaction.  Entries of the
 * common types in plain syntax are read by simple_rr.c, all others by ldns,
 * with the same result either way.  $INCLUDE is
 * refused (ldns does not expose the included path): concatenate the files.
 * Any syntax or rule error rejects the whole file; the served zone is untouched.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "db/db.h"
#include "db/zone_builder.h"

typedef struct {
	const char *origin;      /* zone name; NULL: from $ORIGIN or the SOA owner */
	bool progress;           /* print progress to stderr (for a terminal) */
} zonefile_import_opts_t;

typedef struct {
	zone_builder_stats_t store;
	unsigned errors;
	unsigned warnings;
	char apex[1024];         /* the zone name, presentation format */
} zonefile_import_result_t;

/*
 * Imports path into db.  Every problem is printed to stderr as
 * "FILE:LINE: message".  Returns 0, CD_EIO (cannot read the file), CD_ESYNTAX,
 * CD_ESEMANTIC, CD_EINVAL (bad origin), CD_EMAPFULL, CD_EDB, CD_ENOMEM.
 */
int zonefile_import(db_t *db, const char *path, const zonefile_import_opts_t *opts,
                    zonefile_import_result_t *result);

/*
 * Prints the zone with apex (wire name) in presentation format, one RR per
 * line, apex SOA first, in canonical order, with absolute names: the output
 * imports back to the same data.  Returns 0, CD_ENOTFOUND, CD_EIO, CD_EDB.
 */
int zonefile_export(db_t *db, const uint8_t *apex, FILE *out);

/* Parses a domain name in presentation format into wire form.  Returns its length or CD_EINVAL. */
int zonefile_parse_name(const char *text, uint8_t out[255]);

/* One record in presentation format, as given on the command line. */
typedef struct {
	uint8_t owner[255];
	size_t owner_len;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	bool has_type;       /* false: just a name ("www") */
	bool has_rdata;      /* false: a name and type ("www A") */
	size_t rdlen;
	uint8_t rdata[65535];
} zonefile_rr_t;

/*
 * Parses 'OWNER [TTL] [CLASS] TYPE RDATA' (owner relative to origin unless it
 * ends in a dot; '@' is the origin).  With allow_partial, 'OWNER [CLASS] TYPE'
 * and a bare 'OWNER' are accepted too (for deletions).  On error returns
 * CD_ESYNTAX with the reason in err.
 */
int zonefile_parse_rr(const char *text, const uint8_t *origin, uint32_t default_ttl,
                      bool allow_partial, zonefile_rr_t *out, char *err, size_t errlen);

/* Prints one RR (owner wire name, 8-byte type|class|ttl header, rdata) as a zone-file line. */
int zonefile_print_rr(FILE *out, const uint8_t *owner, const uint8_t *header,
                      const uint8_t *rdata, uint16_t rdlen);

/* zonefile_parse_name() returning 0 or -1, for callers that do not need the length. */
static inline int zonefile_parse_name_into(const char *text, uint8_t out[255])
{
	return text != NULL && zonefile_parse_name(text, out) >= 0 ? 0 : -1;
}
