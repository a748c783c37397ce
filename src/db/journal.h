#pragma once
/*
 * The zone journal: every committed change of a zone as the pair of RR lists
 * IXFR needs (RFC 1995): what was removed (starting with the old SOA) and
 * what was added (starting with the new SOA).  Keyed by zone id and a
 * sequence number so entries stay in commit order; the oldest are trimmed
 * beyond JOURNAL_MAX_ENTRIES.  A zone import starts a new zone id, so the
 * journal of the replaced version is dropped with it and IXFR falls back to AXFR.
 *
 * Value: u32 from_serial, u32 to_serial, u32 removed count, u32 added count,
 * u32 byte length of the removed RRs, then the removed and added RRs, each in
 * uncompressed wire format (owner, type, class, ttl, rdlength, rdata).
 */

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define JOURNAL_MAX_ENTRIES 1000

typedef struct {
	uint32_t from_serial;
	uint32_t to_serial;
	uint32_t removed_count;
	uint32_t added_count;
	const uint8_t *removed;   /* RRs in wire format */
	size_t removed_len;
	const uint8_t *added;
	size_t added_len;
} journal_entry_t;

/* Appends a change (a buffer in the value format above).  Returns 0, CD_EMAPFULL, CD_EDB. */
int journal_append(db_t *db, MDB_txn *txn, uint32_t zone_id, const uint8_t *value, size_t len);

/* Deletes every entry of a zone.  Returns 0 or CD_EDB. */
int journal_delete_zone(db_t *db, MDB_txn *txn, uint32_t zone_id);

/* Decodes a stored entry.  Returns 0 or CD_EMALF. */
int journal_entry_decode(const uint8_t *data, size_t len, journal_entry_t *entry);

/*
 * Walks the changes of a zone from serial `from` up to the newest, calling cb
 * for each in order.  Returns 0 when the chain from `from` to the current
 * version is complete, CD_ENOTFOUND when the journal does not reach back to
 * `from` (the caller falls back to AXFR), CD_EDB.  cb returning non-zero stops
 * the walk with that value.
 */
typedef int (*journal_cb)(void *ctx, const journal_entry_t *entry);
int journal_walk_from(db_t *db, MDB_txn *txn, uint32_t zone_id, uint32_t from,
                      uint32_t current, journal_cb cb, void *ctx);

/* Reads one RR of a list: advances *pos.  Returns false at the end or when malformed. */
bool journal_next_rr(const uint8_t *rrs, size_t len, size_t *pos, const uint8_t **owner,
                     const uint8_t **header, const uint8_t **rdata, uint16_t *rdlen);

/* Number of changes kept for a zone.  Returns 0 or CD_EDB. */
int journal_count(db_t *db, MDB_txn *txn, uint32_t zone_id, size_t *count);
