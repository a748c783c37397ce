#pragma once
/*
 * Changing records of a zone in one atomic write: the API behind
 * `certdnsctl record ...` and the ACME engine's challenge records.
 *
 * Changes are queued with zone_edit_add() and applied together by
 * zone_edit_commit() (own transaction) or zone_edit_apply() (inside the
 * caller's).  Applying them:
 *   - checks every touched name against the DNS rules: CNAME alone at a name
 *     (RFC 1034 3.6.2, RRSIG/NSEC aside), one CNAME, SOA only at the apex and
 *     never removed, nothing but A/AAAA glue below a zone cut, only NS/DS/glue
 *     at it -- including names that a new or removed NS record occludes or
 *     uncovers;
 *   - bumps the SOA serial by the zone's policy (a serial given in a replaced
 *     SOA wins when it is higher);
 *   - records the change in the journal for IXFR.
 * If any check fails, every problem is reported and nothing is written.
 * Changes that change nothing (adding a record that is there) bump nothing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/zone_builder.h"

typedef enum {
	ZONE_EDIT_ADD,            /* add one RR; the RRset takes its TTL */
	ZONE_EDIT_DELETE_RR,      /* remove one RR (same type and rdata) */
	ZONE_EDIT_DELETE_RRSET,   /* remove every RR of the type */
	ZONE_EDIT_DELETE_NAME,    /* remove every RR at the name */
	ZONE_EDIT_REPLACE,        /* all REPLACE lines for one name and type form its new RRset */
} zone_edit_op_t;

typedef struct zone_edit zone_edit_t;

typedef struct {
	bool changed;
	uint32_t old_serial;
	uint32_t new_serial;
	size_t added;       /* RRs added (SOA not counted) */
	size_t removed;
} zone_edit_result_t;

/* A batch of changes to the zone at apex (wire).  NULL on ENOMEM. */
zone_edit_t *zone_edit_new(const uint8_t *apex);
void zone_edit_free(zone_edit_t *ze);

/* Problems are reported here with the line the change came from (see zone_builder.h). */
void zone_edit_set_report(zone_edit_t *ze, zone_builder_report_cb cb, void *ctx);

/*
 * When set, the serial is exactly the one of the SOA given with a REPLACE (a
 * secondary applying its primary's IXFR), instead of following the policy.
 */
void zone_edit_set_exact_serial(zone_edit_t *ze, bool exact);

/* When set, deleting what is not there is not an error (idempotent clean-up). */
void zone_edit_set_missing_ok(zone_edit_t *ze, bool missing_ok);

/*
 * Queues one change.  For the DELETE_RRSET and DELETE_NAME operations rdata
 * is ignored (and type too for DELETE_NAME).  Returns 0, CD_ENOZONE (owner
 * outside the zone), CD_EINVAL, CD_ENOMEM.
 */
int zone_edit_add(zone_edit_t *ze, zone_edit_op_t op, const uint8_t *owner, uint16_t type,
                  uint16_t rclass, uint32_t ttl, const uint8_t *rdata, size_t rdlen,
                  unsigned line);

size_t zone_edit_count(const zone_edit_t *ze);

/*
 * Applies the changes in the caller's write transaction.  Returns 0,
 * CD_ENOTFOUND (no such zone), CD_ESEMANTIC (rules violated, or a deletion of
 * something absent: reported), CD_EMAPFULL, CD_EDB, CD_ENOMEM.  On error the
 * caller must abort the transaction.
 */
int zone_edit_apply(zone_edit_t *ze, db_t *db, MDB_txn *txn, zone_edit_result_t *result);

/* zone_edit_apply() in a transaction of its own, committed on success. */
int zone_edit_commit(zone_edit_t *ze, db_t *db, zone_edit_result_t *result);

/* The serial that follows old under a policy ("increment" or "dateserial"), for now. */
uint32_t zone_next_serial(const char *policy, uint32_t old, long now);
