#pragma once
/*
 * Building a whole zone and swapping it in atomically: the zone-file import.
 *
 * Records are added in any order; zone_builder_commit() sorts them into
 * canonical order, checks the zone against the DNS rules, writes every node
 * under a fresh zone id (append-only, so LMDB writes sequentially), points the
 * zone record at the new id and deletes the old nodes -- all in one write
 * transaction.  Until that commit the old zone is served untouched; if
 * anything fails nothing changes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

typedef struct zone_builder zone_builder_t;

/* Reports a problem with the record from source line `line` (0: no single line). */
typedef void (*zone_builder_report_cb)(void *ctx, bool is_error, unsigned line, const char *msg);

/* Called while writing with the number of nodes written so far and in all. */
typedef void (*zone_builder_progress_cb)(void *ctx, size_t done, size_t total);

typedef struct {
	size_t records;      /* RRs stored (after removing duplicates) */
	size_t duplicates;   /* identical RRs dropped */
	size_t names;        /* nodes written */
	uint32_t serial;
	uint32_t zone_id;
} zone_builder_stats_t;

/* Creates a builder for the zone at apex (wire name).  Returns NULL on ENOMEM. */
zone_builder_t *zone_builder_new(const uint8_t *apex);

void zone_builder_free(zone_builder_t *zb);

void zone_builder_set_report(zone_builder_t *zb, zone_builder_report_cb cb, void *ctx);
void zone_builder_set_progress(zone_builder_t *zb, zone_builder_progress_cb cb, void *ctx);

/*
 * Adds one RR.  owner is a wire name, rdata uncompressed wire rdata.
 * Returns 0, CD_ENOZONE (owner outside the zone), CD_EINVAL (rdata over 65535
 * bytes, bad owner), CD_ENOMEM.
 */
int zone_builder_add(zone_builder_t *zb, const uint8_t *owner, uint16_t type, uint16_t rclass,
                     uint32_t ttl, const uint8_t *rdata, size_t rdlen, unsigned line);

/*
 * Reserves room for about records RRs taking bytes in all (a hint, e.g. from
 * a zone file's size), so that a large import does not grow its buffers step
 * by step.  Returns 0 or CD_ENOMEM.
 */
int zone_builder_reserve(zone_builder_t *zb, size_t records, size_t bytes);

/* Makes commit fail with CD_EEXISTS when the zone exists already (zone create). */
void zone_builder_set_create_only(zone_builder_t *zb, bool create_only);

/* Number of RRs added so far. */
size_t zone_builder_count(const zone_builder_t *zb);

/*
 * Checks and writes the zone, replacing any zone at the same apex (its
 * transfer ACL is kept).  Every rule violation is reported through the report
 * callback before returning.  Returns 0, CD_ESEMANTIC (rules violated: nothing
 * written), CD_EMAPFULL, CD_EIO, CD_EDB, CD_ENOMEM.
 */
int zone_builder_commit(zone_builder_t *zb, db_t *db, zone_builder_stats_t *stats);
